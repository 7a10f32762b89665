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
    /// The newest best bid and ask a feed reported, and its age (absent while none is known).
    var bid: Double?
    var ask: Double?
    var bookAgeMs: Int64?
}

/// `GET /api/market/status` body.
struct MarketStatusOutput: Encodable, Sendable {
    var maxCandleAge: Double?
    var symbols: [MarketSymbolStatus]
    var feeds: [MarketFeedStatus]
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
                symbol: symbol,
                intervalMs: market.clock(for: symbol)?.intervalMilliseconds,
                candles: Array(market.candles(for: symbol).suffix(limit))
            )
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
            let book = feedBoard.book(for: symbol)
            return MarketSymbolStatus(
                symbol: symbol,
                lastOpenTime: clock.newestOpenTime,
                ageMs: age,
                ageIntervals: Double(age) / Double(max(1, clock.intervalMilliseconds)),
                intervalMs: clock.intervalMilliseconds,
                held: market.candles(for: symbol).count,
                stale: stale,
                source: market.source(for: symbol) ?? "api",
                bid: book?.bid,
                ask: book?.ask,
                bookAgeMs: book.map { now - $0.at }
            )
        }
        return MarketStatusOutput(maxCandleAge: maxAge, symbols: symbols, feeds: feedStatuses(now: now))
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

/// One feed in `GET /api/market/status`: its report's fields (without the books, which are shown
/// per symbol) and `reportAgeMs`, milliseconds since it last reported.
struct MarketFeedStatus: Encodable, Sendable {
    var report: MarketFeedReport
    var reportAgeMs: Int64

    private enum Keys: String, CodingKey { case reportAgeMs }

    func encode(to encoder: any Encoder) throws {
        var shown = report
        shown.books = []
        try shown.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(reportAgeMs, forKey: .reportAgeMs)
    }
}

/// `POST /api/market/feeds` answer.
struct MarketFeedAck: Encodable, Sendable {
    var feed: String
    var books: Int
}

extension GatewayAPI {
    /// Checks a feed's report: what the OpenAPI document says, plus bid at most ask and a book
    /// time no later than a minute from now.
    static func validate(_ report: MarketFeedReport, now: Int64) throws(APIError) -> MarketFeedReport {
        func refuse(_ detail: String) -> APIError { APIError(.unprocessableContent, "invalid_feed_report", detail) }
        guard (1...64).contains(report.feed.utf8.count), report.feed.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw refuse("feed must be 1 to 64 visible ASCII characters")
        }
        guard ["binance", "replay", "none"].contains(report.source) else { throw refuse("source must be binance, replay or none") }
        let counts = [report.connected, report.connections, report.reconnects, report.gapCandles, report.refusedFrames]
        guard counts.allSatisfy({ (0...1_000_000_000).contains($0) }), report.connected <= report.connections else {
            throw refuse("connected, connections, reconnects, gapCandles and refusedFrames must be 0 to 1e9, connected at most connections")
        }
        guard report.messagesPerSecond.isFinite, (0...1_000_000).contains(report.messagesPerSecond) else {
            throw refuse("messagesPerSecond must be 0 to 1e6")
        }
        guard report.books.count <= 512 else { throw refuse("at most 512 books") }
        for (index, book) in report.books.enumerated() {
            _ = try InputValidation.symbol(book.symbol)
            let prices = [book.bid, book.ask]
            guard prices.allSatisfy({ $0.isFinite && $0 >= InputValidation.minimumPrice && $0 < 1e12 }), book.bid <= book.ask,
                book.at > 0, book.at <= now + 60_000
            else { throw refuse("book [\(index)]: bid and ask from 1e-8 to below 1e12, bid at most ask, at in Unix ms no later than a minute ahead") }
        }
        return report
    }

    /// The feeds' route, behind the same token as the candles.
    func registerFeedReports(on group: RouterGroup<GatewayRequestContext>) {
        group.post("api/market/feeds") { request, context in
            let input = try await request.decodeJSON(MarketFeedReport.self, limit: configuration.maxBodyBytes)
            let now = unixMilliseconds()
            let report = try Self.validate(input, now: now)
            feedBoard.record(report, now: now) { market.newestOpenTime(for: $0) != nil }
            return try jsonResponse(MarketFeedAck(feed: report.feed, books: report.books.count), requestID: context.requestID)
        }
    }

    /// The feeds as the status shows them.
    func feedStatuses(now: Int64) -> [MarketFeedStatus] {
        feedBoard.allFeeds().map { MarketFeedStatus(report: $0.report, reportAgeMs: now - $0.receivedAt) }
    }
}
