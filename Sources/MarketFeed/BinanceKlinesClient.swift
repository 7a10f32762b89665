import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TradingWire

/// `GET /api/v3/klines` on Binance spot REST, within the request weight: a request weighs 2 (up
/// to 500 candles) or 5 (up to 1000); the used weight (`X-MBX-USED-WEIGHT-1M`) is read from each
/// answer, and past `weightBudget` of Binance's 6000 a minute the next request waits for the
/// next minute. A 429 or 418 waits `Retry-After` seconds, as Binance asks.
public actor BinanceKlinesClient {
    /// Why klines could not be fetched.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let client: HTTPClient
    let baseURL: String
    let parser: BinanceMarketParser
    let weightBudget: Int
    let logger: Logger
    private var usedWeight = 0
    private var notBefore: ContinuousClock.Instant?

    public init(client: HTTPClient, baseURL: String, parser: BinanceMarketParser, weightBudget: Int = 4_800, logger: Logger) {
        self.client = client
        self.baseURL = baseURL
        self.parser = parser
        self.weightBudget = weightBudget
        self.logger = logger
    }

    /// The closed candles of `symbol` opening from `from` to `to` (inclusive), oldest first,
    /// fetched in pages of at most 1000.
    public func closedCandles(symbol: String, from: Int64, to: Int64, now: @Sendable () -> Int64) async throws -> [Candle] {
        var out: [Candle] = []
        var start = from
        let step = parser.interval.milliseconds
        while start <= to {
            let wanted = Int((to - start) / step) + 1
            let limit = min(1_000, wanted)
            let page = try await fetch(symbol: symbol, startTime: start, endTime: to + step - 1, limit: limit, now: now())
            out.append(contentsOf: page.filter { $0.openTime >= start && $0.openTime <= to })
            guard let last = page.last, last.openTime >= start, page.count >= limit else { break }
            start = last.openTime + step
        }
        return out
    }

    private func fetch(symbol: String, startTime: Int64, endTime: Int64, limit: Int, now: Int64) async throws -> [Candle] {
        if let notBefore, notBefore > .now { try await Task.sleep(until: notBefore) }
        let weight = limit <= 100 ? 1 : limit <= 500 ? 2 : limit <= 1_000 ? 5 : 10
        if usedWeight + weight > weightBudget {
            let wait = 60_000 - Int(now % 60_000) + 100
            logger.warning("klines: request weight near Binance's limit, waiting", metadata: ["used": "\(usedWeight)", "ms": "\(wait)"])
            try await Task.sleep(for: .milliseconds(wait))
            usedWeight = 0
        }
        let url =
            "\(baseURL)/api/v3/klines?symbol=\(symbol)&interval=\(parser.interval.name)&startTime=\(startTime)&endTime=\(endTime)&limit=\(limit)"
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 2 << 20)
        if let used = response.headers.first(name: "X-MBX-USED-WEIGHT-1M").flatMap(Int.init) { usedWeight = used } else { usedWeight += weight }
        let code = Int(response.status.code)
        if code == 429 || code == 418 {
            let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) ?? 60
            notBefore = .now + .seconds(max(1, min(seconds, 3_600)))
            throw Failure(description: "klines: HTTP \(code), retry after \(seconds) s")
        }
        guard code == 200 else { throw Failure(description: "klines: HTTP \(code) \(String(buffer: body).prefix(200))") }
        return try parser.klines(body.readableBytesView, symbol: symbol, now: now)
    }
}
