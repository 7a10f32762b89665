import Foundation
import TradingWire

/// `GET /health` answer.
struct HealthOutput: Encodable, Sendable {
    var ok: Bool
    var service: String
    var tradingMode: TradingMode
    var problems: [String]
    var uptimeSeconds: Int
    var config: HealthConfig
    var risk: HealthRisk
    var control: ControlState?
    var workers: [String: Int]
    var models: [String]
    /// Per model id: the versions serving and the canary routing.
    var modelVersions: [ModelDirectory.Entry]
    /// Live mode: the exchange's clock and the unresolved live orders.
    var liveOrders: LiveOrderHealth?
    /// Per symbol held: the newest candle and its age (`GET /api/market/status`).
    var market: [MarketSymbolStatus]
}

struct ModelList: Encodable, Sendable {
    var models: [ModelDirectory.Entry]
}

/// `POST /api/models/{id}/canary` body.
struct CanaryInput: Decodable, Sendable {
    var mode: String
    var share: Double?
}

/// `/health` `config`: every risk parameter and the gateway's own settings.
struct HealthConfig: Encodable, Sendable {
    var confidenceThreshold: Double?
    var maxOrderNotionalUsd: Decimal?
    var maxPositionUsd: Decimal?
    var maxGrossExposureUsd: Decimal?
    var maxDailyLossUsd: Decimal?
    var maxDrawdown: Double?
    var maxOrdersPerMinute: Int?
    var symbolAllowlist: [String]?
    var startingEquityUsd: Decimal?
    var slippageBps: Decimal?
    var feeBps: Decimal?
    var consensusQuorum: Int
    var consensusMinAgreement: Double
    var modelIds: [String]
    var requestTimeoutMs: Int
    var heartbeatIntervalMs: Int
    var heartbeatLiveness: Int
    var authRequired: Bool
    var allowRequestPrice: Bool
    var maxPriceDeviationBps: Int
    /// `BOOK_TICKER_MAX_AGE_MS`: a Binance feed's book this fresh is a paper fill's price and a
    /// market order's expected price for the collar (0: never).
    var bookTickerMaxAgeMs: Int
    var drawdownAction: DrawdownAction?
    var maxCandleAge: Double?
    var protections: ProtectionSettings?
}

/// `/health` `risk`.
struct HealthRisk: Encodable, Sendable {
    var known: Bool
    var drawdown: Double?
    var equity: Decimal?
    var peakEquity: Decimal?
    var cash: Decimal?
    var grossExposure: Decimal?
    var dailyLoss: Decimal?
    var realizedPnl: Decimal?
    var unrealizedPnl: Decimal?
    var pendingOrders: Int?
    var locked: Bool?
    var lockReason: String?
    var halted: Bool?
    var haltReason: String?
    var statusAgeMs: Int64?
    var tradingState: TradingState?
    var stateReason: String?
    /// The protection locks in force.
    var locks: [ProtectionLock]?
    /// Which book the figures are of (`?book=paper|live`, by default the trading mode's).
    var book: Book = .paper
    /// The live book's reconciliation with the exchange's account.
    var reconciliation: Reconciliation?
}

/// `POST /api/market/candles` body.
struct CandlesInput: Decodable, Sendable {
    var symbol: String
    var candles: [Candle]
}

struct CandlesOutput: Encodable, Sendable {
    var requestId: String
    var symbol: String
    var added: Int
    var held: Int
    var price: Decimal
    var drawdown: Double
    var riskLocked: Bool
}

/// Body of reset, halt and resume (all fields optional; an empty body is fine).
struct OperatorInput: Decodable, Sendable {
    var reason: String?
    var requestedBy: String?
}

/// `POST /api/risk/state` body.
struct StateInput: Decodable, Sendable {
    var state: String
    var reason: String?
    var requestedBy: String?

    var operatorInput: OperatorInput { OperatorInput(reason: reason, requestedBy: requestedBy) }
}

struct OperatorOutput: Encodable, Sendable {
    var requestId: String
    var ok: Bool
    var action: String
    var halted: Bool
    var haltReason: String?
    var riskLocked: Bool
    var lockReason: String?
    var drawdown: Double?
    /// False when a halt is in force on the control channel but the risk worker has not recorded
    /// it yet (answered 202); the gateway holds it until the risk worker does.
    var persisted: Bool = true
    var tradingState: TradingState?
    var stateReason: String?
}
