import ModelWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "model-worker")
let metrics = ProcessMetrics.bootstrap()
do {
    try ModelWorker.run(metrics: metrics)
} catch {
    StartupFailure.report(service: "model-worker", error: error)
}
