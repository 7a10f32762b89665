import Foundation
import Testing

/// Trading states, protection locks and the stale-data guard, against real processes.
@Suite("protections against the real stack", .serialized)
struct ProtectionsStackTests {
    static let token = "protect-token-7c1"
    static let interval: Int64 = 300_000

    /// `count` candles at `close`, five minutes apart, the newest opened `ageIntervals` intervals ago.
    static func candles(_ closes: [Double], newestAgo ageIntervals: Int64 = 1) -> [[String: Any]] {
        let newest = (Int64(Date().timeIntervalSince1970 * 1000) / interval - ageIntervals) * interval
        return closes.enumerated().map { index, close in
            [
                "openTime": newest - Int64(closes.count - 1 - index) * interval, "open": close, "high": close, "low": close, "close": close,
                "volume": 1.0,
            ]
        }
    }

    static let buyFeatures = #"{"symbol": "BTCUSDT", "features": {"mom_20": 3.0, "rv_5": 0.5, "rsi_14": 30.0}}"#

    @Test("REDUCING (token-protected, persisted, in /health and on the control channel) refuses growing with 423 reducing_only")
    func tradingStates() async throws {
        let stack = try Stack(["API_TOKEN": Self.token, "MAX_CANDLE_AGE": "3"])
        stack.token = Self.token
        try await stack.startAll()
        #expect(
            try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Self.candles(Array(repeating: 100, count: 30))]).status
                == 200
        )
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9}"#).status == 200)

        stack.token = nil
        #expect(try await stack.post("/api/risk/state", #"{"state": "REDUCING"}"#).status == 401)
        stack.token = Self.token
        let invalid = try await stack.post("/api/risk/state", #"{"state": "SLEEPING"}"#)
        #expect(invalid.status == 422)
        #expect(invalid.json["error"] as? String == "invalid_state")
        #expect(try await stack.post("/api/risk/state", #"{"reason": "no state"}"#).status == 400)

        let reducing = try await stack.post("/api/risk/state", #"{"state": "REDUCING", "reason": "end of day"}"#)
        #expect(reducing.status == 200)
        #expect(reducing.json["tradingState"] as? String == "REDUCING")
        #expect(reducing.json["stateReason"] as? String == "end of day")
        let health = try await stack.get("/health").json
        #expect((health["risk"] as? [String: Any])?["tradingState"] as? String == "REDUCING")
        #expect((health["control"] as? [String: Any])?["tradingState"] as? String == "REDUCING")

        let grow = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(grow.status == 423)
        #expect(grow.json["error"] as? String == "reducing_only")
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 300, "confidence": 0.9}"#).status == 200)

        // Persisted: a restarted risk worker is still REDUCING.
        stack.kill("risk-worker")
        try stack.start("risk-worker")
        try await waitUntil("the risk worker is back") { try await stack.get("/health").json["ok"] as? Bool == true }
        #expect(
            try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#).json["error"]
                as? String == "reducing_only"
        )

        // The same through tradectl.
        let tradectl = Stack.binaryDirectory.appendingPathComponent("tradectl").path
        let url = ["--url", "http://127.0.0.1:\(stack.httpPort)", "--token", Self.token]
        let viaCLI = try runTool(tradectl, ["risk", "state", "active", "--reason", "cli"] + url, environment: [:])
        #expect(viaCLI.status == 0 && viaCLI.output.contains("ACTIVE"), "\(viaCLI.output)")
        let locks = try runTool(tradectl, ["risk", "locks"] + url, environment: [:])
        #expect(locks.status == 0 && locks.output.contains("locks"), "\(locks.output)")

        let active = try await stack.post("/api/risk/state", #"{"state": "active"}"#)
        #expect(active.json["tradingState"] as? String == "ACTIVE")
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#).status == 200)
        let halted = try await stack.post("/api/risk/state", #"{"state": "HALTED", "reason": "maintenance"}"#)
        #expect(halted.json["tradingState"] as? String == "HALTED")
        #expect(halted.json["halted"] as? Bool == true)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 100, "confidence": 0.9}"#).status == 423)
    }

    @Test("a losing trade sets a cooldown lock: listed, named by refusals and consensus, deleted by an operator")
    func cooldownLock() async throws {
        let stack = try Stack(["API_TOKEN": Self.token, "COOLDOWN_MINUTES": "30", "MAX_CANDLE_AGE": "3"])
        stack.token = Self.token
        try await stack.startAll()
        let fed = Self.candles(Array(repeating: 100, count: 29) + [90], newestAgo: 0)
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Array(fed.dropLast())]).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9}"#).status == 200)
        #expect((try await stack.get("/api/locks").json["locks"] as? [Any])?.isEmpty == true)
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Array(fed.suffix(1))]).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 800, "confidence": 0.9}"#).status == 200)

        let locks = try #require(try await stack.get("/api/locks").json["locks"] as? [[String: Any]])
        #expect(locks.count == 1)
        let lock = try #require(locks.first)
        let id = try #require(lock["id"] as? String)
        #expect(lock["rule"] as? String == "cooldown")
        #expect(lock["symbol"] as? String == "BTCUSDT")

        let refused = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "symbol_locked")
        #expect((refused.json["detail"] as? String)?.contains(id) == true)
        let consensus = try await stack.post("/api/ai/consensus", Self.buyFeatures)
        #expect(consensus.json["side"] as? String == "buy")
        #expect(consensus.json["allow"] as? Bool == false)
        #expect((consensus.json["reasons"] as? [String])?.contains { $0.contains("symbol_locked") && $0.contains(id) } == true)
        let health = try await stack.get("/health").json
        #expect(((health["risk"] as? [String: Any])?["locks"] as? [Any])?.count == 1)

        stack.token = nil
        #expect(try await stack.request("DELETE", "/api/locks/\(id)", body: nil).status == 401)
        stack.token = Self.token
        #expect(try await stack.request("DELETE", "/api/locks/no-such-lock", body: nil).status == 404)
        #expect(try await stack.request("DELETE", "/api/locks/bad%20id", body: nil).status == 422)
        let deleted = try await stack.request("DELETE", "/api/locks/\(id)", body: nil)
        #expect(deleted.status == 200)
        #expect((deleted.json["removed"] as? [String: Any])?["id"] as? String == id)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#).status == 200)
    }

    @Test("a new protection lock and every trading-state change are posted once each; tradectl risk unlock ends the lock")
    func lockNotificationsAndUnlock() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try Stack([
            "API_TOKEN": Self.token, "COOLDOWN_MINUTES": "30", "MAX_CANDLE_AGE": "3", "NOTIFY_WEBHOOK_URL": receiver.url("json"),
            "NOTIFY_BACKOFF_MS": "20",
        ])
        stack.token = Self.token
        try await stack.startAll()
        let events: @Sendable (String) -> [[String: Any]] = { name in receiver.received("json").filter { $0["event"] as? String == name } }
        let fed = Self.candles(Array(repeating: 100, count: 29) + [90], newestAgo: 0)
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Array(fed.dropLast())]).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9}"#).status == 200)
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Array(fed.suffix(1))]).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 800, "confidence": 0.9}"#).status == 200)
        let lock = try #require((try await stack.get("/api/locks").json["locks"] as? [[String: Any]])?.first)
        let id = try #require(lock["id"] as? String)
        try await waitUntil("the lock is posted") { !events("protection_lock").isEmpty }
        let posted = try #require(events("protection_lock").first)
        let details = posted["details"] as? [String: String] ?? [:]
        #expect(details["id"] == id && details["symbol"] == "BTCUSDT" && details["rule"] == "cooldown")
        #expect(details["reason"] == lock["reason"] as? String)
        #expect(details["until"]?.hasSuffix("Z") == true)
        #expect((posted["text"] as? String)?.contains("BTCUSDT locked by cooldown until \(details["until"] ?? "?")") == true, "\(posted)")

        #expect(try await stack.post("/api/risk/state", #"{"state": "REDUCING", "reason": "end of day"}"#).status == 200)
        try await waitUntil("REDUCING is posted") { !events("trading_state").isEmpty }
        let reducing = events("trading_state").first?["details"] as? [String: String] ?? [:]
        #expect(reducing["state"] == "REDUCING" && reducing["previousState"] == "ACTIVE" && reducing["reason"] == "end of day")
        #expect(try await stack.post("/api/risk/state", #"{"state": "ACTIVE"}"#).status == 200)
        try await waitUntil("ACTIVE is posted") { events("trading_state").count == 2 }
        #expect((events("trading_state").last?["details"] as? [String: String])?["state"] == "ACTIVE")
        #expect(try await stack.post("/api/risk/state", #"{"state": "HALTED", "reason": "maintenance"}"#).status == 200)
        try await waitUntil("HALTED is posted") { !events("halt").isEmpty }
        let halt = events("halt").first?["details"] as? [String: String] ?? [:]
        #expect(halt["state"] == "HALTED" && halt["previousState"] == "ACTIVE" && halt["reason"] == "maintenance")

        // Through tradectl: an unknown id is the API's error and exit 1; the token is needed.
        let tradectl = Stack.binaryDirectory.appendingPathComponent("tradectl").path
        let url = ["--url", "http://127.0.0.1:\(stack.httpPort)"]
        let unknown = try runTool(tradectl, ["risk", "unlock", "no-such-lock", "--token", Self.token] + url, environment: [:])
        #expect(unknown.status == 1 && unknown.output.contains("HTTP 404 unknown_lock"), "\(unknown.output)")
        let unknownJSON = try runTool(tradectl, ["risk", "unlock", "no-such-lock", "--json", "--token", Self.token] + url, environment: [:])
        #expect(unknownJSON.status == 1 && unknownJSON.output.contains(#""error":"unknown_lock""#), "\(unknownJSON.output)")
        let noToken = try runTool(tradectl, ["risk", "unlock", id] + url, environment: [:])
        #expect(noToken.status == 1 && noToken.output.contains("HTTP 401"), "\(noToken.output)")
        let unlocked = try runTool(tradectl, ["risk", "unlock", id, "--token", Self.token] + url, environment: [:])
        #expect(unlocked.status == 0 && unlocked.output.contains("lock \(id) deleted (cooldown on BTCUSDT)"), "\(unlocked.output)")
        #expect((try await stack.get("/api/locks").json["locks"] as? [Any])?.isEmpty == true)

        // Status polls (every 200 ms) and further replies repeat nothing.
        try await Task.sleep(for: .seconds(1))
        #expect(events("protection_lock").count == 1)
        #expect(events("trading_state").count == 2)
        #expect(events("halt").count == 1)
    }

    @Test("stale data: no order and no consensus (409 stale_market_data naming the age) for a symbol whose newest candle is too old, counted")
    func staleData() async throws {
        let stack = try Stack(["MAX_CANDLE_AGE": "3"])
        try await stack.startAll()
        #expect(
            try await stack.post(
                "/api/market/candles",
                json: ["symbol": "BTCUSDT", "candles": Self.candles(Array(repeating: 100, count: 30), newestAgo: 4)]
            ).status == 200
        )
        let refused = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(refused.status == 409)
        #expect(refused.json["error"] as? String == "stale_market_data")
        let consensus = try await stack.post("/api/ai/consensus", Self.buyFeatures)
        #expect(consensus.status == 409)
        #expect(consensus.json["error"] as? String == "stale_market_data")
        #expect((consensus.json["detail"] as? String ?? "").contains("s ago"), "\(consensus.text)")
        let metrics = try await stack.get("/metrics").text
        #expect(metrics.contains("stale_data_refusals_total{where=\"order\"} 1"))
        #expect(metrics.contains("stale_data_refusals_total{where=\"consensus\"} 1"))
        // A fresh candle: trading again.
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": Self.candles([100], newestAgo: 1)]).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#).status == 200)
    }
}
