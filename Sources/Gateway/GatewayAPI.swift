import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceSupport
import TradingDomain
import TradingWire

/// The HTTP API the runbook calls.
struct GatewayAPI: Sendable {
    let configuration: GatewayConfiguration
    let broker: Broker
    let control: ControlCenter
    let workers: WorkerClient
    let market: MarketCache
    let logger: Logger
    let startedAt: Date
    let metrics: ProcessMetrics
    let models: ModelDirectory
    /// Told of live fills (queued, never awaited).
    var notifier: Notifier?
    /// What the account reconciliation found (foreign trades).
    var liveAccount = LiveAccountMonitor()
    /// What the market feeds report of themselves (`POST /api/market/feeds`).
    let feedBoard = MarketFeedBoard()

    var consensus: ConsensusPipeline {
        ConsensusPipeline(broker: broker, market: market, configuration: configuration, control: control, models: models)
    }

    var execute: ExecutePipeline {
        ExecutePipeline(
            workers: workers,
            configuration: configuration,
            control: control,
            logger: logger,
            quotes: { [self] symbol in marketQuote(symbol) },
            books: feedBoard
        )
    }

    /// Read-only routes on `router`; state-changing ones on a group that needs the bearer token
    /// when `API_TOKEN` is set (the OpenAPI document marks the same ones `security: bearer`).
    func register(on router: Router<GatewayRequestContext>) {
        let guarded = router.group().add(middleware: BearerTokenMiddleware(token: configuration.apiToken))
        router.get("health") { request, _ in
            try jsonResponse(health(book: try Book.parse(request.uri.queryParameters, default: configuration.tradingMode)))
        }
        router.get("metrics") { _, _ in
            GatewayGauges.update(broker: broker.snapshot, control: control)
            recordMarketGauges()
            control.liveOrders.recordGauges(backoff: control.sharedBackoff())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        router.post("api/ai/consensus") { request, context in
            let input = try await request.decodeJSON(ConsensusInput.self, limit: configuration.maxBodyBytes)
            return try jsonResponse(try await consensus.run(input, requestID: context.requestID), requestID: context.requestID)
        }
        guarded.post("api/trade/execute") { request, context in
            let requestID = context.requestID
            let input = try await request.decodeJSON(ExecuteInput.self, limit: configuration.maxBodyBytes)
            try checkLiveOrder(symbol: try InputValidation.symbol(input.symbol))
            let output = try await execute.run(input, requestID: requestID)
            if output.mode == .live, output.status == .filled, !output.duplicate { notifier?.liveFill(output) }
            logger.info(
                "order \(output.status.rawValue)",
                metadata: ["request.id": "\(requestID)", "order": "\(output.clientOrderId)", "duplicate": "\(output.duplicate)"]
            )
            return try jsonResponse(output, requestID: requestID)
        }
        let candleRoute = router.group().add(
            middleware: BearerTokenMiddleware(token: configuration.apiToken, alternate: configuration.marketFeedToken)
        )
        registerFeedReports(on: candleRoute)
        candleRoute.post("api/market/candles") { request, context in
            let input = try await request.decodeJSON(CandlesInput.self, limit: configuration.maxBodyBytes)
            let output = try await ingest(input, requestID: context.requestID)
            market.noteSource(Self.feedName(request.headers[.marketFeed]), for: output.symbol)
            return try jsonResponse(output, requestID: context.requestID)
        }
        router.get("api/preflight") { _, _ in
            try jsonResponse(PreflightReport.run(configuration: configuration, broker: broker.snapshot, control: control))
        }
        router.get("api/positions") { request, context in
            let book = try Book.parse(request.uri.queryParameters, default: configuration.tradingMode)
            let status: RiskStatus = try await risk(Operations.Risk.status, Empty(), requestID: context.requestID)
            control.update(status: status)
            return try jsonResponse(PositionsOutput(book: book, status: status), requestID: context.requestID)
        }
        router.get("api/orders") { request, context in
            let limit = try InputValidation.integer(request.uri.queryParameters, "limit", in: 1...1_000, default: 100)
            var status: OrderStatus?
            if let text = try InputValidation.single(request.uri.queryParameters, "status") {
                guard let parsed = OrderStatus(rawValue: String(text)) else {
                    throw APIError(.unprocessableContent, "invalid_status", "status must be pending, filled or rejected")
                }
                status = parsed
            }
            let list: OrderList = try await risk(Operations.Risk.orders, OrdersQuery(limit: limit, status: status), requestID: context.requestID)
            return try jsonResponse(list, requestID: context.requestID)
        }
        router.get("api/orders/:id") { _, context in
            let id = try InputValidation.clientOrderID(context.parameters.get("id") ?? "")
            let order: Order = try await risk(Operations.Risk.order, OrderQuery(clientOrderId: id), requestID: context.requestID)
            return try jsonResponse(order, requestID: context.requestID)
        }
        router.get("api/models") { _, _ in
            try jsonResponse(ModelList(models: models.entries(live: broker.snapshot.workers)))
        }
        guarded.post("api/models/:id/canary") { request, context in
            let id = try modelID(context)
            let input = try await request.decodeJSON(CanaryInput.self, limit: configuration.maxBodyBytes)
            guard let mode = CanaryMode(rawValue: input.mode), mode != .promoted else {
                throw APIError(
                    .unprocessableContent,
                    "invalid_mode",
                    "mode must be off, shadow or split (promote with POST /api/models/\(id)/promote)"
                )
            }
            let share = input.share ?? (mode == .split ? 0.1 : 0)
            guard share.isFinite, (0...1).contains(share) else {
                throw APIError(.unprocessableContent, "invalid_share", "share must be a number from 0 to 1")
            }
            return try setCanary(id, CanaryRouting(mode: mode, share: share), action: "canary \(mode.rawValue)")
        }
        guarded.post("api/models/:id/promote") { _, context in
            let id = try modelID(context)
            guard broker.snapshot.workers[ServiceName.canary(id)] != nil else {
                throw APIError(.conflict, "no_canary", "no canary worker of model \(id) is live; start one with MODEL_ROLE=canary")
            }
            return try setCanary(id, CanaryRouting(mode: .promoted, share: 1), action: "promote")
        }
        guarded.post("api/models/:id/rollback") { _, context in
            try setCanary(try modelID(context), CanaryRouting(mode: .off, share: 0), action: "rollback")
        }
        guarded.post("api/risk/reset") { request, context in
            try await operatorAction(request, context, Operations.Risk.reset, message: "risk reset requested")
        }
        guarded.post("api/halt") { request, context in
            try await operatorAction(request, context, Operations.Risk.halt, message: "halt requested")
        }
        guarded.post("api/resume") { request, context in
            try await operatorAction(request, context, Operations.Risk.resume, message: "resume requested")
        }
        registerProtectionRoutes(on: router, guarded: guarded)
        registerLiveBookRoutes(on: router, guarded: guarded)
        registerLiveOrderRoutes(guarded: guarded)
        registerCloseRoutes(guarded: guarded)
    }

    /// Live mode: what holds every live order of `symbol` back (the account's reconciliation,
    /// the preflight, an unresolved order of the symbol). Nothing in paper mode.
    func checkLiveOrder(symbol: String) throws(APIError) {
        guard configuration.tradingMode == .live else { return }
        // While the exchange's rate limits hold every replica, an unread account or a failed
        // preflight (the clock cannot be measured during a ban) answer that, with when to come back.
        if let refusal = accountRefusal() {
            throw refusal.code == "account_unknown" ? control.rateBudgetRefusal(besides: refusal.detail) ?? refusal : refusal
        }
        let preflight = PreflightReport.run(configuration: configuration, broker: broker.snapshot, control: control)
        guard preflight.ok else {
            throw control.rateBudgetRefusal(besides: "the preflight fails: \(preflight.failures)")
                ?? APIError(HTTPResponse.Status(code: 423), "preflight_failed", "live orders wait for the preflight: \(preflight.failures)")
        }
        if let unresolved = control.liveOrders.halt(for: symbol) {
            throw APIError(
                HTTPResponse.Status(code: 423),
                "order_state_unresolved",
                "\(unresolved.symbol) is halted: live order \(unresolved.clientOrderId) is unresolved (\(unresolved.detail)); "
                    + "resolve it with POST /api/live/orders/\(unresolved.clientOrderId)/resolve"
            )
        }
    }

    /// One call to the risk worker, its failure as the HTTP error to answer. These are the
    /// operator's calls (halt, resume, reset, status and ledger reads, marks): they go ahead of
    /// the orders' reserves and settles waiting at the broker.
    func risk<Payload: Codable & Sendable, Result: Codable & Sendable>(
        _ operation: WireOperation<Payload, Result>,
        _ payload: Payload,
        requestID: String
    ) async throws(APIError) -> Result {
        do {
            return try await workers.call(ServiceName.risk, operation, payload: payload, requestID: requestID, priority: true)
        } catch {
            throw error.apiError
        }
    }

    func modelID(_ context: GatewayRequestContext) throws(APIError) -> String {
        let id = context.parameters.get("id") ?? ""
        guard Identifier.modelID.accepts(id) else {
            throw APIError(.unprocessableContent, "invalid_model_id", "a model id is \(Identifier.modelID.grammar)")
        }
        return id
    }

    func setCanary(_ id: String, _ routing: CanaryRouting, action: String) throws -> Response {
        models.setRouting(id, routing)
        GatewayCounters.operatorAction(action)
        logger.warning("model routing changed", metadata: ["model.id": "\(id)", "mode": "\(routing.mode.rawValue)", "share": "\(routing.share)"])
        let entry = models.entries(live: broker.snapshot.workers).first { $0.modelId == id }
        return try jsonResponse(entry ?? ModelDirectory.Entry(modelId: id, canary: routing, shadowCompared: 0, shadowAgreed: 0))
    }

    /// `symbol`'s last close and clock, and its book when a feed reported it within `BOOK_TICKER_MAX_AGE_MS` (the book a paper order fills at).
    func marketQuote(_ symbol: String) -> MarketQuote {
        let now = unixMilliseconds()
        // The same fresh book a paper order fills at (a Binance feed's, within BOOK_TICKER_MAX_AGE_MS).
        let book = feedBoard.freshBook(for: symbol, maxAge: Int64(configuration.bookTickerMaxAgeMilliseconds), now: now).map { quote in
            (bid: NSDecimalNumber(decimal: quote.bid).doubleValue, ask: NSDecimalNumber(decimal: quote.ask).doubleValue)
        }
        return MarketQuote(lastClose: market.lastClose(for: symbol), clock: market.clock(for: symbol), book: book)
    }

    // MARK: health

    func health(book: Book? = nil) -> HealthOutput {
        let book = book ?? (configuration.tradingMode == .live ? .live : .paper)
        let snapshot = broker.snapshot
        let risk = control.riskStatus
        var problems: [String] = []
        for service in [ServiceName.feature, ServiceName.risk, ServiceName.execution] where (snapshot.workers[service] ?? 0) == 0 {
            problems.append("no live \(service) worker")
        }
        let modelIDs = Set(snapshot.workers.keys.flatMap(ServiceName.incumbentModelIDs(of:))).sorted()
        if modelIDs.isEmpty { problems.append("no live model worker") }
        for expected in configuration.modelIDs where !modelIDs.contains(expected) { problems.append("model \(expected) has no live worker") }
        let now = unixMilliseconds()
        if let risk {
            if now - risk.at > configuration.riskStaleMilliseconds { problems.append("risk status is stale") }
        } else {
            problems.append("risk status not yet known")
        }
        // Live orders and the exchange's clock are shown apart (`liveOrders`); the preflight gates on them.
        let live = configuration.tradingMode == .live
        let limits = risk?.status.limits
        let account = book == .live ? risk?.status.live?.account : risk?.status.account
        if configuration.tradingMode == .live, let hold = risk?.status.live?.reconciliation.hold { problems.append(hold) }
        var output = HealthOutput(
            ok: problems.isEmpty,
            service: "gateway",
            tradingMode: configuration.tradingMode,
            problems: problems,
            uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
            config: HealthConfig(
                confidenceThreshold: limits?.confidenceThreshold,
                maxOrderNotionalUsd: limits?.maxOrderNotionalUsd,
                maxPositionUsd: limits?.maxPositionUsd,
                maxGrossExposureUsd: limits?.maxGrossExposureUsd,
                maxDailyLossUsd: limits?.maxDailyLossUsd,
                maxDrawdown: limits?.maxDrawdown,
                maxOrdersPerMinute: limits?.maxOrdersPerMinute,
                symbolAllowlist: limits?.symbolAllowlist,
                startingEquityUsd: limits?.startingEquityUsd,
                slippageBps: limits?.slippageBps,
                feeBps: limits?.feeBps,
                consensusQuorum: configuration.consensus.quorum,
                consensusMinAgreement: configuration.consensus.minAgreement,
                modelIds: configuration.modelIDs,
                requestTimeoutMs: configuration.broker.requestTimeoutMilliseconds,
                heartbeatIntervalMs: configuration.broker.heartbeatIntervalMilliseconds,
                heartbeatLiveness: configuration.broker.heartbeatLiveness,
                authRequired: configuration.apiToken != nil,
                allowRequestPrice: configuration.allowRequestPrice,
                maxPriceDeviationBps: configuration.maxPriceDeviationBps,
                bookTickerMaxAgeMs: configuration.bookTickerMaxAgeMilliseconds,
                drawdownAction: limits?.drawdownAction,
                maxCandleAge: limits?.maxCandleAge,
                protections: limits?.protections
            ),
            risk: HealthRisk(
                known: risk != nil,
                drawdown: account?.drawdown,
                equity: account?.equity,
                peakEquity: account?.peakEquity,
                cash: account?.cash,
                grossExposure: account?.grossExposure,
                dailyLoss: account?.dailyLoss,
                realizedPnl: account?.realizedPnl,
                unrealizedPnl: account?.unrealizedPnl,
                pendingOrders: account?.pendingOrders,
                locked: risk?.status.flags.riskLocked,
                lockReason: risk?.status.flags.lockReason,
                halted: risk?.status.flags.halted,
                haltReason: risk?.status.flags.haltReason,
                statusAgeMs: risk.map { now - $0.at },
                tradingState: risk?.status.flags.tradingState,
                stateReason: risk?.status.flags.stateReason,
                locks: risk?.status.flags.activeLocks(at: now)
            ),
            control: control.control,
            workers: snapshot.workers,
            models: modelIDs,
            modelVersions: self.models.entries(live: snapshot.workers),
            liveOrders: live ? control.liveHealth : nil,
            market: marketStatus(now: now).symbols
        )
        output.risk.book = book
        output.risk.reconciliation = risk?.status.live?.reconciliation
        return output
    }

    // MARK: market feed

    func ingest(_ input: CandlesInput, requestID: String) async throws(APIError) -> CandlesOutput {
        let symbol = try InputValidation.symbol(input.symbol)
        guard !input.candles.isEmpty else { throw APIError(.unprocessableContent, "invalid_candle", "candles must not be empty") }
        try InputValidation.candles(input.candles, limit: 5_000)
        let added: Int
        do {
            added = try market.append(symbol: symbol, candles: input.candles, now: unixMilliseconds())
        } catch {
            switch error {
            case .stale(let newest, let oldest):
                throw APIError(
                    .conflict,
                    "stale_candle",
                    "\(symbol) already holds a candle opened at \(newest); openTime \(oldest) is not newer: nothing was added, the mark did not move"
                )
            case .repeated(let openTime):
                throw APIError(.unprocessableContent, "invalid_candle", "two candles share openTime \(openTime)")
            case .future(let openTime, let latest):
                throw APIError(
                    .unprocessableContent,
                    "candle_in_future",
                    "openTime \(openTime) is more than one interval in the future (latest allowed \(latest))"
                )
            case .tooManySymbols(let limit):
                throw APIError(
                    .unprocessableContent,
                    "too_many_symbols",
                    "at most \(limit) symbols are held (MAX_SYMBOLS); \(symbol) is not one of them"
                )
            }
        }
        guard let latest = input.candles.max(by: { $0.openTime < $1.openTime }), let price = Decimal(exactly: latest.close, scale: 8) else {
            throw APIError(.unprocessableContent, "invalid_candle", "the latest close is not a usable price")
        }
        let mark = MarkRequest(symbol: symbol, price: price, ts: latest.openTime, intervalMs: market.clock(for: symbol)?.intervalMilliseconds)
        let status: RiskStatus = try await risk(Operations.Risk.mark, mark, requestID: requestID)
        control.update(status: status)
        if status.flags.riskLocked {
            logger.warning("risk_locked: trading is locked", metadata: ["request.id": "\(requestID)", "reason": "\(status.flags.lockReason ?? "")"])
        }
        return CandlesOutput(
            requestId: requestID,
            symbol: symbol,
            added: added,
            held: market.candles(for: symbol).count,
            price: price,
            drawdown: status.account.drawdown,
            riskLocked: status.flags.riskLocked
        )
    }

    // MARK: operator actions

    func operatorAction(
        _ request: Request,
        _ context: GatewayRequestContext,
        _ operation: WireOperation<OperatorAction, RiskStatus>,
        message: String
    ) async throws -> Response {
        let op = operation.name
        let isHalt = op == Operations.Risk.halt.name
        let requestID = context.requestID
        let input = try await request.decodeJSON(OperatorInput.self, limit: configuration.maxBodyBytes, allowEmpty: true)
        let requestedBy = try operatorName(input, request)
        return try await perform(op, isHalt: isHalt, reason: input.reason, requestedBy: requestedBy, message: message, requestID: requestID) {
            (requestID: String) async throws(APIError) -> RiskStatus in
            try await risk(operation, OperatorAction(requestedBy: requestedBy, reason: input.reason), requestID: requestID)
        }
    }

    /// Who asks (printable ASCII only, at most 80: no raw header bytes reach a log line or the
    /// audit trail); refuses a reason over 500 characters.
    func operatorName(_ input: OperatorInput, _ request: Request) throws(APIError) -> String {
        if let reason = input.reason, reason.count > 500 {
            throw APIError(.unprocessableContent, "invalid_reason", "reason must be at most 500 characters")
        }
        let header = request.headers[.operatorName]
        for (name, value) in [("requestedBy", input.requestedBy), ("X-Operator", header)] where (value?.count ?? 0) > 80 {
            throw APIError(.unprocessableContent, "invalid_operator", "\(name) must be at most 80 characters")
        }
        let given = input.requestedBy ?? header ?? "api"
        return String(decoding: given.utf8.filter { (0x20...0x7E).contains($0) }, as: UTF8.self)
    }

    /// Carries out an operator action through the risk worker and answers with the flags.
    func perform(
        _ op: String,
        isHalt: Bool,
        reason: String?,
        requestedBy: String,
        message: String,
        requestID: String,
        call: (String) async throws(APIError) -> RiskStatus
    ) async throws -> Response {
        // Halt: stop first, write later (and log after). Every worker holds as soon as the
        // broadcast lands; the halt stays in force even if the risk worker cannot record it now.
        if isHalt { control.haltNow(reason: reason ?? "halted by \(requestedBy)") }
        GatewayCounters.operatorAction(op)
        logger.warning(
            "\(message)",
            metadata: ["request.id": "\(requestID)", "requestedBy": "\(requestedBy)", "reason": "\(reason ?? "")"]
        )
        // Resume and reset: written first, broadcast after (the risk worker's answer is the change).
        let outcome: Result<RiskStatus, APIError>
        do {
            outcome = .success(try await call(requestID))
        } catch {
            outcome = .failure(error)
        }
        if isHalt, case .failure(let error) = outcome {
            let state = control.control
            logger.warning(
                "halt broadcast but not yet recorded by the risk worker: held by the gateway",
                metadata: ["request.id": "\(requestID)", "error": "\(error.code): \(error.detail)"]
            )
            return try jsonResponse(
                OperatorOutput(
                    requestId: requestID,
                    ok: true,
                    action: op,
                    halted: true,
                    haltReason: state?.haltReason,
                    riskLocked: state?.riskLocked ?? false,
                    lockReason: state?.lockReason,
                    drawdown: nil,
                    persisted: false,
                    tradingState: .halted,
                    stateReason: state?.haltReason
                ),
                status: .accepted,
                requestID: requestID
            )
        }
        let status = try outcome.get()
        if isHalt { control.update(status: status) } else { control.operatorCleared(status: status) }
        return try jsonResponse(
            OperatorOutput(
                requestId: requestID,
                ok: true,
                action: op,
                halted: status.flags.halted,
                haltReason: status.flags.haltReason,
                riskLocked: status.flags.riskLocked,
                lockReason: status.flags.lockReason,
                drawdown: status.account.drawdown,
                tradingState: status.flags.tradingState,
                stateReason: status.flags.stateReason
            ),
            requestID: requestID
        )
    }
}
