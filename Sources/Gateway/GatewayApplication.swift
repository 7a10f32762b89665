import Foundation
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle
import ServiceSupport
import TradingDomain
import TradingWire

/// Builds the gateway: broker and control publisher, risk status poller, HTTP API.
/// The executable runs what this returns; tests can build it the same way.
public func buildGateway(
    configuration: GatewayConfiguration, logger: Logger, metrics: ProcessMetrics = .standalone()
) throws -> some ApplicationProtocol {
    try configuration.validateForStart()
    let broker = try Broker(configuration: configuration.broker, logger: logger)
    let control = ControlCenter(broker: broker, tradingMode: configuration.tradingMode, logger: logger)
    let workers = WorkerClient(broker: broker)
    let market = MarketCache(window: configuration.candleWindow)
    let api = GatewayAPI(
        configuration: configuration, broker: broker, control: control, workers: workers, market: market, logger: logger,
        startedAt: Date(), metrics: metrics, models: ModelDirectory())

    let router = Router()
    router.add(middleware: JSONErrorMiddleware(logger: logger))
    router.add(middleware: MetricsMiddleware())
    api.register(on: router)

    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "gateway"),
        services: [
            BrokerService(broker: broker, logger: logger),
            RiskStatusPoller(workers: workers, control: control, interval: configuration.riskPollMilliseconds, logger: logger),
        ],
        eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: configuration.httpThreads)),
        logger: logger)
}

/// Runs the broker thread for the life of the service group.
struct BrokerService: Service {
    let broker: Broker
    let logger: Logger

    func run() async throws {
        try broker.start()
        try? await gracefulShutdown()
        broker.stop()
    }
}

/// Asks the risk worker for its status at a fixed interval: the source of halt and lock for the
/// control channel, and of the risk figures `/health` shows.
struct RiskStatusPoller: Service {
    let workers: WorkerClient
    let control: ControlCenter
    let interval: Int
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let status: RiskStatus = try await workers.call(
                    ServiceName.risk, op: "status", payload: Empty(), requestID: "risk-poll", timeoutMilliseconds: max(interval, 500))
                control.update(status: status)
                if failing { logger.info("risk status available again") }
                failing = false
            } catch {
                if !failing { logger.warning("risk status unavailable", metadata: ["error": "\(error.apiError)"]) }
                failing = true
            }
            try? await Task.sleep(for: .milliseconds(interval))
        }
    }
}
