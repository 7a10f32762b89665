import Foundation
import Testing

/// Money invariants under bad data: orders too small for their price, features that overflow,
/// candles out of order, against the real stack.
@Suite("money invariants against the real stack", .serialized)
struct MoneyInvariantStackTests {
    static func candle(_ openTime: Int64, _ close: Double) -> [String: Any] {
        ["openTime": openTime, "open": close, "high": close, "low": close, "close": close, "volume": 1]
    }

    @Test("0.01 USD at a price of 1e9, and 5 USD at 9e11: 422 order_too_small; the ledger intact; positions 200; the risk worker restarts")
    func tinyOrderAtHugePrice() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let t0: Int64 = 1_700_000_000_000
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "HUGEUSDT", "candles": [Self.candle(t0, 1e9)]]).status == 200)
        let tiny = try await stack.post("/api/trade/execute", #"{"symbol": "HUGEUSDT", "side": "buy", "qtyUsd": 0.01, "confidence": 0.9}"#)
        #expect(tiny.status == 422, "\(tiny.text)")
        #expect(tiny.json["error"] as? String == "order_too_small")
        #expect(
            try await stack.post("/api/market/candles", json: ["symbol": "HUGEUSDT", "candles": [Self.candle(t0 + 300_000, 9e11)]]).status == 200
        )
        let rounds = try await stack.post("/api/trade/execute", #"{"symbol": "HUGEUSDT", "side": "buy", "qtyUsd": 5, "confidence": 0.9}"#)
        #expect(rounds.status == 422, "\(rounds.text)")
        #expect(rounds.json["error"] as? String == "order_too_small")

        let positions = try await stack.get("/api/positions")
        #expect(positions.status == 200, "\(positions.text)")
        #expect(positions.json["cash"] as? Double == 100_000)
        #expect((positions.json["positions"] as? [Any])?.isEmpty == true)
        #expect(try await stack.post("/api/halt", #"{"reason": "check"}"#).status == 200)
        #expect(try await stack.post("/api/resume", #"{}"#).status == 200)

        stack.kill("risk-worker")
        try stack.start("risk-worker#2")
        try await waitUntil("the restarted risk worker answers") { try await stack.get("/api/positions").status == 200 }
        #expect(!stack.log("risk-worker#2").contains("NaN"))
        #expect(try await stack.get("/health").json["ok"] as? Bool == true)
    }

    @Test(
        "a close of 1e-300 is refused; closes of 1e-8 (the smallest price) then 9e11 push mom_20 out of range: 422 features_out_of_range naming it, never 500"
    )
    func overflowingFeatures() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let t0: Int64 = 1_700_000_000_000
        var tiny = [Self.candle(t0, 1e-300)]
        for index in 1...20 { tiny.append(Self.candle(t0 + Int64(index) * 300_000, 9e11)) }
        let refused = try await stack.post("/api/ai/consensus", json: ["symbol": "ODDUSDT", "candles": tiny])
        #expect(refused.status == 422 && refused.json["error"] as? String == "invalid_candle", "\(refused.text)")
        // mom_20 compares the last close with the one 20 candles before it: 9e11 / 1e-8 is far out of range.
        var candles = [Self.candle(t0, 1e-8)]
        for index in 1...20 { candles.append(Self.candle(t0 + Int64(index) * 300_000, 9e11)) }
        let answer = try await stack.post("/api/ai/consensus", json: ["symbol": "ODDUSDT", "candles": candles])
        #expect(answer.status == 422, "\(answer.text)")
        #expect(answer.json["error"] as? String == "features_out_of_range")
        #expect((answer.json["detail"] as? String ?? "").contains("mom_20"))
        #expect(!stack.log("gateway").contains("\"ERROR\""))
        #expect(!stack.log("feature-worker").contains("\"ERROR\""))
    }

    @Test("candles in order: an older or equal one is 409 stale_candle and moves nothing; the far future is 422; the mark follows the newest")
    func candlesInOrder() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let t1 = now - 600_000
        #expect(
            try await stack.post(
                "/api/market/candles",
                json: ["symbol": "ORDUSDT", "candles": [Self.candle(t1 - 300_000, 99), Self.candle(t1, 100)]]
            ).status == 200
        )
        let bought = try await stack.post("/api/trade/execute", #"{"symbol": "ORDUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(bought.status == 200, "\(bought.text)")

        let older = try await stack.post("/api/market/candles", json: ["symbol": "ORDUSDT", "candles": [Self.candle(t1 - 900_000, 50)]])
        #expect(older.status == 409, "\(older.text)")
        #expect(older.json["error"] as? String == "stale_candle")
        let equal = try await stack.post("/api/market/candles", json: ["symbol": "ORDUSDT", "candles": [Self.candle(t1, 50)]])
        #expect(equal.status == 409, "\(equal.text)")
        let future = try await stack.post("/api/market/candles", json: ["symbol": "ORDUSDT", "candles": [Self.candle(now + 86_400_000, 50)]])
        #expect(future.status == 422, "\(future.text)")
        let positions = try await stack.get("/api/positions").json["positions"] as? [[String: Any]] ?? []
        #expect(positions.first?["markPrice"] as? Double == 100, "the mark moved with a refused candle: \(positions)")

        let newer = try await stack.post("/api/market/candles", json: ["symbol": "ORDUSDT", "candles": [Self.candle(t1 + 300_000, 110)]])
        #expect(newer.status == 200, "\(newer.text)")
        let moved = try await stack.get("/api/positions").json["positions"] as? [[String: Any]] ?? []
        #expect(moved.first?["markPrice"] as? Double == 110)
    }

    @Test("MAX_SYMBOLS bounds the symbols held: 422 beyond it")
    func symbolBound() async throws {
        let stack = try Stack(["MAX_SYMBOLS": "3"])
        try await stack.startAll()
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
        for symbol in ["AAUSDT", "BBUSDT", "CCUSDT"] {
            #expect(try await stack.post("/api/market/candles", json: ["symbol": symbol, "candles": [Self.candle(t0, 10)]]).status == 200)
        }
        let beyond = try await stack.post("/api/market/candles", json: ["symbol": "DDUSDT", "candles": [Self.candle(t0, 10)]])
        #expect(beyond.status == 422, "\(beyond.text)")
        #expect(beyond.json["error"] as? String == "too_many_symbols")
    }

    @Test("a key written twice in one object is 400 naming it, whichever way it is spelled; nothing is placed")
    func repeatedKeys() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "DUPUSDT", "candles": [Self.candle(t0, 100)]]).status == 200)
        // Which of two values counts is up to the reader: a proxy may see one order, the gateway another.
        for body in [
            #"{"symbol": "DUPUSDT", "side": "buy", "side": "sell", "qtyUsd": 10, "confidence": 0.9}"#,
            #"{"symbol": "DUPUSDT", "side": "buy", "qtyUsd": 10, "qtyUsd": 5000, "confidence": 0.9}"#,
            #"{"symbol": "DUPUSDT", "side": "buy", "\u0073ide": "sell", "qtyUsd": 10, "confidence": 0.9}"#,
        ] {
            let answer = try await stack.post("/api/trade/execute", body)
            #expect(answer.status == 400, "\(body) -> \(answer.status) \(answer.text)")
            #expect(answer.json["error"] as? String == "invalid_request")
            #expect((answer.json["detail"] as? String ?? "").contains("twice"), "\(answer.text)")
        }
        let consensus = try await stack.post(
            "/api/ai/consensus",
            #"{"symbol": "DUPUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0, "rsi_14": 5}}"#
        )
        #expect(consensus.status == 400, "\(consensus.text)")
        #expect((consensus.json["detail"] as? String ?? "").contains("rsi_14"), "\(consensus.text)")
        // The same key in two objects is no repetition.
        let nested = try await stack.post("/api/ai/consensus", #"{"symbol": "DUPUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#)
        #expect(nested.status == 200, "\(nested.text)")
        let positions = try await stack.get("/api/positions")
        #expect(positions.json["cash"] as? Double == 100_000, "\(positions.text)")
        #expect((positions.json["positions"] as? [Any])?.isEmpty == true, "\(positions.text)")
    }
}
