import ExecutionWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "execution-worker")
let metrics = ProcessMetrics.bootstrap()
do {
    try ExecutionWorker.run(metrics: metrics)
} catch {
    StartupFailure.report(service: "execution-worker", error: error)
}
