import FeatureWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "feature-worker")
let metrics = ProcessMetrics.bootstrap()
do {
    try FeatureWorker.run(metrics: metrics)
} catch {
    StartupFailure.report(service: "feature-worker", error: error)
}
