import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TradingWire

/// `GET /api/v3/klines` on Binance spot REST, within the request weight: a request weighs 2
/// (Binance's spot documentation, whatever the `limit`, at most 1000 candles); the used weight
/// (`X-MBX-USED-WEIGHT-1M`) is read from each answer, and past `weightBudget` of Binance's 6000
/// a minute the next request waits for the next minute. A 429 or 418 waits `Retry-After`
/// seconds, as Binance asks.
public actor BinanceKlinesClient {
    /// Why klines could not be fetched.
    public struct Failure: Error, CustomStringConvertible {
        /// What kind of answer it was, for the caller to decide whether to try again.
        public enum Kind: Sendable, Equatable {
            /// 429 (too much weight) or 418 (the IP is banned): no request before `retryAfterSeconds`.
            case rateLimited(status: Int, retryAfterSeconds: Int)
            /// A 4xx with Binance's error body (`-1121 Invalid symbol.`, `-1120 Invalid interval.`):
            /// asking again gives the same answer.
            case refused(status: Int, code: Int?, message: String)
            /// A 5xx, or no answer at all: worth another try.
            case unavailable
            /// An answer that is not Binance's klines (`BinanceMarketParser` refused it).
            case malformed
        }

        public var kind: Kind
        public var description: String

        public init(kind: Kind, description: String) {
            self.kind = kind
            self.description = description
        }
    }

    /// Binance's documented request weight of one `GET /api/v3/klines`.
    public static let requestWeight = 2
    /// The most candles one request may ask for.
    public static let maxLimit = 1_000

    let client: HTTPClient
    let baseURL: String
    let parser: BinanceMarketParser
    let weightBudget: Int
    let logger: Logger
    private var usedWeight = 0
    private var notBefore: ContinuousClock.Instant?

    /// The used weight of the current minute, as the newest answer gave it.
    public var weightUsed: Int { usedWeight }

    public init(client: HTTPClient, baseURL: String, parser: BinanceMarketParser, weightBudget: Int = 4_800, logger: Logger) {
        self.client = client
        self.baseURL = baseURL
        self.parser = parser
        self.weightBudget = weightBudget
        self.logger = logger
    }

    /// The closed candles of `symbol` opening from `from` to `to` (inclusive), oldest first,
    /// fetched in pages of at most 1000. A page shorter than asked is not the end: the next page
    /// starts after its last candle, until a page brings nothing new or `to` is reached.
    public func closedCandles(symbol: String, from: Int64, to: Int64, now: @Sendable () -> Int64) async throws -> [Candle] {
        var out: [Candle] = []
        var start = from
        let step = parser.interval.milliseconds
        while start <= to {
            let wanted = Int((to - start) / step) + 1
            let limit = min(Self.maxLimit, wanted)
            let page = try await page(symbol: symbol, startTime: start, endTime: to + step - 1, limit: limit, now: now())
            let fresh = page.filter { $0.openTime >= start && $0.openTime <= to }
            guard let last = fresh.last else { break }
            out.append(contentsOf: fresh)
            start = last.openTime + step
        }
        return out
    }

    /// One request: the closed candles Binance answers for `startTime...endTime`, at most `limit`.
    public func page(symbol: String, startTime: Int64, endTime: Int64, limit: Int, now: Int64) async throws -> [Candle] {
        if let notBefore, notBefore > .now { try await Task.sleep(until: notBefore) }
        if usedWeight + Self.requestWeight > weightBudget {
            let wait = 60_000 - Int(now % 60_000) + 100
            logger.warning("klines: request weight near Binance's limit, waiting", metadata: ["used": "\(usedWeight)", "ms": "\(wait)"])
            try await Task.sleep(for: .milliseconds(wait))
            usedWeight = 0
        }
        let url =
            "\(baseURL)/api/v3/klines?symbol=\(symbol)&interval=\(parser.interval.name)&startTime=\(startTime)&endTime=\(endTime)&limit=\(limit)"
        let status: Int
        let body: ByteBuffer
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            body = try await response.body.collect(upTo: 2 << 20)
            status = Int(response.status.code)
            if let used = response.headers.first(name: "X-MBX-USED-WEIGHT-1M").flatMap(Int.init) {
                usedWeight = used
            } else {
                usedWeight += Self.requestWeight
            }
            if status == 429 || status == 418 {
                let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) ?? 60
                notBefore = .now + .seconds(max(1, min(seconds, 3_600)))
                throw Failure(
                    kind: .rateLimited(status: status, retryAfterSeconds: max(1, seconds)),
                    description: "klines: HTTP \(status)\(status == 418 ? " (the IP is banned)" : ""), retry after \(seconds) s"
                )
            }
        } catch let failure as Failure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Failure(kind: .unavailable, description: "klines: no answer from \(baseURL): \(error)")
        }
        guard status == 200 else {
            let text = String(buffer: body)
            guard (400..<500).contains(status) else {
                throw Failure(kind: .unavailable, description: "klines: HTTP \(status) \(text.prefix(200))")
            }
            let refusal = try? JSONDecoder().decode(BinanceRefusal.self, from: Data(text.utf8))
            let message = refusal.map { "\($0.code) \($0.msg.prefix(200))" } ?? String(text.prefix(200))
            throw Failure(
                kind: .refused(status: status, code: refusal?.code, message: refusal.map { String($0.msg.prefix(200)) } ?? String(text.prefix(200))),
                description: "klines: Binance refused the request (HTTP \(status)): \(message)"
            )
        }
        do {
            return try parser.klines(body.readableBytesView, symbol: symbol, now: now)
        } catch {
            throw Failure(kind: .malformed, description: "klines: the answer is not Binance's klines: \(error)")
        }
    }

    /// Binance's error body, `{"code": -1121, "msg": "Invalid symbol."}`.
    private struct BinanceRefusal: Decodable {
        var code: Int
        var msg: String
    }
}
