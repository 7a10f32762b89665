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

    struct State {
        var faults = Faults()
        var connections = 0
        var open = 0
        var restRequests = 0
        /// When each closing kline was sent (open time to Unix ms), for latency.
        var sentAt: [Int64: Int64] = [:]
        var held: [String: Int64] = [:]
    }

    let port = freePort()
    let symbols: [String]
    let intervalMilliseconds: Int64 = 1_000
    let pingPeriod: Duration
    let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(symbols: [String], pingPeriod: Duration = .seconds(2)) {
        self.symbols = symbols
        self.pingPeriod = pingPeriod
    }

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
        router.get("/api/v3/klines") { request, _ in self.klines(request) }
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

    private func klines(_ request: Request) -> Response {
        state.withLock { $0.restRequests += 1 }
        let query = request.uri.queryParameters
        guard let symbol = query["symbol"].map(String.init), symbols.contains(symbol) else {
            return Self.refusal(.badRequest, -1121, "Invalid symbol.")
        }
        guard query["interval"] == "1s" else { return Self.refusal(.badRequest, -1120, "Invalid interval.") }
        let limit = query["limit"].flatMap { Int(String($0)) } ?? 500
        guard (1...1_000).contains(limit) else {
            return Self.refusal(.badRequest, -1130, "Invalid data sent for a parameter.")
        }
        let now = Self.now()
        let end = min(query["endTime"].flatMap { Int64(String($0)) } ?? now, now)
        var start = query["startTime"].flatMap { Int64(String($0)) } ?? (end - Int64(limit) * intervalMilliseconds)
        start = (start + intervalMilliseconds - 1) / intervalMilliseconds * intervalMilliseconds
        var rows: [String] = []
        var openTime = start
        while openTime <= end, rows.count < limit {
            let c = candle(symbol, openTime)
            let p = { (value: Double) in "\"\(String(format: "%.8f", value))\"" }
            rows.append(
                "[\(openTime),\(p(c.open)),\(p(c.high)),\(p(c.low)),\(p(c.close)),\(p(c.volume)),"
                    + "\(openTime + intervalMilliseconds - 1),\"1.0\",2,\"0.5\",\"0.5\",\"0\"]"
            )
            openTime += intervalMilliseconds
        }
        let weight = limit <= 100 ? 1 : limit <= 500 ? 2 : 5
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", HTTPField.Name("X-MBX-USED-WEIGHT-1M")!: "\(weight)"],
            body: .init(byteBuffer: ByteBuffer(string: "[\(rows.joined(separator: ","))]"))
        )
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
