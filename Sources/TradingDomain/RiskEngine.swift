import Foundation
import TradingWire

/// The risk rules, the paper account and the order book, with no I/O: the risk worker persists
/// what this decides. Every refusal is a `WireError` with its own code and HTTP status.
public struct RiskEngine: Sendable {
    public var limits: RiskLimits
    public private(set) var flags: RiskFlags
    public private(set) var portfolio: Portfolio
    /// The live book: the exchange's account as we remember it, apart from the paper book.
    public private(set) var live: LiveBook
    /// Orders known in memory: every pending one and the recent others.
    public private(set) var orders: [String: Order]
    /// The UTC day (`yyyy-MM-dd`) the daily loss counts from, and the equity it started with.
    public private(set) var day: TradingDay
    /// The pending orders' count and signed notional per symbol, kept as `orders` changes (by
    /// `put`) so that neither a reservation nor the status scans the book.
    private var pending: PendingTotals
    /// Reservation times (Unix ms) within the last minute, for the rate limit.
    private var recentReservations = RecentTimes()
    /// Closed trades and the locks the protections set.
    public private(set) var protections: Protections
    /// Per symbol, the newest candle and its interval (the stale-data guard).
    public private(set) var candleClocks: [String: CandleClock]
    /// The day number (Unix ms / 86,400,000) `day` was last checked against.
    private var dayNumber: Int64?
    /// The latest price of each symbol quoted in an asset that is not USD-like (`ETHBTC`), in
    /// that asset: `portfolio.marks` holds it in USD, converted at the quote asset's USD mark.
    public private(set) var quotedMarks: [String: Decimal] = [:]
    /// Whether prices in a quote asset that is not USD-like are converted to USD (the risk worker:
    /// the account is in USD). False keeps every price as given, the account in the traded
    /// symbol's own quote: the backtest, one symbol at a time.
    public var convertsQuotes = true

    /// The UTC day and its starting equity.
    public struct TradingDay: Sendable, Equatable {
        public var date: String
        public var startEquity: Decimal

        public init(date: String, startEquity: Decimal) {
            self.date = date
            self.startEquity = startEquity
        }
    }

    public init(
        limits: RiskLimits,
        flags: RiskFlags? = nil,
        portfolio: Portfolio? = nil,
        orders: [String: Order] = [:],
        day: TradingDay? = nil,
        protections: Protections = Protections(),
        candleClocks: [String: CandleClock] = [:],
        live: LiveBook = LiveBook()
    ) {
        self.live = live
        self.limits = limits
        var flags = flags ?? RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil)
        flags.locks = protections.locks
        flags.accountHold = Self.hold(of: live)
        self.flags = flags
        self.protections = protections
        self.candleClocks = candleClocks
        let portfolio = portfolio ?? Portfolio(startingCash: limits.startingEquityUsd)
        self.portfolio = portfolio
        self.orders = orders
        self.pending = PendingTotals(orders.values)
        self.day = day ?? TradingDay(date: "", startEquity: portfolio.equity)
    }

    public var status: RiskStatus {
        RiskStatus(flags: flags, account: paperAccount, limits: limits, live: liveStatus())
    }

    /// The book a settle of a `mode` order answers: the live book once built, else the paper book.
    private func account(for mode: TradingMode) -> AccountSnapshot {
        mode == .live && live.isBuilt ? (liveStatus().account ?? paperAccount) : paperAccount
    }

    /// The paper book as the wire shows it (every paper settle answers it: the live book's
    /// status is not built there).
    private var paperAccount: AccountSnapshot {
        var account = portfolio.snapshot
        account.dailyLoss = max(0, day.startEquity - portfolio.equity).rounded(scale: 8)
        account.pendingOrders = pending.count
        return account
    }

    /// The live book as the wire shows it, with `outcome` when a report produced it.
    public func liveStatus(outcome: String? = nil) -> LiveBookStatus {
        live.status(pendingOrders: live.isBuilt ? orders.values.lazy.filter { $0.mode == .live && $0.status == .pending }.count : 0, outcome: outcome)
    }

    /// The hold the control state carries to every execution replica: a mismatch or an unknown
    /// state (a book never built is refused by `reserve` and by the preflight, not broadcast, so
    /// that paper mode carries no hold).
    static func hold(of live: LiveBook) -> String? {
        live.reconciliation.state == .never ? nil : live.reconciliation.hold
    }

    /// Applies an account report to the live book (see `LiveBook.apply`); the marks are the
    /// market's (the paper book's).
    public mutating func applyAccount(_ report: AccountReport, now: Int64) -> LiveBookStatus {
        let pending = Set(orders.values.lazy.filter { $0.mode == .live && $0.status == .pending }.map(\.intent.symbol))
        let outcome = live.apply(report, marks: portfolio.marks, pendingSymbols: pending, now: now)
        flags.accountHold = Self.hold(of: live)
        var result = liveStatus(outcome: outcome)
        result.flags = flags
        return result
    }

    /// The operator adopts the exchange's balances as the live book's; returns the balances before.
    public mutating func adoptAccount(_ request: AdoptRequest, now: Int64) throws(WireError) -> [String: Decimal] {
        if orders.values.contains(where: { $0.mode == .live && $0.status == .pending }) {
            throw WireError(code: "orders_pending", detail: "a live order is pending: adopt once it is settled", status: 409)
        }
        let before = try live.adopt(request.account, symbols: request.symbols, marks: portfolio.marks, now: now)
        flags.accountHold = Self.hold(of: live)
        return before
    }

    /// What the gate knows beyond flags and limits: the time, the symbol's position (signed,
    /// quantity or value) and its newest candle.
    public struct GateContext: Sendable {
        public var now: Int64
        public var position: Decimal
        public var clock: CandleClock?

        public init(now: Int64, position: Decimal, clock: CandleClock?) {
            self.now = now
            self.position = position
            self.clock = clock
        }
    }

    /// The consensus gate: threshold, halt, lock, trading state, protection locks, stale data.
    public func gate(_ request: GateRequest, now: Int64) -> GateResult {
        Self.gate(request, flags: flags, limits: limits, context: gateContext(request, now: now))
    }

    /// The gate's refusals, in the order `gate` gives its reasons, not yet worded (`gate` words
    /// every one; the backtest only needs the first one's code, for every candle).
    public func gateRefusals(_ request: GateRequest, now: Int64) -> [GateRefusal] {
        Self.gateRefusals(request, flags: flags, limits: limits, context: gateContext(request, now: now))
    }

    private func gateContext(_ request: GateRequest, now: Int64) -> GateContext {
        GateContext(now: now, position: portfolio.positions[request.symbol]?.quantity ?? 0, clock: candleClocks[request.symbol])
    }

    /// The gate as a pure function of the flags and limits, so that whoever holds the risk
    /// worker's latest status (the gateway) decides exactly as the risk worker would. Without a
    /// context, the trading state, locks and stale-data guard are not judged.
    public static func gate(_ request: GateRequest, flags: RiskFlags, limits: RiskLimits, context: GateContext? = nil) -> GateResult {
        let reasons = gateRefusals(request, flags: flags, limits: limits, context: context).map(\.reason)
        return GateResult(allow: reasons.isEmpty, reasons: reasons, flags: flags)
    }

    /// Why the gate refuses, one case per rule, worded only when asked (`reason`).
    public enum GateRefusal: Sendable, Equatable {
        case halted(reason: String?)
        case riskLocked(reason: String?)
        case reducingOnly(reason: String?)
        case symbolLocked(ProtectionLock)
        /// `StaleDataGuard`'s sentence.
        case staleMarketData(String)
        case confidenceBelowThreshold(confidence: Double, threshold: Double)
        case symbolNotAllowed(String)

        /// The sentence `GateResult.reasons` carries.
        public var reason: String {
            switch self {
            case .halted(let reason): "trading halted: \(reason ?? "no reason given")"
            case .riskLocked(let reason): "risk_locked: \(reason ?? "no reason given")"
            case .reducingOnly(let reason): "reducing_only: \(reason ?? "trading state is REDUCING")"
            case .symbolLocked(let lock): "symbol_locked: \(lock.refusal)"
            case .staleMarketData(let problem): "stale_market_data: \(problem)"
            case .confidenceBelowThreshold(let confidence, let threshold):
                "confidence \(RiskEngine.format(confidence)) is below the threshold \(threshold)"
            case .symbolNotAllowed(let symbol): "symbol \(symbol) is not on the allow-list"
            }
        }
    }

    /// The gate's rules in order; `gate` words what they refuse.
    public static func gateRefusals(_ request: GateRequest, flags: RiskFlags, limits: RiskLimits, context: GateContext? = nil) -> [GateRefusal] {
        var refusals: [GateRefusal] = []
        if flags.halted { refusals.append(.halted(reason: flags.haltReason)) }
        if flags.riskLocked { refusals.append(.riskLocked(reason: flags.lockReason)) }
        if let context {
            let reduces = Self.reduces(side: request.side, position: context.position)
            if flags.reducing && !flags.halted && !reduces {
                refusals.append(.reducingOnly(reason: flags.reducingReason))
            }
            if !reduces, let lock = Protections.lock(on: request.symbol, at: context.now, in: flags.locks) {
                refusals.append(.symbolLocked(lock))
            }
            if let stale = StaleDataGuard.problem(symbol: request.symbol, clock: context.clock, maxAge: limits.maxCandleAge, now: context.now) {
                refusals.append(.staleMarketData(stale))
            }
        }
        if request.confidence < limits.confidenceThreshold {
            refusals.append(.confidenceBelowThreshold(confidence: request.confidence, threshold: limits.confidenceThreshold))
        }
        if !limits.symbolAllowlist.isEmpty && !limits.symbolAllowlist.contains(request.symbol) {
            refusals.append(.symbolNotAllowed(request.symbol))
        }
        return refusals
    }

    /// What a change needs to be undone without copying the order book: the engine with an empty
    /// book (limits, flags, portfolio, protections: small) and the prior state of the orders the
    /// change may touch. Copying the whole engine instead copies thousands of orders on the first
    /// write (copy on write), which was half of the risk worker's time per request.
    public struct Checkpoint: Sendable {
        fileprivate let engine: RiskEngine
        fileprivate var orders: [String: Order?]

        /// The orders this checkpoint can put back.
        public var orderIDs: Set<String> { Set(orders.keys) }

        /// Adds the orders `later` can put back that this one cannot: for a checkpoint taken
        /// before a run of changes, each taken before one of them, the state before the first
        /// change that touched each order.
        public mutating func keepEarliest(of later: Checkpoint) {
            for (id, order) in later.orders where orders.index(forKey: id) == nil {
                orders.updateValue(order, forKey: id)
            }
        }
    }

    /// A checkpoint for a change that touches at most the orders `ids`.
    /// The closed trades are left out too: the changes in between only add trades of the orders
    /// they touch (at the end), and prune ones older than every lookback.
    public mutating func checkpoint(touching ids: [String]) -> Checkpoint {
        var book: [String: Order] = [:]
        swap(&book, &orders)
        let trades = protections.takeTrades()
        let rest = self
        protections.putBack(trades, recordedWhenTaken: protections.recorded)
        swap(&book, &orders)
        return Checkpoint(engine: rest, orders: Dictionary(ids.map { ($0, orders[$0]) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Puts the engine back as it was at `checkpoint`; the change in between must have touched
    /// no order outside `checkpoint.orderIDs`. The trades those orders closed since are dropped;
    /// trades pruned since stay pruned (older than every lookback, they decide nothing).
    public mutating func restore(_ checkpoint: Checkpoint) {
        var book: [String: Order] = [:]
        swap(&book, &orders)
        let trades = protections.takeTrades()
        let recordedSince = protections.recorded
        self = checkpoint.engine
        // Orders that were filled before the checkpoint closed their trades before it too.
        let undone = Set(checkpoint.orders.compactMap { id, order in order?.status == .filled ? nil : id })
        protections.putBack(trades, recordedWhenTaken: recordedSince, undoingSince: checkpoint.engine.protections.recorded, of: undone)
        for (id, order) in checkpoint.orders { book[id] = order }
        swap(&book, &orders)
    }

    /// Makes an order loaded from the ledger known, so that a repeated client order id finds it.
    public mutating func remember(_ order: Order) {
        put(order)
    }

    /// The one way an order enters or changes in the book: the pending totals follow it.
    private mutating func put(_ order: Order) {
        if let old = orders.updateValue(order, forKey: order.intent.clientOrderId) { pending.remove(old) }
        pending.add(order)
    }

    /// Forgets settled orders beyond the newest `keep`, so memory stays bounded (the ledger keeps all).
    public mutating func pruneSettled(keep: Int) {
        let settled = orders.values.filter { $0.status != .pending }
        guard settled.count > keep else { return }
        for order in settled.sorted(by: { $0.createdAt < $1.createdAt }).prefix(settled.count - keep) {
            if let removed = orders.removeValue(forKey: order.intent.clientOrderId) { pending.remove(removed) }
        }
    }

    /// Pre-trade check and reservation: a known client order id returns its order unchanged;
    /// a new one passes every rule and is written as pending with the terms it will fill under.
    public mutating func reserve(_ request: ReserveRequest, now: Int64) throws(WireError) -> ReserveResult {
        let intent = request.intent
        if let existing = orders[intent.clientOrderId] {
            guard existing.intent == intent else {
                throw WireError(
                    code: "client_order_id_conflict",
                    detail: "client order id \(intent.clientOrderId) was used for a different order",
                    status: 409
                )
            }
            return ReserveResult(order: existing, duplicate: true, flags: flags)
        }
        rollDay(now: now)
        // A forced close is the only order a halt or the drawdown lock lets through.
        let forced = request.close?.force == true
        if flags.halted && !forced {
            throw WireError(code: "trading_halted", detail: flags.haltReason ?? "trading is halted", status: 423)
        }
        if flags.riskLocked && !forced {
            throw WireError(code: "risk_locked", detail: flags.lockReason ?? "risk is locked", status: 423)
        }
        if let stale = StaleDataGuard.problem(symbol: intent.symbol, clock: candleClocks[intent.symbol], maxAge: limits.maxCandleAge, now: now) {
            throw WireError(code: "stale_market_data", detail: "no new order: \(stale)", status: 409)
        }
        // Live orders trade the live book, and only while it agrees with the exchange.
        // The book is read in place where it is used (`bookValue`, ...): a copy of the paper book
        // per reservation cost about 600 instructions on the hot path.
        let isLive = request.mode == .live
        if isLive {
            if let refusal = live.refusal { throw WireError(code: refusal.code, detail: refusal.detail, status: 423) }
            guard live.portfolio != nil else {
                throw WireError(code: "account_unknown", detail: "the live book has not been built from the exchange's account yet", status: 423)
            }
            if TradingPair(symbol: intent.symbol) == nil, let pair = TradingPair(anyQuote: intent.symbol) {
                throw WireError(
                    code: "symbol_not_live",
                    detail: "\(intent.symbol) is quoted in \(pair.quote): the live book keeps only USD-like quotes as cash, so live orders "
                        + "of it are refused (paper converts them at the \(pair.quote) USD mark); nothing was sent",
                    status: 422
                )
            }
            guard let pair = TradingPair(symbol: intent.symbol), live.balances[pair.base] != nil, live.balances[pair.quote] != nil else {
                throw WireError(
                    code: "symbol_not_live",
                    detail: "\(intent.symbol)'s assets are not reconciled with the exchange's account: add it to LIVE_SYMBOLS",
                    status: 422
                )
            }
        }
        // Trading state and protection locks refuse what opens or grows a position, never what shrinks one.
        let held = bookValue(intent.symbol, live: isLive) + pending.notional(intent.symbol)
        if request.close != nil {
            try Self.checkClose(intent, value: bookValue(intent.symbol, live: isLive), pending: pending.notional(intent.symbol))
        }
        // A close fills the whole quantity held: it shrinks the position to zero whatever its notional's rounding.
        let shrinks =
            request.close != nil
            ? Self.reduces(side: intent.side, position: held) : Self.shrinks(side: intent.side, notional: intent.qtyUsd, position: held)
        if flags.reducing && !shrinks {
            throw WireError(
                code: "reducing_only",
                detail:
                    "trading state is REDUCING (\(flags.reducingReason ?? "no reason given")): only orders that reduce an open position are accepted",
                status: 423
            )
        }
        if !shrinks, let lock = protections.lock(on: intent.symbol, at: now) {
            throw WireError(code: "symbol_locked", detail: lock.refusal, status: 423)
        }
        if !limits.symbolAllowlist.isEmpty && !limits.symbolAllowlist.contains(intent.symbol) {
            throw WireError(
                code: "symbol_not_allowed",
                detail: "\(intent.symbol) is not on the allow-list (\(limits.symbolAllowlist.joined(separator: ", ")))",
                status: 422
            )
        }
        if intent.confidence < limits.confidenceThreshold {
            throw WireError(
                code: "confidence_below_threshold",
                detail: "confidence \(Self.format(intent.confidence)) is below the threshold \(limits.confidenceThreshold)",
                status: 422
            )
        }
        if intent.qtyUsd < limits.minOrderUsd && request.close == nil {
            throw WireError(
                code: "order_too_small",
                detail: "order notional \(intent.qtyUsd) is below the minimum \(limits.minOrderUsd) (MIN_ORDER_USD)",
                status: 422
            )
        }
        if intent.qtyUsd > limits.maxOrderNotionalUsd {
            throw WireError(
                code: "max_order_notional",
                detail: "order notional \(intent.qtyUsd) exceeds the limit \(limits.maxOrderNotionalUsd)",
                status: 422
            )
        }
        recentReservations.forget(upTo: now - 60_000)
        if recentReservations.count >= limits.maxOrdersPerMinute {
            throw WireError(
                code: "rate_limited",
                detail: "more than \(limits.maxOrdersPerMinute) orders in the last minute; retry later",
                status: 429
            )
        }
        let dailyLoss = isLive ? live.day.startEquity - (live.portfolio?.equity ?? 0) : day.startEquity - portfolio.equity
        if dailyLoss >= limits.maxDailyLossUsd && request.close == nil {
            throw WireError(
                code: "max_daily_loss",
                detail: "today's loss \(dailyLoss.rounded(scale: 2)) reached the limit \(limits.maxDailyLossUsd); trading resumes next UTC day",
                status: 422
            )
        }
        if request.mode == .live {
            if intent.qtyUsd > limits.liveMaxOrderUsd {
                throw WireError(
                    code: "live_order_cap",
                    detail: "live order notional \(intent.qtyUsd) exceeds the live cap \(limits.liveMaxOrderUsd)",
                    status: 422
                )
            }
            let today = Self.utcDate(now)
            let sentToday = orders.values
                .filter { $0.mode == .live && $0.status != .rejected && Self.utcDate($0.createdAt) == today }
                .reduce(Decimal(0)) { $0 + $1.intent.qtyUsd }
            if sentToday + intent.qtyUsd > limits.liveMaxDailyUsd {
                throw WireError(
                    code: "live_daily_cap",
                    detail: "live notional today would be \(sentToday + intent.qtyUsd), beyond the daily cap \(limits.liveMaxDailyUsd)",
                    status: 422
                )
            }
        }
        var knownMark = portfolio.marks[intent.symbol]
        var requestPrice = request.mode == .paper ? request.requestPrice : nil
        var quoteMarkUsd: Decimal?
        if let pair = foreignQuote(intent.symbol) {
            // qtyUsd is dollars: converted at the quote asset's fresh USD mark, or refused.
            guard let rate = usdMark(of: pair.quote, now: now) else {
                throw WireError(
                    code: "no_quote_mark",
                    detail: "\(intent.symbol) is quoted in \(pair.quote): no fresh USD mark of \(pair.quote) ("
                        + TradingPair.usdSymbols(of: pair.quote).prefix(3).joined(separator: ", ") + ", ... within MAX_CANDLE_AGE) to convert qtyUsd",
                    status: 422
                )
            }
            quoteMarkUsd = rate
            if let raw = quotedMarks[intent.symbol] { knownMark = (raw * rate).rounded(scale: 8) }
            requestPrice = requestPrice.map { ($0 * rate).rounded(scale: 8) }
        }
        guard var markPrice = knownMark ?? requestPrice else {
            throw WireError(
                code: "no_price",
                detail: "no market price is known for \(intent.symbol): feed candles with POST /api/market/candles first",
                status: 409
            )
        }
        // Paper: a fresh book ticker (the gateway sends one only within BOOK_TICKER_MAX_AGE_MS)
        // fills a buy at the ask and a sell at the bid; else the last close, as before.
        var priceSource: PriceSource? = request.mode == .paper ? (knownMark != nil ? .lastClose : .requestPrice) : nil
        var bookAgeMs: Int64?
        if request.mode == .paper, let book = request.book, book.isUsable {
            let quoted = intent.side == .buy ? book.ask : book.bid
            let price = quoteMarkUsd.map { (quoted * $0).rounded(scale: 8) } ?? quoted
            if price > 0 {
                markPrice = price
                priceSource = intent.side == .buy ? .bookAsk : .bookBid
                bookAgeMs = book.ageMs
            }
        }
        // The quantity this notional buys at the mark must not round to zero (8 places).
        // A live sell carries the long position it may close: the execution worker sends it by base quantity.
        // Live: the live book's holding (the exchange's balance of the base asset), never the paper position.
        let heldQuantity = isLive ? live.held(intent.symbol) : portfolio.positions[intent.symbol]?.quantity ?? 0
        let terms = ExecutionTerms(
            markPrice: markPrice,
            slippageBps: limits.slippageBps,
            feeBps: limits.feeBps,
            quoteMarkUsd: quoteMarkUsd,
            heldQuantity: request.mode == .live && intent.side == .sell && heldQuantity > 0 ? heldQuantity : nil,
            closeQuantity: request.close != nil ? Self.magnitude(heldQuantity) : nil,
            forcedClose: forced ? true : nil,
            priceSource: priceSource,
            bookAgeMs: bookAgeMs
        )
        _ = try PaperFill.fill(
            side: intent.side,
            notional: intent.qtyUsd,
            markPrice: markPrice,
            slippageBps: request.mode == .paper ? terms.slippageBps : 0,
            feeBps: terms.feeBps,
            at: now
        )
        if request.mode == .live, intent.side == .sell, request.close == nil {
            // Spot is long-only: a sell may sell what the account holds, less what pending sells take.
            let held = live.held(intent.symbol)
            let pendingSells = max(0, -pending.notional(intent.symbol)) / markPrice
            let quantity = intent.qtyUsd / markPrice
            if quantity > held - pendingSells {
                let asset = TradingPair(symbol: intent.symbol)?.base ?? intent.symbol
                throw WireError(
                    code: "insufficient_balance",
                    detail: "a sell of \(intent.qtyUsd) USD is \(quantity.rounded(scale: 8)) \(asset) at \(markPrice), beyond the "
                        + "\((held - pendingSells).rounded(scale: 8)) the account holds (spot live is long-only); nothing was sent",
                    status: 422
                )
            }
        }
        let signed = intent.side == .buy ? intent.qtyUsd : -intent.qtyUsd
        // Reserved-but-unsettled orders count as if filled at their notional.
        let reserved = pending.notionalBySymbol
        var projected: [String: Decimal] = [:]
        let heldSymbols = isLive ? Set(live.portfolio?.positions.keys.map { $0 } ?? []) : Set(portfolio.positions.keys)
        for symbol in heldSymbols.union(reserved.keys) {
            projected[symbol] = bookValue(symbol, live: isLive) + (reserved[symbol] ?? 0)
        }
        let grossNow = projected.values.reduce(Decimal(0)) { $0 + Self.magnitude($1) }
        let before = projected[intent.symbol] ?? 0
        let after = before + signed
        if Self.magnitude(after) > limits.maxPositionUsd {
            throw WireError(
                code: "max_position",
                detail: "position in \(intent.symbol) would be \(after.rounded(scale: 2)), beyond the limit \(limits.maxPositionUsd)",
                status: 422
            )
        }
        let grossAfter = grossNow - Self.magnitude(before) + Self.magnitude(after)
        if grossAfter > limits.maxGrossExposureUsd && grossAfter > grossNow {
            throw WireError(
                code: "max_gross_exposure",
                detail: "gross exposure would be \(grossAfter.rounded(scale: 2)), beyond the limit \(limits.maxGrossExposureUsd)",
                status: 422
            )
        }
        recentReservations.append(now)
        let order = Order(intent: intent, status: .pending, mode: request.mode, createdAt: now, terms: terms)
        put(order)
        return ReserveResult(order: order, duplicate: false, flags: flags)
    }

    /// The value of the position in `symbol` in the live or the paper book.
    private func bookValue(_ symbol: String, live isLive: Bool) -> Decimal {
        isLive ? (live.portfolio?.positionValue(symbol) ?? 0) : portfolio.positionValue(symbol)
    }

    /// The signed notional (buy +, sell −) of the pending orders, per symbol.
    public func reservedNotional() -> [String: Decimal] {
        pending.notionalBySymbol
    }

    /// Records the outcome of execution. Settling again with the same fill (price, quantity, fee)
    /// is a no-op; a different outcome for a settled order is refused.
    public mutating func settle(_ request: SettleRequest) throws(WireError) -> SettleResult {
        guard var order = orders[request.clientOrderId] else {
            throw WireError(code: "unknown_order", detail: "no order \(request.clientOrderId) in the ledger", status: 404)
        }
        switch order.status {
        case .filled, .rejected:
            if Self.sameOutcome(order.fill, request.fill) {
                return SettleResult(order: order, account: account(for: order.mode), flags: flags)
            }
            throw WireError(code: "order_already_settled", detail: "order \(request.clientOrderId) is already \(order.status.rawValue)", status: 409)
        case .pending:
            break
        }
        if let fill = request.fill {
            book(fill, on: &order)
        } else {
            order.status = .rejected
            order.rejectReason = request.rejectReason ?? "rejected by execution"
        }
        put(order)
        return SettleResult(order: order, account: account(for: order.mode), flags: flags)
    }

    /// The one transition out of `rejected`: a live order booked rejected that the exchange shows
    /// filled after all is booked as that fill, its money once. A pending order is settled with
    /// it; the same fill again is a no-op (`changed` false); another fill is refused.
    public mutating func bookLateFill(clientOrderId: String, fill: Fill) throws(WireError) -> (result: SettleResult, changed: Bool) {
        guard var order = orders[clientOrderId] else {
            throw WireError(code: "unknown_order", detail: "no order \(clientOrderId) in the ledger", status: 404)
        }
        switch order.status {
        case .filled:
            guard Self.sameOutcome(order.fill, fill) else {
                throw WireError(code: "order_already_settled", detail: "order \(clientOrderId) is already filled with another fill", status: 409)
            }
            return (SettleResult(order: order, account: account(for: order.mode), flags: flags), false)
        case .pending:
            return (try settle(SettleRequest(clientOrderId: clientOrderId, fill: fill, rejectReason: nil)), true)
        case .rejected:
            book(fill, on: &order)
            order.rejectReason = nil
            put(order)
            return (SettleResult(order: order, account: account(for: order.mode), flags: flags), true)
        }
    }

    /// Books `fill` on the portfolio and marks `order` filled with it; a fill that reduced or
    /// closed a position closed (that part of) a trade for the protections.
    private mutating func book(_ fill: Fill, on order: inout Order) {
        let symbol = order.intent.symbol
        // A live order's fill moves the live book once it is built, never the paper one.
        let liveBook = order.mode == .live && live.isBuilt
        let before = (liveBook ? live.portfolio?.positions[symbol] : portfolio.positions[symbol]) ?? Portfolio.Position()
        if liveBook {
            live.book(symbol: symbol, side: order.intent.side, fill: fill)
        } else {
            portfolio.apply(symbol: symbol, side: order.intent.side, fill: fill)
        }
        order.status = .filled
        order.fill = fill
        if before.quantity != 0, (before.quantity > 0) != (order.intent.side == .buy) {
            let after = liveBook ? live.portfolio?.positions[symbol] : portfolio.positions[symbol]
            let realised = (after?.realizedPnl ?? 0) - before.realizedPnl
            protections.record(
                ClosedTrade(orderId: order.intent.clientOrderId, symbol: symbol, closedAt: fill.filledAt, pnl: realised),
                settings: limits.protections
            )
            flags.locks = protections.locks
        }
        if liveBook { checkLiveDrawdown() } else { checkDrawdown() }
    }

    /// The paper fill of an order: a pure function of its terms, stamped with its reservation
    /// time, naming the price it was computed from. A close fills the quantity it was reserved
    /// to close, exactly.
    public static func paperFill(_ order: Order, terms: ExecutionTerms) throws(WireError) -> Fill {
        var fill: Fill
        if let quantity = terms.closeQuantity {
            fill = try PaperFill.fill(
                side: order.intent.side,
                quantity: quantity,
                markPrice: terms.markPrice,
                slippageBps: terms.slippageBps,
                feeBps: terms.feeBps,
                at: order.createdAt
            )
        } else {
            fill = try PaperFill.fill(
                side: order.intent.side,
                notional: order.intent.qtyUsd,
                markPrice: terms.markPrice,
                slippageBps: terms.slippageBps,
                feeBps: terms.feeBps,
                at: order.createdAt
            )
        }
        fill.priceSource = terms.priceSource
        return fill
    }

    /// A new price: marks the account and may trip the drawdown brake. Returns true if it tripped
    /// now. `clock` is the symbol's newest candle, for the stale-data guard.
    @discardableResult
    public mutating func mark(symbol: String, price: Decimal, now: Int64 = 0, clock: CandleClock? = nil) -> Bool {
        if now > 0 {
            rollDay(now: now)
            if !protections.locks.isEmpty || !protections.trades.isEmpty {
                protections.prune(now: now, settings: limits.protections)
                if flags.locks != protections.locks { flags.locks = protections.locks }
            }
        }
        if let clock, clock.newestOpenTime >= (candleClocks[symbol]?.newestOpenTime ?? Int64.min) { candleClocks[symbol] = clock }
        var price = price
        if let pair = foreignQuote(symbol) {
            // The account is in USD: a price in another asset is marked at that asset's USD mark,
            // and not at all while none is known.
            quotedMarks[symbol] = price
            guard let rate = usdMark(of: pair.quote, now: now) else { return false }
            price = (price * rate).rounded(scale: 8)
        }
        portfolio.mark(symbol, price: price)
        guard live.isBuilt else { return checkDrawdown() }
        live.mark(symbol, price: price)
        let paperTripped = checkDrawdown()
        return checkLiveDrawdown() || paperTripped
    }

    /// The pair of a symbol whose price is to be converted to USD: quoted in a known asset that is not USD-like.
    private func foreignQuote(_ symbol: String) -> TradingPair? {
        guard convertsQuotes, let pair = TradingPair(anyQuote: symbol), !pair.usdQuoted else { return nil }
        return pair
    }

    /// The USD mark of `asset` (`BTCUSDT` for BTC, in `TradingPair.usdSymbols` order) that is
    /// fresh at `now` by the stale-data guard (any known one while the guard is off), or nil.
    public func usdMark(of asset: String, now: Int64) -> Decimal? {
        for symbol in TradingPair.usdSymbols(of: asset) {
            guard let price = portfolio.marks[symbol] else { continue }
            if limits.maxCandleAge <= 0 { return price }
            guard let clock = candleClocks[symbol], StaleDataGuard.problem(symbol: symbol, clock: clock, maxAge: limits.maxCandleAge, now: now) == nil
            else { continue }
            return price
        }
        return nil
    }

    /// Sets the trading state. Leaving REDUCING restarts the peak at the current equity, so a
    /// drawdown brake set to `reduce` does not trip again on the same loss.
    public mutating func setState(_ state: TradingState, reason: String?) {
        switch state {
        case .halted:
            halt(reason: reason ?? "halted")
        case .reducing:
            flags.halted = false
            flags.haltReason = nil
            flags.reducing = true
            flags.reducingReason = reason ?? "set by an operator"
        case .active:
            let wasReducing = flags.reducing
            flags.halted = false
            flags.haltReason = nil
            flags.reducing = false
            flags.reducingReason = nil
            if wasReducing {
                portfolio = Portfolio(cash: portfolio.cash, positions: portfolio.positions, marks: portfolio.marks, peakEquity: portfolio.equity)
                live.restartPeak()
            }
        }
    }

    /// Deletes a protection lock; nil when none has that id.
    public mutating func removeLock(id: String) -> ProtectionLock? {
        let removed = protections.remove(id: id)
        flags.locks = protections.locks
        return removed
    }

    /// Clears the drawdown lock; the peak restarts at the current equity so the brake does not
    /// trip again on the same loss.
    public mutating func resetLock() {
        flags.riskLocked = false
        flags.lockReason = nil
        portfolio = Portfolio(cash: portfolio.cash, positions: portfolio.positions, marks: portfolio.marks, peakEquity: portfolio.equity)
        live.restartPeak()
    }

    /// Records an execution replica's rate-limit back-off: the later end of each is kept (an
    /// ended one is replaced). Returns whether the flags changed.
    @discardableResult
    public mutating func recordExchangeBackoff(_ backoff: ExchangeBackoff, now: Int64) -> Bool {
        let bounded = backoff.bounded(now: now)
        let merged = bounded.merged(with: flags.exchangeBackoff?.active(at: now))
        guard merged != flags.exchangeBackoff else { return false }
        flags.exchangeBackoff = merged
        return true
    }

    public mutating func halt(reason: String) {
        flags.halted = true
        flags.haltReason = reason
    }

    public mutating func resume() {
        flags.halted = false
        flags.haltReason = nil
    }

    /// Starts a new trading day at the first activity after UTC midnight. The day's number is
    /// compared first, so that the date is formatted once a day, not on every mark.
    private mutating func rollDay(now: Int64) {
        let number = now >= 0 ? now / 86_400_000 : (now - 86_399_999) / 86_400_000
        guard number != dayNumber else { return }
        dayNumber = number
        let date = Self.utcDate(now)
        if date != day.date { day = TradingDay(date: date, startEquity: portfolio.equity) }
        live.startDay(date)
    }

    @discardableResult
    private mutating func checkDrawdown() -> Bool {
        guard !flags.riskLocked, portfolio.drawdownReaches(limits.maxDrawdown) else { return false }
        return trip(drawdown: portfolio.drawdown, book: "")
    }

    /// The brake on the live book's real equity.
    @discardableResult
    private mutating func checkLiveDrawdown() -> Bool {
        guard !flags.riskLocked, let book = live.portfolio, book.drawdownReaches(limits.maxDrawdown) else { return false }
        return trip(drawdown: book.drawdown, book: "live book ")
    }

    private mutating func trip(drawdown: Double, book: String) -> Bool {
        switch limits.drawdownAction {
        case .lock:
            flags.riskLocked = true
            flags.lockReason = "risk_locked: \(book)drawdown \(Self.format(drawdown)) reached the limit \(limits.maxDrawdown)"
        case .reduce:
            guard !flags.reducing else { return false }
            flags.reducing = true
            flags.reducingReason = "\(book)drawdown \(Self.format(drawdown)) reached the limit \(limits.maxDrawdown) (DRAWDOWN_ACTION=reduce)"
        }
        return true
    }

    /// Refuses a close with nothing to close on its side, or one while another order of the
    /// symbol is pending (the quantity it would close is not yet known).
    static func checkClose(_ intent: OrderIntent, value: Decimal, pending: Decimal) throws(WireError) {
        guard pending == 0 else {
            throw WireError(
                code: "order_pending",
                detail: "an order of \(intent.symbol) is still pending: close once it is settled",
                status: 409
            )
        }
        guard reduces(side: intent.side, position: value) else {
            throw WireError(
                code: "nothing_to_close",
                detail: "no \(intent.side == .sell ? "long" : "short") position in \(intent.symbol) to close",
                status: 409
            )
        }
    }

    /// Whether an order on `side` moves a position (signed) toward zero, whatever its size.
    public static func reduces(side: Side, position: Decimal) -> Bool {
        (position > 0 && side == .sell) || (position < 0 && side == .buy)
    }

    /// Whether an order of `notional` on `side` shrinks a position of signed value `position`
    /// without flipping it.
    static func shrinks(side: Side, notional: Decimal, position: Decimal) -> Bool {
        reduces(side: side, position: position) && notional <= magnitude(position)
    }

    static func sameOutcome(_ a: Fill?, _ b: Fill?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.price == b.price && a.quantity == b.quantity && a.fee == b.fee && a.commissions == b.commissions
        default: false
        }
    }

    static func magnitude(_ value: Decimal) -> Decimal { value < 0 ? -value : value }

    /// `yyyy-MM-dd` of a Unix millisecond time, in UTC.
    public static func utcDate(_ milliseconds: Int64) -> String {
        let (y, m, d) = ISO8601Millis.civil(days: Int(floor(Double(milliseconds) / 86_400_000)))
        // `String(format:)`'s first call costs milliseconds (the backtest's first mark pays it):
        // the same digits written directly for the years it pads to four.
        guard (0...9_999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return String(format: "%04d-%02d-%02d", y, m, d) }
        var text = TextBytes(capacity: 10)
        text.append(UInt64(y), width: 4)
        text.append(byte: UInt8(ascii: "-"))
        text.append(UInt64(m), width: 2)
        text.append(byte: UInt8(ascii: "-"))
        text.append(UInt64(d), width: 2)
        return text.string
    }

    /// Four decimal places, as `%.4f` writes them, without a formatter (the gate words a refusal
    /// for most signals, and the backtest asks it for every candle).
    static func format(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return String(format: "%.4f", value) }
        let scaled = Int64((abs(value) * 10_000).rounded())
        let fraction = String(scaled % 10_000)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        return "\(sign)\(scaled / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    /// Restores the day (from the ledger).
    public mutating func restoreDay(_ day: TradingDay) {
        self.day = day
        dayNumber = nil
    }
}
