import HTTPTypes
import Hummingbird
import Metrics
import ServiceSupport
import TradingDomain
import TradingWire

/// `GET /api/market/candles` body: the held window, oldest first (newest last).
struct MarketCandlesOutput: Encodable, Sendable {
    var symbol: String
    var intervalMs: Int64?
    var candles: [Candle]
}

/// One symbol's market state in `GET /api/market/status` and `/health`.
struct MarketSymbolStatus: Encodable, Sendable {
    var symbol: String
    var lastOpenTime: Int64
    /// Milliseconds from the newest candle's open time to now.
    var ageMs: Int64
    /// The age in candle intervals; `MAX_CANDLE_AGE` refuses past it.
    var ageIntervals: Double
    var intervalMs: Int64
    var held: Int
    /// True when older than `MAX_CANDLE_AGE` intervals (consensus and execute refuse the symbol).
    var stale: Bool
    /// The feed that last added candles (`X-Market-Feed`), `api` without the header.
    var source: String
}

/// `GET /api/market/status` body.
struct MarketStatusOutput: Encodable, Sendable {
    var maxCandleAge: Double?
    var symbols: [MarketSymbolStatus]
}

extension GatewayAPI {
    /// The read-only market routes: the held window and the market state.
    func registerMarketRoutes(on router: Router<GatewayRequestContext>) {
        router.get("api/market/candles") { request, context in
            let parameters = request.uri.queryParameters
            guard let text = try InputValidation.single(parameters, "symbol") else {
                throw APIError(.unprocessableContent, "invalid_symbol", "symbol is required")
            }
            let symbol = try InputValidation.symbol(String(text))
            let limit = try InputValidation.integer(parameters, "limit", in: 1...10_000, default: market.windowSize)
            let output = MarketCandlesOutput(
                symbol: symbol, intervalMs: market.clock(for: symbol)?.intervalMilliseconds, candles: Array(market.candles(for: symbol).suffix(limit)))
            return try jsonResponse(output, requestID: context.requestID)
        }
        router.get("api/market/status") { _, context in
            try jsonResponse(marketStatus(), requestID: context.requestID)
        }
    }

    /// Per symbol held: the newest candle, its age, and whether the stale guard refuses it.
    func marketStatus(now: Int64 = unixMilliseconds()) -> MarketStatusOutput {
        let maxAge = control.riskStatus?.status.limits.maxCandleAge
        let symbols = market.symbols.compactMap { symbol -> MarketSymbolStatus? in
            guard let clock = market.clock(for: symbol) else { return nil }
            let age = now - clock.newestOpenTime
            let stale = StaleDataGuard.problem(symbol: symbol, clock: clock, maxAge: maxAge ?? 0, now: now) != nil
            return MarketSymbolStatus(
                symbol: symbol, lastOpenTime: clock.newestOpenTime, ageMs: age,
                ageIntervals: Double(age) / Double(max(1, clock.intervalMilliseconds)), intervalMs: clock.intervalMilliseconds,
                held: market.candles(for: symbol).count, stale: stale, source: market.source(for: symbol) ?? "api")
        }
        return MarketStatusOutput(maxCandleAge: maxAge, symbols: symbols)
    }

    /// `market_data_age_seconds{symbol}`: seconds since each held symbol's newest candle opened;
    /// `market_interval_seconds{symbol}`: its candle interval (the alert divides one by the other).
    func recordMarketGauges() {
        for status in marketStatus().symbols {
            Gauge(label: "market_data_age_seconds", dimensions: [("symbol", status.symbol)]).record(Double(status.ageMs) / 1_000)
            Gauge(label: "market_interval_seconds", dimensions: [("symbol", status.symbol)]).record(Double(status.intervalMs) / 1_000)
        }
    }
}

extension HTTPField.Name {
    /// The name a market feed gives itself on `POST /api/market/candles`.
    static let marketFeed = Self("X-Market-Feed")!
}

extension GatewayAPI {
    /// A feed's name as recorded: printable ASCII, at most 64 characters, `api` when absent.
    static func feedName(_ header: String?) -> String {
        guard let header, !header.isEmpty else { return "api" }
        return String(decoding: header.utf8.prefix(64).filter { (0x21...0x7E).contains($0) }, as: UTF8.self)
    }
}
