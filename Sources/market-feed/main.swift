import Logging
import MarketFeed
import ServiceSupport

JSONLogHandler.bootstrap(service: "market-feed")
let metrics = ProcessMetrics.bootstrap()
let logger = Logger(label: "market-feed")
do {
    let configuration = try MarketFeedConfiguration(reader: EnvironmentReader())
    try await MarketFeedApp.run(configuration: configuration, metrics: metrics, logger: logger)
} catch {
    StartupFailure.report(service: "market-feed", error: error)
}
