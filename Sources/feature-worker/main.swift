import FeatureWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "feature-worker")
do {
    try FeatureWorker.run()
} catch {
    StartupFailure.report(service: "feature-worker", error: error)
}
