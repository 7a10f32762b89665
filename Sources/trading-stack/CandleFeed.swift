import Foundation
import TradingDomain
import TradingWire

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streams a candle CSV (`open_time,open,high,low,close,volume`) into a running gateway through
/// `POST /api/market/candles`: a warm-up batch first (enough for every feature), then one candle
/// per interval, so that prices, features, equity and drawdown move on a real series.
struct CandleFeed: Sendable {
    var gateway: String
    var file: String
    var symbol: String
    var intervalMilliseconds: Int
    var token: String?
    var warmUp = 50

    struct Candle: Codable {
        var openTime: Int64
        var open, high, low, close, volume: Double
    }

    struct FeedError: Error, CustomStringConvertible {
        var description: String
    }

    /// What a run did.
    struct Summary: Sendable {
        var total: Int
        var sent: Int
        var failed: Int
        var seconds: Double
        var rate: Double { seconds > 0 ? Double(sent) / seconds : 0 }
    }

    /// Posts every candle; `progress(sent, total, candles per second)` after each post.
    @discardableResult
    func run(log: @Sendable (String) -> Void, progress: ((Int, Int, Double) -> Void)? = nil) throws -> Summary {
        let started = Date()
        let candles = try Self.read(file)
        guard candles.count > warmUp else { throw FeedError(description: "\(file) has only \(candles.count) candles") }
        try waitForGateway(log: log)
        try post(Array(candles.prefix(warmUp)))
        log("price feed: \(file) as \(symbol), \(warmUp) candles warmed up, then one every \(intervalMilliseconds) ms")
        var failures = 0
        var summary = Summary(total: candles.count, sent: warmUp, failed: 0, seconds: 0)
        progress?(summary.sent, summary.total, 0)
        for candle in candles.dropFirst(warmUp) {
            usleep(useconds_t(intervalMilliseconds * 1000))
            do {
                try post([candle])
                failures = 0
                summary.sent += 1
            } catch {
                failures += 1
                summary.failed += 1
                if failures == 1 { log("price feed: post failed (\(error)); retrying with the next candle") }
            }
            summary.seconds = Date().timeIntervalSince(started)
            progress?(summary.sent + summary.failed, summary.total, summary.rate)
        }
        summary.seconds = Date().timeIntervalSince(started)
        log("price feed: \(file) finished; the last price stays in force")
        return summary
    }

    static func read(_ path: String) throws -> [Candle] {
        try readCandles(path).map { Candle(openTime: $0.openTime, open: $0.open, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume) }
    }

    /// The file's candles, read from its bytes (`CandleCSV`).
    static func readCandles(_ path: String) throws -> [TradingWire.Candle] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeedError(description: "cannot read \(path)")
        }
        do {
            return try CandleCSV.parse(data)
        } catch {
            throw FeedError(description: "\(path):\(error.line) is not open_time,open,high,low,close,volume")
        }
    }

    private func waitForGateway(log: @Sendable (String) -> Void) throws {
        for attempt in 0..<600 {
            if let (status, body) = try? request("GET", "/health", body: nil), status == 200,
                let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let risk = object["risk"] as? [String: Any], risk["known"] as? Bool == true
            {
                return
            }
            if attempt == 20 { log("price feed: waiting for the gateway and the risk worker") }
            usleep(250_000)
        }
        throw FeedError(description: "the gateway did not become ready")
    }

    private func post(_ batch: [Candle]) throws {
        struct Body: Encodable {
            var symbol: String
            var candles: [Candle]
        }
        let body = try JSONEncoder().encode(Body(symbol: symbol, candles: batch))
        let (status, answer) = try request("POST", "/api/market/candles", body: body)
        guard status == 200 else {
            throw FeedError(description: "HTTP \(status): \(String(decoding: answer, as: UTF8.self))")
        }
    }

    private func request(_ method: String, _ path: String, body: Data?) throws -> (Int, Data) {
        guard let url = URL(string: gateway + path) else { throw FeedError(description: "bad gateway URL \(gateway)") }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.set(data: data, status: (response as? HTTPURLResponse)?.statusCode, error: error)
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var status: Int?
    private var error: (any Error)?

    func set(data: Data?, status: Int?, error: (any Error)?) {
        lock.withLock {
            self.data = data
            self.status = status
            self.error = error
        }
    }

    func get() throws -> (Int, Data) {
        try lock.withLock {
            if let error { throw error }
            return (status ?? 0, data ?? Data())
        }
    }
}
