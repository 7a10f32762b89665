import ModelWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "model-worker")
do {
    try ModelWorker.run()
} catch {
    StartupFailure.report(service: "model-worker", error: error)
}
