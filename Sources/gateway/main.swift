import Gateway
import Hummingbird
import Logging
import ServiceSupport

JSONLogHandler.bootstrap(service: "gateway")
let metrics = ProcessMetrics.bootstrap()
let logger = Logger(label: "gateway")
do {
    let configuration = try GatewayConfiguration(reader: EnvironmentReader())
    let app = try buildGateway(configuration: configuration, logger: logger, metrics: metrics)
    try await app.runService()
} catch {
    StartupFailure.report(service: "gateway", error: error)
}
