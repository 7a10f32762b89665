import Foundation
import HTTPDeadline
import Hummingbird
import Logging
import NIOHTTPTypes
import NIOPosix
import ServiceLifecycle
import ServiceSupport
import TradingDomain
import TradingWire

/// Builds the gateway: broker and control publisher, risk status poller, HTTP API.
/// The executable runs what this returns; tests can build it the same way.
public func buildGateway(
    configuration: GatewayConfiguration,
    logger: Logger,
    metrics: ProcessMetrics = .standalone()
) throws -> some ApplicationProtocol {
    try configuration.validateForStart()
    if let warning = try configuration.validateBusSecurity() { logger.warning("\(warning)") }
    let broker = try Broker(configuration: configuration.broker, logger: logger)
    let notifier = Notifier(configuration: configuration.notify, source: "gateway", logger: logger)
    let control = ControlCenter(broker: broker, tradingMode: configuration.tradingMode, logger: logger, notifier: notifier)
    let workers = WorkerClient(broker: broker)
    // Every change of a symbol's candles goes out on the market channel: each feature worker
    // computes the features once per candle, and every replica hears the same candles.
    let window = configuration.candleWindow
    let market = MarketCache(window: window, maxSymbols: configuration.maxSymbols) { [broker] symbol, candles in
        broker.publishMarket(MarketUpdate(symbol: symbol, window: window, candles: candles))
    }
    let liveAccount = LiveAccountMonitor()
    let api = GatewayAPI(
        configuration: configuration,
        broker: broker,
        control: control,
        workers: workers,
        market: market,
        logger: logger,
        startedAt: Date(),
        metrics: metrics,
        models: ModelDirectory(),
        notifier: notifier,
        liveAccount: liveAccount
    )

    let document = try OpenAPIDocument.load()
    let router = Router(context: GatewayRequestContext.self)
    let routes = RouteTableBox()
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: JSONErrorMiddleware(logger: logger, routes: routes))
    router.add(middleware: HTTPMetricsMiddleware())
    api.register(on: router)
    api.registerMarketRoutes(on: router)
    Probes(broker: broker, control: control).register(on: router)
    api.registerOperatorRoutes(on: router, document: document)
    let table = RouteTable(routes: router.routes.map { ($0.path.description, $0.method.rawValue) })
    let mismatches = RouteTable.mismatches(routed: table, documented: document.operations)
    guard mismatches.isEmpty else { throw OpenAPIDocumentError(detail: "disagrees with the router: " + mismatches.joined(separator: "; ")) }
    routes.set(table)

    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    RequestDeadlineHandler<HTTPRequestPart, HTTPResponsePart>(
                        timeout: .milliseconds(Int64(configuration.httpIdleTimeoutMilliseconds)),
                        isRequestEnd: { if case .end = $0 { true } else { false } },
                        isResponseEnd: { if case .end = $0 { true } else { false } }
                    )
                ],
                idleTimeout: .milliseconds(Int64(configuration.httpIdleTimeoutMilliseconds))
            )
        ),
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "gateway"),
        services: [
            BrokerService(broker: broker, logger: logger),
            RiskStatusPoller(
                workers: workers,
                control: control,
                interval: configuration.riskPollMilliseconds,
                configuration: configuration,
                broker: broker,
                logger: logger
            ),
            Reconciler(workers: workers, control: control, configuration: configuration, logger: logger, notifier: notifier),
            AccountReconciler(
                workers: workers,
                control: control,
                configuration: configuration,
                monitor: liveAccount,
                logger: logger,
                notifier: notifier
            ),
            NotificationService(notifier: notifier, broker: broker, logger: logger),
        ],
        eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: configuration.httpThreads)),
        logger: logger
    )
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

/// Settles orders left pending (a timeout, a crash between steps) by asking the executor what
/// became of each, never by assuming and never by sending it again: in paper mode the execution
/// worker's journal (an order it never executed is marked expired there, so it never will be,
/// and is rejected `expired_unsent`; an executed one is booked once with its journaled fill),
/// in live mode the exchange.
struct Reconciler: Service {
    let workers: WorkerClient
    let control: ControlCenter
    let configuration: GatewayConfiguration
    let logger: Logger
    /// Told of orders the reconciliation finds filled.
    var notifier: Notifier?

    func run() async throws {
        let interval =
            configuration.tradingMode == .live
            ? configuration.liveReconcileMilliseconds : max(100, min(5_000, configuration.pendingReconcileMilliseconds / 2))
        // Live: a first pass at once, so that the clock and the symbols unresolved orders halt are
        // known before the preflight lets an order out.
        if configuration.tradingMode == .live { await reconcileOnce() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(interval))
            await reconcileOnce()
        }
    }

    func reconcileOnce() async {
        if configuration.tradingMode == .live { await pollClock() }
        let pending: OrderList
        do {
            pending = try await workers.call(
                ServiceName.risk,
                Operations.Risk.orders,
                payload: OrdersQuery(limit: 100, status: .pending),
                requestID: "reconcile"
            )
        } catch {
            return
        }
        let paperCutoff = unixMilliseconds() - Int64(configuration.pendingReconcileMilliseconds)
        for order in pending.orders where order.mode == .paper && order.createdAt <= paperCutoff {
            let id = order.intent.clientOrderId
            guard
                let answer: JournalAnswer = try? await workers.call(
                    ServiceName.execution,
                    Operations.Execution.journal,
                    payload: JournalQuery(clientOrderId: id, expireIfAbsent: true),
                    requestID: "reconcile"
                )
            else { continue }
            let settle: SettleRequest
            switch (answer.state, answer.fill) {
            case ("executed", let fill?): settle = SettleRequest(clientOrderId: id, fill: fill, rejectReason: nil)
            case ("expired", _): settle = SettleRequest(clientOrderId: id, fill: nil, rejectReason: "expired_unsent: execution never executed it")
            default: continue
            }
            if let settled: SettleResult = try? await workers.call(ServiceName.risk, Operations.Risk.settle, payload: settle, requestID: "reconcile")
            {
                control.update(flags: settled.flags)
                logger.warning("reconciled a pending paper order", metadata: ["order": "\(id)", "status": "\(settled.order.status.rawValue)"])
            }
        }
        guard configuration.tradingMode == .live else { return }
        await reconcileLive(pending.orders)
        if watch.lateFillCheckDue(every: configuration.liveOrders.lateFillCheckMilliseconds) { await recheckRejected() }
    }
}

/// Asks the risk worker for its status at a fixed interval: the source of halt and lock for the
/// control channel, and of the risk figures `/health` shows.
struct RiskStatusPoller: Service {
    let workers: WorkerClient
    let control: ControlCenter
    let interval: Int
    let configuration: GatewayConfiguration
    let broker: Broker
    let logger: Logger

    func run() async throws {
        var failing = false
        var announced = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let status: RiskStatus = try await workers.call(
                    ServiceName.risk,
                    Operations.Risk.status,
                    payload: Empty(),
                    requestID: "risk-poll",
                    timeoutMilliseconds: max(interval, 500),
                    priority: true
                )
                control.update(status: status)
                if !announced, control.tradingMode == .live {
                    announced = true
                    let report = PreflightReport.run(configuration: configuration, broker: broker.snapshot, control: control)
                    if report.ok {
                        logger.info("live preflight passed")
                    } else {
                        logger.warning("live preflight failed: live orders wait for it", metadata: ["failures": "\(report.failures)"])
                    }
                }
                if failing { logger.info("risk status available again") }
                failing = false
            } catch {
                if !failing { logger.warning("risk status unavailable", metadata: ["error": "\(error.apiError)"]) }
                failing = true
                if let last = control.riskStatus?.at, unixMilliseconds() - last > configuration.riskStaleMilliseconds {
                    control.riskWorkerSilent(forMilliseconds: unixMilliseconds() - last)
                }
            }
            try? await Task.sleep(for: .milliseconds(interval))
        }
    }
}
