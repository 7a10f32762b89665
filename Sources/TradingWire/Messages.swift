import Foundation

/// Buy or sell.
public enum Side: String, Codable, Sendable, CaseIterable {
    case buy
    case sell
}

/// One OHLCV candle. `openTime` is Unix milliseconds (UTC).
public struct Candle: Codable, Sendable, Equatable {
    public var openTime: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(openTime: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.openTime = openTime
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}

/// The model inputs, named as the runbook names them.
public struct FeatureVector: Codable, Sendable, Equatable {
    /// 20-period momentum, percent.
    public var mom20: Double
    /// 5-period realized volatility, percent.
    public var rv5: Double
    /// Wilder's 14-period RSI, 0...100.
    public var rsi14: Double

    public init(mom20: Double, rv5: Double, rsi14: Double) {
        self.mom20 = mom20
        self.rv5 = rv5
        self.rsi14 = rsi14
    }

    enum CodingKeys: String, CodingKey {
        case mom20 = "mom_20"
        case rv5 = "rv_5"
        case rsi14 = "rsi_14"
    }

    /// The feature names, in model input order.
    public static let names = ["mom_20", "rv_5", "rsi_14"]

    /// Values in `names` order.
    public var values: [Double] { [mom20, rv5, rsi14] }
}

// MARK: feature service

/// `feature` / `features`: validate given features, complete missing ones from candles.
public struct FeatureRequest: Codable, Sendable {
    public var symbol: String
    public var features: [String: Double]?
    public var candles: [Candle]?
    /// Instead of `candles`: the open time of the newest candle the gateway holds for the
    /// symbol. The feature worker answers from the features it computed when that candle reached
    /// it on the market channel, or refuses with 409 `features_not_current` (the gateway then
    /// sends the candles).
    public var asOf: Int64?

    public init(symbol: String, features: [String: Double]?, candles: [Candle]?, asOf: Int64? = nil) {
        self.symbol = symbol
        self.features = features
        self.candles = candles
        self.asOf = asOf
    }
}

/// What the gateway publishes on the market channel (topic `market`) whenever a symbol's
/// candles change: the symbol's whole window, newest last. Every feature worker subscribes and
/// keeps its features current from it, so every replica answers the same.
public struct MarketUpdate: Codable, Sendable {
    public var symbol: String
    /// The most candles the gateway holds per symbol.
    public var window: Int
    public var candles: [Candle]

    public init(symbol: String, window: Int, candles: [Candle]) {
        self.symbol = symbol
        self.window = window
        self.candles = candles
    }

    /// The topic frame of every market message.
    public static let topic: [UInt8] = Array("market".utf8)
}

public struct FeatureResult: Codable, Sendable {
    public var features: FeatureVector
    /// Latest close, when candles were available.
    public var price: Double?
    /// "given", "candles" or "mixed".
    public var source: String

    public init(features: FeatureVector, price: Double?, source: String) {
        self.features = features
        self.price = price
        self.source = source
    }
}

// MARK: model service

/// `model.<id>` / `predict`.
public struct PredictRequest: Codable, Sendable {
    public var features: FeatureVector
    public init(features: FeatureVector) { self.features = features }
}

/// A model bundle's predict: the same features for each of `modelIds`.
public struct PredictModelsRequest: Codable, Sendable {
    public var features: FeatureVector
    public var modelIds: [String]

    public init(features: FeatureVector, modelIds: [String]) {
        self.features = features
        self.modelIds = modelIds
    }
}

/// A model bundle's answer: one vote per model id asked, in the order asked.
public struct ModelVotes: Codable, Sendable, Equatable {
    public var votes: [ModelVote]

    public init(votes: [ModelVote]) { self.votes = votes }
}

/// One model's vote.
public struct ModelVote: Codable, Sendable, Equatable {
    public var modelId: String
    public var version: String
    public var probabilityUp: Double

    public init(modelId: String, version: String, probabilityUp: Double) {
        self.modelId = modelId
        self.version = version
        self.probabilityUp = probabilityUp
    }
}

// MARK: risk service

/// `risk` / `gate`: may a signal of this confidence trade now?
public struct GateRequest: Codable, Sendable {
    public var symbol: String
    public var side: Side
    public var confidence: Double

    public init(symbol: String, side: Side, confidence: Double) {
        self.symbol = symbol
        self.side = side
        self.confidence = confidence
    }
}

public struct GateResult: Codable, Sendable {
    public var allow: Bool
    public var reasons: [String]
    public var flags: RiskFlags

    public init(allow: Bool, reasons: [String], flags: RiskFlags) {
        self.allow = allow
        self.reasons = reasons
        self.flags = flags
    }
}

/// An order as the caller asks for it.
public struct OrderIntent: Codable, Sendable, Equatable {
    public var clientOrderId: String
    public var symbol: String
    public var side: Side
    /// Notional in quote currency, rounded to cents.
    public var qtyUsd: Decimal
    public var confidence: Double

    public init(clientOrderId: String, symbol: String, side: Side, qtyUsd: Decimal, confidence: Double) {
        self.clientOrderId = clientOrderId
        self.symbol = symbol
        self.side = side
        self.qtyUsd = qtyUsd
        self.confidence = confidence
    }
}

/// Where an order stands in the ledger.
public enum OrderStatus: String, Codable, Sendable {
    /// Written before execution was asked for; not yet known to be filled or not.
    case pending
    case filled
    case rejected
}

/// A fill: what was bought or sold, at what price, for what fee.
///
/// It cannot exist with a zero, negative or NaN quantity or price, or a negative or NaN notional
/// or fee: the initializer throws and decoding fails, so nothing downstream (average price,
/// cash, the ledger) ever divides by zero or stores NaN because of a fill.
public struct Fill: Codable, Sendable, Equatable {
    public private(set) var price: Decimal
    public private(set) var quantity: Decimal
    public private(set) var notional: Decimal
    /// The fee in USD (a paper fee, or a live commission paid in the quote asset).
    public private(set) var fee: Decimal
    /// A live commission charged in other assets (BNB, or the base asset), as the exchange
    /// charged it, by asset; nil when there is none. The risk worker converts it to USD at the
    /// mark when it books the fill, and keeps it apart from cash while no mark is known.
    public private(set) var commissions: [String: Decimal]?
    /// Set on a live sell that closed its position: the base quantity it left because the
    /// exchange cannot trade it (below the step or a minimum). The position keeps it as dust.
    public var dust: Decimal?
    public var dryRun: Bool
    /// Unix milliseconds.
    public var filledAt: Int64

    /// Throws `invalid_fill` (422) unless quantity and price are positive, notional, fee and
    /// every commission non-negative, none of them NaN, and each commission asset a plausible
    /// asset name (2 to 12 upper-case letters or digits).
    public init(
        price: Decimal,
        quantity: Decimal,
        notional: Decimal,
        fee: Decimal,
        commissions: [String: Decimal]? = nil,
        dryRun: Bool,
        filledAt: Int64
    ) throws(WireError) {
        for (name, value) in [("price", price), ("quantity", quantity)] where value.isNaN || value <= 0 {
            throw WireError(code: "invalid_fill", detail: "a fill's \(name) must be positive, not \(value)", status: 422)
        }
        for (name, value) in [("notional", notional), ("fee", fee)] where value.isNaN || value < 0 {
            throw WireError(code: "invalid_fill", detail: "a fill's \(name) must be zero or more, not \(value)", status: 422)
        }
        for (asset, amount) in commissions ?? [:] {
            guard (2...12).contains(asset.count), asset.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) }) else {
                throw WireError(code: "invalid_fill", detail: "a commission asset must be 2 to 12 upper-case letters or digits", status: 422)
            }
            guard !amount.isNaN, amount >= 0 else {
                throw WireError(code: "invalid_fill", detail: "a fill's commission in \(asset) must be zero or more, not \(amount)", status: 422)
            }
        }
        self.price = price
        self.quantity = quantity
        self.notional = notional
        self.fee = fee
        self.commissions = (commissions?.isEmpty ?? true) ? nil : commissions
        self.dryRun = dryRun
        self.filledAt = filledAt
    }

    private enum CodingKeys: String, CodingKey { case price, quantity, notional, fee, commissions, dust, dryRun, filledAt }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            price: try container.decode(Decimal.self, forKey: .price),
            quantity: try container.decode(Decimal.self, forKey: .quantity),
            notional: try container.decode(Decimal.self, forKey: .notional),
            fee: try container.decode(Decimal.self, forKey: .fee),
            commissions: try container.decodeIfPresent([String: Decimal].self, forKey: .commissions),
            dryRun: try container.decode(Bool.self, forKey: .dryRun),
            filledAt: try container.decode(Int64.self, forKey: .filledAt)
        )
        dust = try container.decodeIfPresent(Decimal.self, forKey: .dust)
    }
}

/// The price and costs an order was reserved under: a paper fill is computed from these alone,
/// so executing (or reconciling) the same order twice gives the identical fill.
public struct ExecutionTerms: Codable, Sendable, Equatable {
    /// The latest mark price when the order was reserved.
    public var markPrice: Decimal
    public var slippageBps: Decimal
    public var feeBps: Decimal
    /// For a symbol quoted in an asset that is not USD-like (`ETHBTC`): that asset's USD mark
    /// (`BTCUSDT`) at reservation. `markPrice` is in USD at this rate, a live order's quote amount
    /// is `qtyUsd` divided by it, and its fill is booked in USD at it. Nil for USD-like quotes.
    public var quoteMarkUsd: Decimal?
    /// For a live sell: the base quantity of the long position held at reservation, so that a
    /// sell that closes it (or would leave less than the exchange can trade) is sent as that
    /// quantity, rounded down to the step. Nil otherwise.
    public var heldQuantity: Decimal?

    public init(markPrice: Decimal, slippageBps: Decimal, feeBps: Decimal, quoteMarkUsd: Decimal? = nil, heldQuantity: Decimal? = nil) {
        self.markPrice = markPrice
        self.slippageBps = slippageBps
        self.feeBps = feeBps
        self.quoteMarkUsd = quoteMarkUsd
        self.heldQuantity = heldQuantity
    }
}

/// An order in the ledger.
public struct Order: Codable, Sendable, Equatable {
    public var intent: OrderIntent
    public var status: OrderStatus
    public var mode: TradingMode
    /// Unix milliseconds.
    public var createdAt: Int64
    public var terms: ExecutionTerms?
    public var fill: Fill?
    public var rejectReason: String?

    public init(
        intent: OrderIntent,
        status: OrderStatus,
        mode: TradingMode,
        createdAt: Int64,
        terms: ExecutionTerms? = nil,
        fill: Fill? = nil,
        rejectReason: String? = nil
    ) {
        self.intent = intent
        self.status = status
        self.mode = mode
        self.createdAt = createdAt
        self.terms = terms
        self.fill = fill
        self.rejectReason = rejectReason
    }
}

/// `risk` / `reserve`: pre-trade check; writes the order as pending under its client order id.
public struct ReserveRequest: Codable, Sendable, Equatable {
    public var intent: OrderIntent
    public var mode: TradingMode
    /// A price the caller gave and the operator allows (paper only): used when no mark is known.
    public var requestPrice: Decimal?

    public init(intent: OrderIntent, mode: TradingMode, requestPrice: Decimal? = nil) {
        self.intent = intent
        self.mode = mode
        self.requestPrice = requestPrice
    }
}

public struct ReserveResult: Codable, Sendable, Equatable {
    public var order: Order
    /// True when the client order id was already in the ledger: nothing new was reserved.
    public var duplicate: Bool
    public var flags: RiskFlags

    public init(order: Order, duplicate: Bool, flags: RiskFlags) {
        self.order = order
        self.duplicate = duplicate
        self.flags = flags
    }
}

/// `risk` / `settle`: the outcome of execution for a pending order.
public struct SettleRequest: Codable, Sendable, Equatable {
    public var clientOrderId: String
    public var fill: Fill?
    public var rejectReason: String?

    public init(clientOrderId: String, fill: Fill?, rejectReason: String?) {
        self.clientOrderId = clientOrderId
        self.fill = fill
        self.rejectReason = rejectReason
    }
}

public struct SettleResult: Codable, Sendable, Equatable {
    public var order: Order
    public var account: AccountSnapshot
    public var flags: RiskFlags

    public init(order: Order, account: AccountSnapshot, flags: RiskFlags) {
        self.order = order
        self.account = account
        self.flags = flags
    }
}

/// `risk` / `mark`: a new price for a symbol.
public struct MarkRequest: Codable, Sendable {
    public var symbol: String
    public var price: Decimal
    /// The newest candle's open time, Unix milliseconds.
    public var ts: Int64
    /// The candle interval, for the stale-data guard (absent: the guard does not see this mark).
    public var intervalMs: Int64?

    public init(symbol: String, price: Decimal, ts: Int64, intervalMs: Int64? = nil) {
        self.symbol = symbol
        self.price = price
        self.ts = ts
        self.intervalMs = intervalMs
    }
}

/// `risk` / `reset`, `halt`, `resume`: who asked, and why.
public struct OperatorAction: Codable, Sendable {
    public var requestedBy: String
    public var reason: String?

    public init(requestedBy: String, reason: String?) {
        self.requestedBy = requestedBy
        self.reason = reason
    }
}

/// A position in one symbol.
public struct PositionSnapshot: Codable, Sendable, Equatable {
    public var symbol: String
    public var quantity: Decimal
    public var averagePrice: Decimal
    public var markPrice: Decimal?
    public var realizedPnl: Decimal
    public var unrealizedPnl: Decimal
    /// Base quantity held that the exchange cannot trade (left by a closing sell, below its step
    /// or minimum): not part of `quantity`, still valued in equity. Nil when none.
    public var dust: Decimal?

    public init(
        symbol: String,
        quantity: Decimal,
        averagePrice: Decimal,
        markPrice: Decimal?,
        realizedPnl: Decimal,
        unrealizedPnl: Decimal,
        dust: Decimal? = nil
    ) {
        self.symbol = symbol
        self.quantity = quantity
        self.averagePrice = averagePrice
        self.markPrice = markPrice
        self.realizedPnl = realizedPnl
        self.unrealizedPnl = unrealizedPnl
        self.dust = dust
    }
}

/// The paper account, marked to the latest prices.
public struct AccountSnapshot: Codable, Sendable, Equatable {
    public var cash: Decimal
    public var equity: Decimal
    public var peakEquity: Decimal
    /// Fraction below peak, 0...1.
    public var drawdown: Double
    public var grossExposure: Decimal
    /// Equity lost since the start of the UTC day (0 when up).
    public var dailyLoss: Decimal
    public var realizedPnl: Decimal
    public var unrealizedPnl: Decimal
    public var pendingOrders: Int
    public var positions: [PositionSnapshot]
    /// Commissions charged in an asset whose USD price is not known yet (no `<ASSET>USDT` or
    /// other USD-quoted mark), by asset: owed, not yet taken from cash or equity. Nil when none.
    public var feesOwed: [String: Decimal]?

    public init(
        cash: Decimal,
        equity: Decimal,
        peakEquity: Decimal,
        drawdown: Double,
        grossExposure: Decimal,
        dailyLoss: Decimal = 0,
        realizedPnl: Decimal = 0,
        unrealizedPnl: Decimal = 0,
        pendingOrders: Int = 0,
        positions: [PositionSnapshot],
        feesOwed: [String: Decimal]? = nil
    ) {
        self.cash = cash
        self.equity = equity
        self.peakEquity = peakEquity
        self.drawdown = drawdown
        self.grossExposure = grossExposure
        self.dailyLoss = dailyLoss
        self.realizedPnl = realizedPnl
        self.unrealizedPnl = unrealizedPnl
        self.pendingOrders = pendingOrders
        self.positions = positions
        self.feesOwed = feesOwed
    }
}

/// `risk` / `status`: everything `/health` shows of risk.
public struct RiskStatus: Codable, Sendable {
    public var flags: RiskFlags
    /// The paper book.
    public var account: AccountSnapshot
    public var limits: RiskLimits
    /// The live book and its reconciliation with the exchange (absent from older risk workers).
    public var live: LiveBookStatus?

    public init(flags: RiskFlags, account: AccountSnapshot, limits: RiskLimits, live: LiveBookStatus? = nil) {
        self.flags = flags
        self.account = account
        self.limits = limits
        self.live = live
    }
}

/// The risk rules' parameters. Every one is configurable and shown under `/health` `config`.
public struct RiskLimits: Codable, Sendable, Equatable {
    public var confidenceThreshold: Double
    public var maxOrderNotionalUsd: Decimal
    public var maxPositionUsd: Decimal
    public var maxGrossExposureUsd: Decimal
    public var maxDailyLossUsd: Decimal
    public var maxDrawdown: Double
    public var maxOrdersPerMinute: Int
    /// Symbols that may trade; empty means every symbol.
    public var symbolAllowlist: [String]
    public var startingEquityUsd: Decimal
    public var slippageBps: Decimal
    public var feeBps: Decimal
    /// Live mode: the largest notional of one order.
    public var liveMaxOrderUsd: Decimal = 100
    /// Live mode: the most notional sent to the exchange per UTC day.
    public var liveMaxDailyUsd: Decimal = 1_000
    /// The smallest order notional (`order_too_small` below it).
    public var minOrderUsd: Decimal = 1
    /// What the drawdown brake does (`DRAWDOWN_ACTION`).
    public var drawdownAction: DrawdownAction = .lock
    /// The protections' parameters.
    public var protections = ProtectionSettings()
    /// The stale-data guard: a symbol whose newest candle is older than this many candle
    /// intervals takes no new order (`MAX_CANDLE_AGE`; 0 turns the guard off).
    public var maxCandleAge: Double = 3

    public init(
        confidenceThreshold: Double,
        maxOrderNotionalUsd: Decimal,
        maxPositionUsd: Decimal,
        maxGrossExposureUsd: Decimal = 1_000_000_000,
        maxDailyLossUsd: Decimal = 1_000_000_000,
        maxDrawdown: Double,
        maxOrdersPerMinute: Int = 1_000_000,
        symbolAllowlist: [String] = [],
        startingEquityUsd: Decimal,
        slippageBps: Decimal,
        feeBps: Decimal
    ) {
        self.confidenceThreshold = confidenceThreshold
        self.maxOrderNotionalUsd = maxOrderNotionalUsd
        self.maxPositionUsd = maxPositionUsd
        self.maxGrossExposureUsd = maxGrossExposureUsd
        self.maxDailyLossUsd = maxDailyLossUsd
        self.maxDrawdown = maxDrawdown
        self.maxOrdersPerMinute = maxOrdersPerMinute
        self.symbolAllowlist = symbolAllowlist
        self.startingEquityUsd = startingEquityUsd
        self.slippageBps = slippageBps
        self.feeBps = feeBps
    }
}

// MARK: execution service

/// `execution` / `execute`: fill a pending order (paper) or place it (live).
public struct ExecuteRequest: Codable, Sendable, Equatable {
    public var order: Order

    public init(order: Order) {
        self.order = order
    }
}

/// `execution` / `journal`: what became of a paper order, by client order id.
public struct JournalQuery: Codable, Sendable {
    public var clientOrderId: String
    /// Mark an order the journal does not hold as never to be executed (reconciliation).
    public var expireIfAbsent: Bool

    public init(clientOrderId: String, expireIfAbsent: Bool) {
        self.clientOrderId = clientOrderId
        self.expireIfAbsent = expireIfAbsent
    }
}

/// The journal's answer: `executed` (with its fill), `expired` (never executed, never will be)
/// or `absent`.
public struct JournalAnswer: Codable, Sendable {
    public var state: String
    public var fill: Fill?

    public init(state: String, fill: Fill?) {
        self.state = state
        self.fill = fill
    }
}

/// `execution` / `query`: what the exchange says of a live order.
public struct QueryResult: Codable, Sendable {
    /// `filled`, `absent` (proven: nothing traded) or `unknown` (pending, asked again).
    public var state: String
    public var fill: Fill?
    public var detail: String?

    public init(state: String, fill: Fill?, detail: String?) {
        self.state = state
        self.fill = fill
        self.detail = detail
    }
}

/// `risk` / `orders`: the latest orders, newest first.
public struct OrdersQuery: Codable, Sendable {
    public var limit: Int
    public var status: OrderStatus?

    public init(limit: Int, status: OrderStatus?) {
        self.limit = limit
        self.status = status
    }
}

/// `risk` / `order`: one order by client order id.
public struct OrderQuery: Codable, Sendable {
    public var clientOrderId: String

    public init(clientOrderId: String) {
        self.clientOrderId = clientOrderId
    }
}

public struct OrderList: Codable, Sendable {
    public var orders: [Order]

    public init(orders: [Order]) {
        self.orders = orders
    }
}
