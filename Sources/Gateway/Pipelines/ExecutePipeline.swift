import Foundation
import Logging
import ServiceSupport
import TradingDomain
import TradingWire

/// `POST /api/trade/execute` body.
struct ExecuteInput: Decodable, Sendable {
    var symbol: String
    var side: String
    var qtyUsd: Double
    var confidence: Double
    var clientOrderId: String?
    /// A price to fill at when no market price is known; only with `ALLOW_REQUEST_PRICE=true`, paper mode.
    var price: Double?
}

/// The account figures an execute answer carries.
struct AccountSummary: Encodable, Sendable {
    var equity: Decimal
    var cash: Decimal
    var drawdown: Double
}

/// What the price collar reads of a symbol's market: the newest candle's close and clock, and
/// the feeds' best bid and ask when younger than `BOOK_TICKER_MAX_AGE_MS` (a Binance feed's).
struct MarketQuote: Sendable {
    var lastClose: Double?
    var clock: CandleClock?
    var book: (bid: Double, ask: Double)?
}

/// `POST /api/trade/execute` answer.
struct ExecuteOutput: Encodable, Sendable {
    var requestId: String
    var dryRun: Bool
    var orderId: String
    var clientOrderId: String
    var status: OrderStatus
    var duplicate: Bool
    var mode: TradingMode
    var symbol: String
    var side: Side
    var qtyUsd: Decimal
    var confidence: Double
    var fill: Fill?
    var rejectReason: String?
    var account: AccountSummary?

    init(order: Order, duplicate: Bool, account: AccountSnapshot?, requestID: String) {
        requestId = requestID
        dryRun = order.mode == .paper
        orderId = order.intent.clientOrderId
        clientOrderId = order.intent.clientOrderId
        status = order.status
        self.duplicate = duplicate
        mode = order.mode
        symbol = order.intent.symbol
        side = order.intent.side
        qtyUsd = order.intent.qtyUsd
        confidence = order.intent.confidence
        fill = order.fill
        rejectReason = order.rejectReason
        self.account = account.map { AccountSummary(equity: $0.equity, cash: $0.cash, drawdown: $0.drawdown) }
    }
}

/// Risk reservation (pending in the ledger) → execution → risk settlement.
///
/// An order is never sent twice: once execution may have acted on it (the worker had it when it
/// died or timed out) the order stays pending and the answer says its state is unknown; the
/// risk worker reconciles it. Only a request that provably never ran is settled as rejected.
struct ExecutePipeline: Sendable {
    let workers: WorkerClient
    let configuration: GatewayConfiguration
    let control: ControlCenter
    let logger: Logger
    /// A symbol's last close and fresh book, for the price collar.
    let quotes: @Sendable (String) -> MarketQuote
    /// The feeds' best bids and asks: a paper order reserves at a fresh one.
    var books: MarketFeedBoard?

    static let settleAttempts = 10

    func run(_ input: ExecuteInput, requestID: String) async throws(APIError) -> ExecuteOutput {
        let intent = OrderIntent(
            clientOrderId: try InputValidation.clientOrderID(input.clientOrderId),
            symbol: try InputValidation.symbol(input.symbol),
            side: try InputValidation.side(input.side),
            qtyUsd: try InputValidation.notional(input.qtyUsd),
            confidence: try InputValidation.confidence(input.confidence)
        )
        return try await submit(intent, price: input.price, requestID: requestID)
    }

    /// Collar, reserve, execute, settle a validated order. `close` marks an operator's close of a
    /// whole position (`POST /api/positions/{symbol}/close`).
    func submit(_ intent: OrderIntent, price: Double?, requestID: String, close: CloseOrder? = nil) async throws(APIError) -> ExecuteOutput {
        do {
            try checkCollar(intent)
            return try await place(intent, price: price, requestID: requestID, close: close)
        } catch {
            var named = error
            named.clientOrderId = intent.clientOrderId
            throw named
        }
    }

    /// Reserve, execute, settle; a retry of a paper order still pending resumes it (the
    /// execution journal answers the fill it already made, or makes it once).
    private func place(_ intent: OrderIntent, price: Double?, requestID: String, close: CloseOrder?) async throws(APIError) -> ExecuteOutput {
        var requestPrice: Decimal?
        if let price {
            guard configuration.allowRequestPrice, configuration.tradingMode == .paper else {
                throw APIError(
                    .unprocessableContent,
                    "request_price_not_allowed",
                    "orders fill at the market price; a request price is accepted only in paper mode with ALLOW_REQUEST_PRICE=true"
                )
            }
            guard price.isFinite, price > 0, price < 1e12, let decimal = Decimal(exactly: price, scale: 8), decimal > 0 else {
                throw APIError(.unprocessableContent, "invalid_price", "price must be a finite positive number")
            }
            requestPrice = decimal
        }

        // Paper: the symbol's best bid and ask while no older than BOOK_TICKER_MAX_AGE_MS.
        let book =
            configuration.tradingMode == .paper
            ? books?.freshBook(for: intent.symbol, maxAge: Int64(configuration.bookTickerMaxAgeMilliseconds), now: unixMilliseconds()) : nil
        let reserve = ReserveRequest(intent: intent, mode: configuration.tradingMode, requestPrice: requestPrice, book: book, close: close)
        let reservation: ReserveResult
        do {
            reservation = try await workers.call(ServiceName.risk, Operations.Risk.reserve, payload: reserve, requestID: requestID)
        } catch {
            throw error.apiError
        }
        if let mismatch = ReplyChecks.reservationMismatch(reservation.order, duplicate: reservation.duplicate, asked: intent) {
            logger.error(
                "risk reply does not match the order asked for: refused, nothing sent to execution",
                metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)", "detail": "\(mismatch)"]
            )
            GatewayCounters.order("refused_mismatch")
            throw APIError(.badGateway, "risk_reply_mismatch", "order \(intent.clientOrderId) was not sent: \(mismatch)")
        }
        control.update(flags: reservation.flags)
        if reservation.duplicate {
            GatewayCounters.order("duplicate")
            let resumable = reservation.order.status == .pending && reservation.order.mode == .paper && configuration.tradingMode == .paper
            guard resumable else { return ExecuteOutput(order: reservation.order, duplicate: true, account: nil, requestID: requestID) }
            logger.info(
                "retry of a pending paper order: resumed through the execution journal",
                metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)"]
            )
        }
        // Execution gets the order validated here, under the terms the ledger reserved it with.
        var validated = reservation.order
        validated.intent = intent
        validated.mode = configuration.tradingMode
        validated.status = .pending
        validated.fill = nil
        let execution = ExecuteRequest(order: validated)
        let fill: Fill
        do {
            fill = try await workers.call(ServiceName.execution, Operations.Execution.execute, payload: execution, requestID: requestID)
        } catch {
            switch error {
            case .worker(let workerError) where workerError.code == "order_state_unknown":
                logger.error(
                    "order outcome unknown at the exchange: left pending for reconciliation",
                    metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)", "detail": "\(workerError.detail)"]
                )
                GatewayCounters.order("unknown")
                throw APIError(.gatewayTimeout, "order_state_unknown", "order \(intent.clientOrderId) is pending: \(workerError.detail)")
            case .broker(let brokerError) where brokerError.mayHaveRun:
                logger.error(
                    "order outcome unknown: left pending for reconciliation",
                    metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)", "error": "\(brokerError)"]
                )
                GatewayCounters.order("unknown")
                throw APIError(
                    .gatewayTimeout,
                    "order_state_unknown",
                    "order \(intent.clientOrderId) is pending: \(brokerError); it will be reconciled, query it or retry with the same clientOrderId"
                )
            default:
                if case .worker(let workerError) = error, let backoff = workerError.backoff {
                    await control.share(backoff, reportedBy: "execute", workers: workers)
                }
                let reason = error.apiError
                GatewayCounters.order("rejected")
                _ = try await settle(
                    SettleRequest(clientOrderId: intent.clientOrderId, fill: nil, rejectReason: "\(reason.code): \(reason.detail)"),
                    requestID: requestID
                )
                throw reason
            }
        }
        if let problem = ReplyChecks.fillProblem(fill, for: validated) {
            // Execution said something impossible: what happened is unknown, so the order stays
            // pending for reconciliation and the fill is not booked.
            logger.error(
                "execution reply does not fit the order: settle refused, left pending for reconciliation",
                metadata: ["request.id": "\(requestID)", "order": "\(intent.clientOrderId)", "detail": "\(problem)"]
            )
            GatewayCounters.order("refused_fill")
            throw APIError(.badGateway, "execution_reply_mismatch", "order \(intent.clientOrderId) is pending: \(problem)")
        }
        let settled = try await settle(SettleRequest(clientOrderId: intent.clientOrderId, fill: fill, rejectReason: nil), requestID: requestID)
        if settled.flags.riskLocked {
            logger.warning(
                "risk_locked: drawdown brake tripped by a fill",
                metadata: ["request.id": "\(requestID)", "reason": "\(settled.flags.lockReason ?? "")"]
            )
        }
        GatewayCounters.order(settled.order.status.rawValue)
        return ExecuteOutput(order: settled.order, duplicate: reservation.duplicate, account: settled.account, requestID: requestID)
    }

    /// The price collar on a market order: refused while its mark is stale (409
    /// `stale_market_data`, the risk worker's guard, checked first so a stale mark is never the
    /// collar's yardstick), and when its expected price is beyond `MAX_PRICE_DEVIATION_BPS` from
    /// the mark (422 `price_collar`). A symbol with no candle and no book is left to the risk
    /// worker (`no_price`, or a request price).
    func checkCollar(_ intent: OrderIntent) throws(APIError) {
        let quote = quotes(intent.symbol)
        let now = unixMilliseconds()
        if let problem = StaleDataGuard.problem(
            symbol: intent.symbol,
            clock: quote.clock,
            maxAge: control.riskStatus?.status.limits.maxCandleAge ?? 0,
            now: now
        ) {
            throw APIError(.conflict, "stale_market_data", "no new order: \(problem)")
        }
        guard let prices = PriceCollar.marketPrices(side: intent.side, lastClose: quote.lastClose, book: quote.book) else { return }
        if let breach = PriceCollar.check(
            side: intent.side,
            price: prices.expected,
            mark: prices.mark,
            maxDeviationBps: Double(configuration.maxPriceDeviationBps)
        ) {
            GatewayCounters.order("refused_collar")
            throw APIError(.unprocessableContent, "price_collar", "market order not sent: \(breach.detail)")
        }
    }

    /// Records an outcome with the risk worker, retrying while it is unreachable: a fill that
    /// happened must reach the ledger.
    private func settle(_ request: SettleRequest, requestID: String) async throws(APIError) -> SettleResult {
        var lastError: WorkerCallError?
        for attempt in 1...Self.settleAttempts {
            do {
                let result: SettleResult = try await workers.call(ServiceName.risk, Operations.Risk.settle, payload: request, requestID: requestID)
                control.update(flags: result.flags)
                return result
            } catch {
                lastError = error
                if case .worker = error { break }
                logger.warning(
                    "settle failed, retrying",
                    metadata: ["request.id": "\(requestID)", "attempt": "\(attempt)", "error": "\(error.apiError)"]
                )
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        logger.error(
            "order outcome not recorded: left pending for reconciliation",
            metadata: ["request.id": "\(requestID)", "order": "\(request.clientOrderId)", "error": "\(lastError.map { "\($0.apiError)" } ?? "")"]
        )
        throw APIError(
            .gatewayTimeout,
            "order_state_unknown",
            "order \(request.clientOrderId) executed but the ledger could not be updated; it will be reconciled"
        )
    }
}

extension ExecuteInput: FastJSONDecodable {
    /// The plain shape only; anything else (a string for a number, an escaped string) goes
    /// through Foundation, which names the field that is wrong.
    static func fromFastJSON(_ value: FastJSON.Value) -> ExecuteInput? {
        guard case .object(let members) = value, let symbol = members["symbol"]?.string, let side = members["side"]?.string,
            let qtyUsd = members["qtyUsd"]?.double, let confidence = members["confidence"]?.double
        else { return nil }
        var input = ExecuteInput(symbol: symbol, side: side, qtyUsd: qtyUsd, confidence: confidence)
        switch members["clientOrderId"] {
        case nil, .null?: break
        case .string(let id)?: input.clientOrderId = id
        default: return nil
        }
        switch members["price"] {
        case nil, .null?: break
        case .number(let price, _)?: input.price = price
        default: return nil
        }
        return input
    }
}

extension ExecuteOutput: FastJSONEncodable {
    func fastJSON() -> [UInt8]? {
        var writer = FastJSON.ObjectWriter()
        writer.field("requestId", requestId)
        writer.field("dryRun", dryRun)
        writer.field("orderId", orderId)
        writer.field("clientOrderId", clientOrderId)
        writer.field("status", status.rawValue)
        writer.field("duplicate", duplicate)
        writer.field("mode", mode.rawValue)
        writer.field("symbol", symbol)
        writer.field("side", side.rawValue)
        writer.field("qtyUsd", qtyUsd)
        writer.field("confidence", confidence)
        if let fill { writer.field("fill", object: fill.fastObject) }
        writer.field("rejectReason", rejectReason)
        if let account {
            var summary = FastJSON.ObjectWriter()
            summary.field("equity", account.equity)
            summary.field("cash", account.cash)
            summary.field("drawdown", account.drawdown)
            writer.field("account", object: summary)
        }
        return writer.valid ? writer.finished : nil
    }
}
