import ExecutionWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "execution-worker")
do {
    try ExecutionWorker.run()
} catch {
    StartupFailure.report(service: "execution-worker", error: error)
}
