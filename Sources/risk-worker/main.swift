import RiskWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "risk-worker")
let metrics = ProcessMetrics.bootstrap()
do {
    try RiskWorker.run(metrics: metrics)
} catch {
    StartupFailure.report(service: "risk-worker", error: error)
}
