import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A stand-in for Binance's market data on loopback, written from Binance's documentation
/// ("WebSocket Streams": combined streams at `/stream?streams=a/b`, each event wrapped as
/// `{"stream": name, "data": payload}`, lower-case symbols, a kline event every second per
/// `<symbol>@kline_<interval>` with `"x": true` on the closing one, `<symbol>@bookTicker` with
/// `u`, `s`, `b`, `B`, `a`, `A`; a ping frame at a fixed period and a disconnect when it is not
/// answered; at most 1024 streams a connection. "Market Data endpoints": `GET /api/v3/klines`
/// with `symbol`, `interval`, `startTime`, `endTime`, `limit` (default 500, at most 1000), rows
/// `[openTime, "open", "high", "low", "close", "volume", closeTime, ...]` oldest first, the
/// current (still open) kline last; `X-MBX-USED-WEIGHT-1M` on each answer; `-1121 Invalid symbol.`).
///
/// Candles are a function of symbol and open time, so a test knows what every one must be.
/// Fault modes: drop the connection, skip candles, repeat or reorder klines, send unclosed
/// klines (always, between closes), go silent, send malformed and hostile frames, announce a
/// `serverShutdown` (documented: "a serverShutdown event will be sent when the server is about to
/// shutdown"; its shape as the WebSocket API's connection events give it).
final class FakeBinanceMarket: Sendable {
    /// What the streams do wrong next.
    struct Faults: Sendable {
        /// Close every open connection at the next tick.
        var drop = false
        /// Leave out this many closing klines (per symbol) from the streams.
        var skip = 0
        /// Send every closing kline twice, and the one before it again.
        var repeatKlines = false
        /// Hold each closing kline back and send it after the next one.
        var reorder = false
        /// Send nothing at all (no klines, no book), while true.
        var silent = false
        /// Send one round of malformed and hostile frames at the next tick.
        var malformed = false
        /// Announce a server shutdown at the next tick (the connection stays open).
        var serverShutdown = false
    }

    /// What the klines REST endpoint does wrong, by request number (1-based, counting every
    /// klines request), as Binance documents its failures: a 429 (`-1003` too much request
    /// weight) or 418 (the IP banned for sending after a 429) with `Retry-After`, a page shorter
    /// than the `limit` asked, a 5xx, a slow answer, an interval it does not serve (`-1120`).
    struct RESTFaults: Sendable {
        var rateLimitAt: Set<Int> = []
        var retryAfterSeconds = 1
        var shortPageAt: Set<Int> = []
        var serverErrorAt: Set<Int> = []
        var delayMilliseconds = 0
        var refusedIntervals: Set<String> = []
    }

    /// One klines request as it arrived.
    struct KlinesRequest: Sendable, Equatable {
        var symbol: String
        var interval: String
        var startTime: Int64?
        var endTime: Int64?
        var limit: Int
        var at: Int64
    }

    struct State {
        var faults = Faults()
        var rest = RESTFaults()
        var requests: [KlinesRequest] = []
        /// Weight used in the current minute, and which minute.
        var weight = 0
        var weightMinute: Int64 = 0
        /// No request is welcome before this (after a 429); one that comes is banned (418).
        var notBefore: Int64 = 0
        var earlyRequests = 0
        var connections = 0
        var open = 0
        var restRequests = 0
        /// When each closing kline was sent (open time to Unix ms), for latency.
        var sentAt: [Int64: Int64] = [:]
        var held: [String: Int64] = [:]
    }

    let port = freePort()
    let symbols: [String]
    /// The first open time each symbol has klines for (its listing): none before.
    let listedAt: Int64
    /// Open times with no kline at all (a trading halt): Binance leaves them out.
    let halted: Range<Int64>?
    let intervalMilliseconds: Int64 = 1_000
    let pingPeriod: Duration
    let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(symbols: [String], pingPeriod: Duration = .seconds(2), listedAt: Int64 = 0, halted: Range<Int64>? = nil) {
        self.symbols = symbols
        self.pingPeriod = pingPeriod
        self.listedAt = listedAt
        self.halted = halted
    }

    func restFaults(_ change: (inout RESTFaults) -> Void) { state.withLock { change(&$0.rest) } }
    var klinesRequests: [KlinesRequest] { state.withLock { $0.requests } }

    /// Binance's spot kline intervals and their lengths ("Kline/Candlestick data": `1s`; `1m`,
    /// `3m`, `5m`, `15m`, `30m`; `1h` ... `12h`; `1d`, `3d`; `1w`; `1M`, not served here). Weekly
    /// klines open on Mondays, 00:00 UTC.
    static let intervals: [String: Int64] = [
        "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
        "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
        "3d": 259_200_000, "1w": 604_800_000,
    ]

    var wsURL: String { "ws://127.0.0.1:\(port)" }
    var restURL: String { "http://127.0.0.1:\(port)" }

    func faults(_ change: (inout Faults) -> Void) { state.withLock { change(&$0.faults) } }
    var connections: Int { state.withLock { $0.connections } }

    /// The candle that opened at `openTime` for `symbol`, as every answer gives it.
    func candle(_ symbol: String, _ openTime: Int64) -> (open: Double, high: Double, low: Double, close: Double, volume: Double) {
        let base = 100 + Double((symbols.firstIndex(of: symbol) ?? 0) * 10)
        let step = Double((openTime / 1_000) % 97)
        let close = base + step * 0.01
        let open = close - 0.005
        return (open, close + 0.01, open - 0.01, close, 1 + Double((openTime / 1_000) % 7))
    }

    func start() async throws {
        let router = Router()
        router.get("/api/v3/klines") { request, _ in await self.klines(request) }
        router.get("/api/v3/ping") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}"))) }
        let server = HTTPServerBuilder.http1WebSocketUpgrade(
            configuration: .init(ws: .init(maxFrameSize: 16 << 20, autoPing: .enabled(timePeriod: pingPeriod)))
        ) { request, _, _ in
            guard request.path?.hasPrefix("/stream") == true, let streams = Self.streams(request.path ?? "") else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in try await self.serve(streams, inbound: inbound, outbound: outbound) }
        }
        let app = Application(router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: "\(restURL)/api/v3/ping")!)) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() { task.withLock { $0?.cancel() } }

    static func streams(_ path: String) -> [String]? {
        guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("streams=") {
            return pair.dropFirst("streams=".count).split(separator: "/").map(String.init)
        }
        return nil
    }

    // MARK: WebSocket streams

    private func serve(_ streams: [String], inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        guard streams.count <= 1_024 else { return }
        state.withLock {
            $0.connections += 1
            $0.open += 1
            $0.faults.drop = false
        }
        defer { state.withLock { $0.open -= 1 } }
        let klineSymbols = symbols.filter { streams.contains("\($0.lowercased())@kline_1s") }
        let bookSymbols = symbols.filter { streams.contains("\($0.lowercased())@bookTicker") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for try await _ in inbound {} }
            group.addTask { try await self.pump(klineSymbols, bookSymbols, outbound) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func pump(_ klineSymbols: [String], _ bookSymbols: [String], _ outbound: WebSocketOutboundWriter) async throws {
        var heldBack: [String: Int64] = [:]
        while true {
            let now = Self.now()
            let boundary = (now / intervalMilliseconds + 1) * intervalMilliseconds
            // Half a tick: an unclosed kline of the current interval.
            try await Task.sleep(for: .milliseconds(boundary - now - intervalMilliseconds / 2 > 0 ? boundary - now - intervalMilliseconds / 2 : 0))
            var faults = state.withLock { $0.faults }
            if faults.drop { return }
            if !faults.silent {
                for symbol in klineSymbols { try await outbound.writeTextMessage(kline(symbol, boundary - intervalMilliseconds, closed: false)) }
            }
            try await Task.sleep(for: .milliseconds(max(0, boundary + 20 - Self.now())))
            faults = state.withLock { $0.faults }
            if faults.drop { return }
            if faults.silent { continue }
            let closing = boundary - intervalMilliseconds
            if faults.serverShutdown {
                state.withLock { $0.faults.serverShutdown = false }
                try await outbound.writeTextMessage(#"{"e":"serverShutdown","E":\#(Self.now())}"#)
            }
            if faults.malformed {
                state.withLock { $0.faults.malformed = false }
                for frame in hostileFrames(closing) { try await outbound.writeTextMessage(frame) }
            }
            let skipping = faults.skip > 0
            if skipping { state.withLock { $0.faults.skip -= 1 } }
            for symbol in klineSymbols where !skipping {
                state.withLock { $0.sentAt[closing] = $0.sentAt[closing] ?? Self.now() }
                if faults.reorder {
                    if let previous = heldBack[symbol] {
                        try await outbound.writeTextMessage(kline(symbol, closing, closed: true))
                        try await outbound.writeTextMessage(kline(symbol, previous, closed: true))
                        heldBack[symbol] = nil
                    } else {
                        heldBack[symbol] = closing
                    }
                    continue
                }
                try await outbound.writeTextMessage(kline(symbol, closing, closed: true))
                if faults.repeatKlines {
                    try await outbound.writeTextMessage(kline(symbol, closing, closed: true))
                    try await outbound.writeTextMessage(kline(symbol, closing - intervalMilliseconds, closed: true))
                }
            }
            for symbol in bookSymbols {
                let close = candle(symbol, closing).close
                try await outbound.writeTextMessage(book(symbol, bid: close - 0.01, ask: close + 0.01, id: closing / 1_000))
            }
        }
    }

    func kline(_ symbol: String, _ openTime: Int64, closed: Bool, interval: String = "1s", fields: [String: String] = [:]) -> String {
        let c = candle(symbol, openTime)
        func f(_ key: String, _ value: Double) -> String { fields[key] ?? "\"\(String(format: "%.8f", value))\"" }
        return """
            {"stream":"\(symbol.lowercased())@kline_\(interval)","data":{"e":"kline","E":\(Self.now()),"s":"\(symbol)","k":{"t":\(openTime),\
            "T":\(openTime + intervalMilliseconds - 1),"s":"\(symbol)","i":"\(interval)","f":1,"L":2,"o":\(f("o", c.open)),"c":\(f("c", c.close)),\
            "h":\(f("h", c.high)),"l":\(f("l", c.low)),"v":\(f("v", c.volume)),"n":2,"x":\(closed),"q":"1.0","V":"0.5","Q":"0.5","B":"0"}}}
            """
    }

    func book(_ symbol: String, bid: Double, ask: Double, id: Int64) -> String {
        """
        {"stream":"\(symbol.lowercased())@bookTicker","data":{"u":\(id),"s":"\(symbol)","b":"\(String(format: "%.8f", bid))","B":"1.0",\
        "a":"\(String(format: "%.8f", ask))","A":"1.0"}}
        """
    }

    /// Each must be refused and counted by the feed, never a candle.
    func hostileFrames(_ openTime: Int64) -> [String] {
        let symbol = symbols[0]
        return [
            "{not json",
            kline(symbol, openTime, closed: true, fields: ["c": "\"abc\""]),
            kline(symbol, openTime, closed: true, fields: ["c": "\"NaN\""]),
            kline(symbol, openTime, closed: true, fields: ["c": "123.4"]),
            kline(symbol, openTime, closed: true, fields: ["v": "\"-5\""]),
            kline(symbol, openTime + 3_600_000, closed: true),
            kline("DOGEUSDT", openTime, closed: true),
            #"{"stream":"\#(symbol.lowercased())@kline_1s","data":{"e":"kline","s":"\#(symbol)","k":{"t":"soon"}}}"#,
            String(repeating: "x", count: 10 << 20),
        ]
    }

    // MARK: REST

    /// Binance's error body, `{"code": -1121, "msg": "Invalid symbol."}`.
    private static func refusal(_ status: HTTPResponse.Status, _ code: Int, _ message: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"code":\#(code),"msg":"\#(message)"}"#))
        )
    }

    /// `GET /api/v3/klines` ("Market Data endpoints"): weight 2; `limit` default 500, at most
    /// 1000; klines opening from `startTime` (or the newest `limit`) to `endTime`, oldest first,
    /// the current one still open last; `X-MBX-USED-WEIGHT-1M` the weight used this minute.
    private func klines(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        let now = Self.now()
        let limit = query["limit"].flatMap { Int(String($0)) } ?? 500
        let (number, faults, early, weight) = state.withLock { state -> (Int, RESTFaults, Bool, Int) in
            state.restRequests += 1
            state.requests.append(
                KlinesRequest(
                    symbol: query["symbol"].map(String.init) ?? "",
                    interval: query["interval"].map(String.init) ?? "",
                    startTime: query["startTime"].flatMap { Int64(String($0)) },
                    endTime: query["endTime"].flatMap { Int64(String($0)) },
                    limit: limit,
                    at: now
                )
            )
            if now / 60_000 != state.weightMinute {
                state.weightMinute = now / 60_000
                state.weight = 0
            }
            state.weight += 2
            let early = now < state.notBefore
            if early { state.earlyRequests += 1 }
            return (state.requests.count, state.rest, early, state.weight)
        }
        if faults.delayMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(faults.delayMilliseconds)) }
        let weightHeader = HTTPField.Name("X-MBX-USED-WEIGHT-1M")!
        if early || faults.rateLimitAt.contains(number) {
            // 429 first; a request sent before its Retry-After passed gets the ban, 418.
            state.withLock { $0.notBefore = now + Int64(faults.retryAfterSeconds) * 1_000 }
            let status: HTTPResponse.Status = early ? .init(code: 418) : .tooManyRequests
            return Response(
                status: status,
                headers: [.contentType: "application/json", .retryAfter: "\(faults.retryAfterSeconds)", weightHeader: "\(weight)"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: early
                            ? #"{"code":-1003,"msg":"Way too much request weight used; IP banned until \#(now + 1_000)."}"#
                            : #"{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}"#
                    )
                )
            )
        }
        if faults.serverErrorAt.contains(number) {
            return Self.refusal(.internalServerError, -1000, "An unknown error occurred while processing the request.")
        }
        guard let symbol = query["symbol"].map(String.init), symbols.contains(symbol) else {
            return Self.refusal(.badRequest, -1121, "Invalid symbol.")
        }
        guard let name = query["interval"].map(String.init), let step = Self.intervals[name], !faults.refusedIntervals.contains(name) else {
            return Self.refusal(.badRequest, -1120, "Invalid interval.")
        }
        guard (1...1_000).contains(limit) else {
            return Self.refusal(.badRequest, -1130, "Invalid data sent for a parameter.")
        }
        let offset: Int64 = name == "1w" ? 345_600_000 : 0
        let end = min(query["endTime"].flatMap { Int64(String($0)) } ?? now, now)
        var start = max(query["startTime"].flatMap { Int64(String($0)) } ?? (end - Int64(limit) * step), listedAt)
        start = (start - offset + step - 1) / step * step + offset
        let count = faults.shortPageAt.contains(number) ? max(1, limit / 3) : limit
        var rows: [String] = []
        var openTime = start
        while openTime <= end, rows.count < count {
            defer { openTime += step }
            if let halted, halted.contains(openTime) { continue }
            let c = candle(symbol, openTime)
            let p = { (value: Double) in "\"\(String(format: "%.8f", value))\"" }
            rows.append(
                "[\(openTime),\(p(c.open)),\(p(c.high)),\(p(c.low)),\(p(c.close)),\(p(c.volume)),"
                    + "\(openTime + step - 1),\"1.0\",2,\"0.5\",\"0.5\",\"0\"]"
            )
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", weightHeader: "\(weight)"],
            body: .init(byteBuffer: ByteBuffer(string: "[\(rows.joined(separator: ","))]"))
        )
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
