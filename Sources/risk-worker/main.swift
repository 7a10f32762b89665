import RiskWorker
import ServiceSupport

JSONLogHandler.bootstrap(service: "risk-worker")
do {
    try RiskWorker.run()
} catch {
    StartupFailure.report(service: "risk-worker", error: error)
}
