import ExchangeAdapter
import Foundation
import Logging
import Metrics
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The exchange settings an execution worker reads.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `EXCHANGE_BASE_URL` | URL | `https://api.binance.com` | Binance spot REST (testnet: `https://testnet.binance.vision`) |
/// | `EXCHANGE_API_KEY`, `EXCHANGE_API_SECRET` | secrets | unset | without them live orders are refused |
/// | `EXCHANGE_RECV_WINDOW_MS` | int | 5000 | `recvWindow` of signed requests |
/// | `DATA_DIR` | path | `data` | where the paper journal `execution-journal.sqlite` lives |
/// | `EXCHANGE_TIMEOUT_MS` | int | 2000 | one exchange call; beyond it the outcome is unknown and queried |
/// | `LIVE_ABSENT_AFTER_MS`, `EXCHANGE_TIME_SYNC_MS` | int | | see `OrderTruthSettings` |
/// | `EXCHANGE_RATE_MARGIN_PCT`, `EXCHANGE_RECONCILE_WEIGHT_PCT` | int | | see `ExchangeRateSettings` |
public enum ExchangeSettings {
    /// The rate budget's settings, read (and refused when out of range) with or without credentials.
    public static func rate(reader: EnvironmentReader) throws -> ExchangeRateSettings {
        let margin = try reader.int("EXCHANGE_RATE_MARGIN_PCT", default: 10, in: 1...50)
        let reconcile = try reader.int("EXCHANGE_RECONCILE_WEIGHT_PCT", default: 30, in: 5...(90 - margin))
        return ExchangeRateSettings(marginPercent: margin, reconcileWeightPercent: reconcile)
    }

    public static func client(reader: EnvironmentReader) throws -> BinanceSpotClient? {
        let rate = try rate(reader: reader)
        guard let key = reader.optionalString("EXCHANGE_API_KEY"), let secret = reader.optionalString("EXCHANGE_API_SECRET") else {
            return nil
        }
        return BinanceSpotClient(
            configuration: ExchangeConfiguration(
                baseURL: reader.string("EXCHANGE_BASE_URL", default: "https://api.binance.com"),
                credentials: ExchangeCredentials(apiKey: key, secret: secret),
                receiveWindowMilliseconds: try reader.int("EXCHANGE_RECV_WINDOW_MS", default: 5_000, in: 100...60_000),
                timeoutMilliseconds: try reader.int("EXCHANGE_TIMEOUT_MS", default: 2_000, in: 100...60_000),
                rate: rate
            )
        )
    }
}

/// The execution worker: paper fills (simulated at the reserved price with slippage and fees)
/// and live market orders through the exchange adapter. It never fills while the control state
/// says halted or locked, or while it has not heard the control state recently (fail closed),
/// and it never sends an order twice: an unclear answer is settled by querying the order.
public enum ExecutionWorker {
    public static func handler(
        control: ControlView,
        exchange: BinanceSpotClient?,
        rules: ExchangeRulesBook? = nil,
        journal: ExecutionJournal,
        logger: Logger,
        truth: OrderTruthSettings = OrderTruthSettings()
    ) -> OperationHandler {
        var handler = OperationHandler()
        let paperFills = Counter(label: "execution_fills_total", dimensions: [("mode", "paper")])
        let liveFills = Counter(label: "execution_fills_total", dimensions: [("mode", "live")])
        let refusals = Counter(label: "execution_refusals_total", dimensions: [])
        handler.on(Operations.Execution.execute) { (request: WireRequest<ExecuteRequest>) throws(WireError) -> Fill in
            let order = request.payload.order
            // An order already executed answers its journaled fill: a retry never fills twice.
            if order.mode == .paper, case .executed(let fill)? = try journal.resolve(order.intent.clientOrderId, expireIfAbsent: false) {
                logger.info(
                    "order already executed: journaled fill",
                    metadata: ["request.id": "\(request.requestId)", "order": "\(order.intent.clientOrderId)"]
                )
                return fill
            }
            // A close the operator forced (reserved as such by the risk worker) is the only order
            // that passes a halt or the drawdown lock; an unknown control state still refuses it.
            let forced = order.terms?.forcedClose == true && order.terms?.closeQuantity != nil
            if let refusal = control.tradingRefusal(), !(forced && ["trading_halted", "risk_locked"].contains(refusal.code)) {
                logger.warning(
                    "order refused by control state",
                    metadata: ["request.id": "\(request.requestId)", "order": "\(order.intent.clientOrderId)", "error": "\(refusal.code)"]
                )
                refusals.increment()
                throw refusal
            }
            guard let state = control.current(), state.tradingMode == order.mode else {
                throw WireError(
                    code: "mode_mismatch",
                    detail: "order is for \(order.mode.rawValue) mode but the control state says otherwise",
                    status: 409
                )
            }
            switch order.mode {
            case .paper:
                guard let terms = order.terms, terms.markPrice > 0 else {
                    throw WireError(code: "no_price", detail: "the order carries no usable mark price", status: 409)
                }
                let fill = try journal.executeOnce(order.intent.clientOrderId) { () throws(WireError) -> Fill in
                    try RiskEngine.paperFill(order, terms: terms)
                }
                paperFills.increment()
                return fill
            case .live:
                guard let exchange else {
                    throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
                }
                if let refusal = accountRefusal(state) { throw refusal }
                if let refusal = rateRefusal(state, exchange: exchange) {
                    logger.warning(
                        "live order refused: the exchange's rate-limit back-off holds every replica",
                        metadata: ["request.id": "\(request.requestId)", "order": "\(order.intent.clientOrderId)", "error": "\(refusal.detail)"]
                    )
                    refusals.increment()
                    throw refusal
                }
                adoptSharedBackoff(control, exchange: exchange)
                let fill = try placeLive(order, exchange: exchange, rules: rules, requestID: request.requestId, logger: logger)
                liveFills.increment()
                return fill
            }
        }
        handler.on(Operations.Execution.journal) { (request: WireRequest<JournalQuery>) throws(WireError) -> JournalAnswer in
            switch try journal.resolve(request.payload.clientOrderId, expireIfAbsent: request.payload.expireIfAbsent) {
            case .executed(let fill)?: return JournalAnswer(state: "executed", fill: fill)
            case .expired?: return JournalAnswer(state: "expired", fill: nil)
            case nil: return JournalAnswer(state: "absent", fill: nil)
            }
        }
        handler.on(Operations.Execution.query) { (request: WireRequest<ExecuteRequest>) throws(WireError) -> QueryResult in
            let order = request.payload.order
            guard order.mode == .live else { throw WireError(code: "not_live", detail: "only live orders are queried", status: 422) }
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            adoptSharedBackoff(control, exchange: exchange)
            var result = try query(order, exchange: exchange, settings: truth, logger: logger)
            // Reconciled: a closing sell is recognised by its quantity, the held one rounded down to the step.
            if var fill = result.fill, let held = order.terms?.heldQuantity,
                case .success(let filters)? = rules?.filters(for: order.intent.symbol, now: unixMilliseconds())
            {
                markDust(&fill, order, sent: filters.roundedDown(held), executed: fill.quantity)
                result.fill = fill
            }
            return result
        }
        registerAccount(on: &handler, exchange: exchange, control: control)
        registerClock(on: &handler, exchange: exchange, settings: truth)
        return handler
    }

    /// The fill of a live order as the exchange reported it, in USD: a commission in the quote
    /// asset is the USD fee; one in any other asset (BNB, the base asset) is kept in that asset for
    /// the risk worker to convert at the mark. A quote that is not USD-like (`ETHBTC`) is booked
    /// at the USD mark of the quote asset the order was sent at (`usdRate`).
    static func liveFill(
        _ order: Order,
        price: Decimal,
        quantity: Decimal,
        quote: Decimal,
        commissions: [String: Decimal]
    ) throws(WireError) -> Fill {
        let quoteAsset = TradingPair(anyQuote: order.intent.symbol)?.quote
        var other = commissions
        // A trade that names no commission asset is taken to charge the quote asset.
        var fee = (quoteAsset.flatMap { other.removeValue(forKey: $0) } ?? 0) + (other.removeValue(forKey: "") ?? 0)
        var (price, quote) = (price, quote)
        let rate = usdRate(order)
        if rate != 1 {
            (price, quote, fee) = ((price * rate).rounded(scale: 8), (quote * rate).rounded(scale: 8), (fee * rate).rounded(scale: 8))
        }
        return try Fill(
            price: price,
            quantity: quantity,
            notional: quote,
            fee: fee,
            commissions: other.isEmpty ? nil : other,
            dryRun: false,
            filledAt: unixMilliseconds()
        )
    }

    /// A closing sell (`sent` by base quantity) filled in full leaves what it could not sell as dust.
    static func markDust(_ fill: inout Fill, _ order: Order, sent: Decimal, executed: Decimal) {
        guard order.intent.side == .sell, executed == sent, let held = order.terms?.heldQuantity, held > sent else { return }
        fill.dust = held - sent
    }

    /// Places a live market order once; when the answer is unclear, asks the exchange what
    /// became of it instead of sending it again.
    static func placeLive(
        _ order: Order,
        exchange: BinanceSpotClient,
        rules: ExchangeRulesBook?,
        requestID: String,
        logger: Logger
    ) throws(WireError) -> Fill {
        let intent = order.intent
        // The exchange's filters are checked before sending, not learned from its refusals.
        let size = try liveSize(order, filters: try filters(for: order, rules: rules))
        var outcome = exchange.placeMarketOrder(
            symbol: intent.symbol,
            side: intent.side,
            size: size,
            clientOrderID: intent.clientOrderId,
            timestamp: order.createdAt
        )
        if case .rejected(let code, let message) = outcome, code == -2010, message.lowercased().contains("duplicate") {
            logger.warning("exchange already has this client order id: querying it", metadata: ["order": "\(intent.clientOrderId)"])
            outcome = exchange.queryOrder(symbol: intent.symbol, clientOrderID: intent.clientOrderId, purpose: .settle)
        }
        if case .unknown(let reason) = outcome {
            logger.warning("live order outcome unclear: querying", metadata: ["order": "\(intent.clientOrderId)", "reason": "\(reason)"])
            outcome = exchange.queryOrder(symbol: intent.symbol, clientOrderID: intent.clientOrderId, purpose: .settle)
            if outcome == .notFound {
                // No proof: the matching engine may show it later (LIVE_ABSENT_AFTER_MS and a sweep decide).
                throw WireError(
                    code: "order_state_unknown",
                    detail: "\(reason); the exchange does not show the order yet, it will be reconciled by query",
                    status: 504
                )
            }
        }
        switch outcome {
        case .filled(let price, let quantity, let quote, let commissions):
            logger.info("live order filled", metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)"])
            var fill = try liveFill(order, price: price, quantity: quantity, quote: quote, commissions: commissions)
            if case .base(let sent) = size { markDust(&fill, order, sent: sent, executed: quantity) }
            return fill
        case .rejected(let code, let message):
            throw WireError(code: "exchange_rejected", detail: "exchange code \(code): \(message)", status: 422)
        case .rateLimited(let seconds):
            throw WireError(
                code: "exchange_rate_limited",
                detail: "the exchange asks to wait \(seconds) s; nothing was placed",
                status: 429,
                retryAfterSeconds: seconds,
                backoff: exchange.rateBudget.backoff(now: unixMilliseconds())
            )
        case .overBudget(let seconds, let reason):
            throw WireError(
                code: "exchange_rate_budget",
                detail: "\(reason); no order sent for \(seconds) s",
                status: 429,
                retryAfterSeconds: seconds,
                backoff: exchange.rateBudget.backoff(now: unixMilliseconds())
            )
        case .notFound:
            // Only after a duplicate: the exchange said it has the id, then that it has not.
            throw WireError(
                code: "order_state_unknown",
                detail: "the exchange does not show the order it called a duplicate; it will be reconciled",
                status: 504
            )
        case .open(let status):
            throw WireError(code: "order_state_unknown", detail: "the exchange says \(status); the order will be reconciled", status: 504)
        case .unknown(let reason):
            throw WireError(code: "order_state_unknown", detail: "\(reason); the order will be reconciled by query", status: 504)
        }
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "execution-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let exchange = try ExchangeSettings.client(reader: reader)
        let truth = try OrderTruthSettings(reader: reader)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        // Nothing is asked of the exchange before the control state is heard: a back-off another
        // replica met (or one recorded before a restart) is honoured from the first request.
        let clockSync = exchange.map { startClockSync($0, settings: truth, control: control, logger: logger) }
        let rules = try exchange.map { try ExchangeSettings.rules(reader: reader, client: $0) }
        logger.info("execution worker configured", metadata: ["live.adapter": "\(exchange == nil ? "none (no credentials)" : "binance spot")"])
        if let rules, let exchange {
            ExchangeSettings.startRefresh(rules, symbols: ExchangeSettings.tradedSymbols(reader: reader), logger: logger) {
                awaitControlState(control, exchange: exchange)
            }
        }
        let journal = try ExecutionJournal(directory: reader.string("DATA_DIR", default: "data"), logger: logger)
        let operations = handler(control: control, exchange: exchange, rules: rules, journal: journal, logger: logger, truth: truth)
        try withExtendedLifetime(clockSync) {
            try WorkerProcess.run(
                service: ServiceName.execution,
                configuration: configuration,
                handler: GroupedExecutionHandler(operations: operations, journal: journal),
                control: control,
                waitForControlState: true,
                offloadRequests: true,
                metrics: metrics,
                logger: logger
            )
        }
    }
}

/// Serves a REQUEST's bodies with one journal commit: the paper fills they make are journaled in
/// one transaction, one fsync, before any of them is answered.
public struct GroupedExecutionHandler: BatchRequestHandler {
    let operations: OperationHandler
    let journal: ExecutionJournal

    public init(operations: OperationHandler, journal: ExecutionJournal) {
        self.operations = operations
        self.journal = journal
    }

    public func handle(body: [UInt8]) -> [UInt8] {
        handle(bodies: [body]).first ?? []
    }

    public func handle(bodies: [[UInt8]]) -> [[UInt8]] {
        journal.openGroup()
        var replies: [[UInt8]] = []
        replies.reserveCapacity(bodies.count)
        for (index, body) in bodies.enumerated() {
            journal.handling(request: index)
            replies.append(operations.handle(body: body))
        }
        for (index, outcome) in journal.commitGroup() where index < replies.count {
            let reply: WireReply<Fill>
            switch outcome {
            case .success(let fill): reply = WireReply(result: fill)
            case .failure(let error): reply = WireReply(error: error)
            }
            replies[index] = (try? WireCodec.encode(reply)) ?? replies[index]
        }
        return replies
    }
}
