import Foundation
import Testing

/// The price collar and the flatten routes (issue 26 items 2 and 4), against real processes.
@Suite("price collar and flatten against the real stack", .serialized)
struct CloseStackTests {
    static let token = "flatten-token-5d2"

    /// A stack with the token, the stale-data guard on, and fresh candles at `close` for each symbol.
    static func stack(_ symbols: [String] = ["BTCUSDT"], close: Double = 100, extra: [String: String] = [:]) async throws -> Stack {
        let stack = try Stack(["API_TOKEN": token, "MAX_CANDLE_AGE": "3"].merging(extra) { _, new in new })
        stack.token = token
        try await stack.startAll()
        for symbol in symbols {
            let fed = try await stack.post(
                "/api/market/candles",
                json: ["symbol": symbol, "candles": ProtectionsStackTests.candles(Array(repeating: close, count: 30))]
            )
            #expect(fed.status == 200, "\(fed.text)")
        }
        return stack
    }

    /// A market feed's report carrying one book (bid, ask) of `symbol`, seen now.
    static func book(_ stack: Stack, _ symbol: String, bid: Double, ask: Double) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let report: [String: Any] = [
            "feed": "test-feed", "source": "binance", "connected": 1, "connections": 1, "reconnects": 0, "gapCandles": 0, "refusedFrames": 0,
            "messagesPerSecond": 1.0, "books": [["symbol": symbol, "bid": bid, "ask": ask, "at": now]],
        ]
        let answer = try await stack.post("/api/market/feeds", json: report)
        #expect(answer.status == 200, "\(answer.text)")
    }

    /// The signed quantity the paper book holds of `symbol` (0 when it holds none).
    static func quantity(_ stack: Stack, _ symbol: String) async throws -> Double {
        let positions = try await stack.account()["positions"] as? [[String: Any]] ?? []
        return positions.first { $0["symbol"] as? String == symbol }.flatMap { ($0["quantity"] as? NSNumber)?.doubleValue } ?? 0
    }

    static func order(_ symbol: String, _ usd: Int, side: String = "buy") -> String {
        #"{"symbol": "\#(symbol)", "side": "\#(side)", "qtyUsd": \#(usd), "confidence": 0.9}"#
    }

    @Test(
        "a market order whose book ask is beyond MAX_PRICE_DEVIATION_BPS from the last close is 422 price_collar naming both prices; within it fills"
    )
    func collar() async throws {
        let stack = try await Self.stack(["BTCUSDT", "ETHUSDT"], extra: ["MAX_PRICE_DEVIATION_BPS": "200"])
        try await Self.book(stack, "BTCUSDT", bid: 99.9, ask: 110)
        let far = try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 500))
        #expect(far.status == 422)
        #expect(far.json["error"] as? String == "price_collar")
        let detail = far.json["detail"] as? String ?? ""
        #expect(detail.contains("110.0") && detail.contains("mark 100.0") && detail.contains("200 bps"), "\(detail)")
        #expect(far.json["clientOrderId"] is String, "a collar refusal names the order, as every execute error does")
        #expect(try await Self.quantity(stack, "BTCUSDT") == 0, "nothing was reserved or filled")
        // A sell is judged by the bid, 10 bps away: it goes through.
        #expect(try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 100, side: "sell")).json["status"] as? String == "filled")
        // Within the collar (ask 101.5 is 150 bps from the close): filled.
        try await Self.book(stack, "BTCUSDT", bid: 99.5, ask: 101.5)
        let near = try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 500))
        #expect(near.status == 200, "\(near.text)")
        #expect(near.json["status"] as? String == "filled")
        // No book: the expected price is the last close, which is the mark.
        #expect(try await stack.post("/api/trade/execute", Self.order("ETHUSDT", 200)).json["status"] as? String == "filled")
        let health = try await stack.get("/health").json["config"] as? [String: Any]
        #expect(health?["maxPriceDeviationBps"] as? Int == 200)
    }

    @Test("a stale mark refuses a market order 409 stale_market_data, before the collar is judged")
    func staleMark() async throws {
        let stack = try await Self.stack([])
        let old = try await stack.post(
            "/api/market/candles",
            json: ["symbol": "ETHUSDT", "candles": ProtectionsStackTests.candles(Array(repeating: 100, count: 30), newestAgo: 10)]
        )
        #expect(old.status == 200)
        try await Self.book(stack, "ETHUSDT", bid: 150, ask: 151)
        let stale = try await stack.post("/api/trade/execute", Self.order("ETHUSDT", 100))
        #expect(stale.status == 409, "\(stale.text)")
        #expect(stale.json["error"] as? String == "stale_market_data")
    }

    @Test("MAX_PRICE_DEVIATION_BPS and BOOK_TICKER_MAX_AGE_MS out of range: the gateway refuses to start, naming the key")
    func settingsOutOfRange() throws {
        for (key, value) in [("MAX_PRICE_DEVIATION_BPS", "0"), ("MAX_PRICE_DEVIATION_BPS", "5001"), ("BOOK_TICKER_MAX_AGE_MS", "60001")] {
            let (status, log) = try Stack([key: value]).runOnce("gateway", timeoutSeconds: 20)
            #expect(status != 0, "\(key)=\(value) started")
            #expect(log.contains(key), "\(log)")
        }
    }

    @Test("close sells the whole paper position at market, audited with who and why; again it is 200 nothing_to_close; bad bodies are 4xx JSON")
    func closeOne() async throws {
        let stack = try await Self.stack()
        #expect(try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 1000)).status == 200)
        let held = try await Self.quantity(stack, "BTCUSDT")
        #expect(held > 9 && held < 10.1, "\(held)")

        stack.token = nil
        #expect(try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "no token"}"#).status == 401)
        stack.token = Self.token
        let refusals: [(String, String, Int, String)] = [
            ("/api/positions/BTCUSDT/close", "{}", 422, "invalid_reason"),
            ("/api/positions/BTCUSDT/close", #"{"reason": "  "}"#, 422, "invalid_reason"),
            ("/api/positions/BTCUSDT/close", #"{"reason": "\#(String(repeating: "x", count: 201))"}"#, 422, "invalid_reason"),
            ("/api/positions/BTCUSDT/close", #"{"reason": "x", "force": "yes"}"#, 400, "invalid_request"),
            ("/api/positions/BTCUSDT/close", #"{"reason": "#, 400, "invalid_request"),
            ("/api/positions/btc-usd/close", #"{"reason": "x"}"#, 422, "invalid_symbol"),
            ("/api/positions/XRPUSDT/close", #"{"reason": "x"}"#, 404, "unknown_symbol"),
            ("/api/positions/BTCUSDT/close", #"{"reason": "x", "clientOrderId": "no spaces"}"#, 422, "invalid_client_order_id"),
            ("/api/positions/close-all?book=live", #"{"reason": "x"}"#, 409, "book_not_traded"),
            ("/api/positions/close-all?book=demo", #"{"reason": "x"}"#, 422, "invalid_book"),
            ("/api/positions/close-all", #"{"reason": "x", "clientOrderId": "a1"}"#, 422, "invalid_client_order_id"),
        ]
        for (path, body, status, code) in refusals {
            let answer = try await stack.post(path, body)
            #expect(answer.status == status, "\(path) \(body): \(answer.text)")
            #expect(answer.json["error"] as? String == code, "\(path) \(body): \(answer.text)")
            #expect(answer.json["detail"] is String, "\(answer.text)")
        }
        #expect(try await Self.quantity(stack, "BTCUSDT") == held, "no refusal traded")

        let closed = try await stack.post(
            "/api/positions/BTCUSDT/close",
            #"{"reason": "end of test", "requestedBy": "tester", "clientOrderId": "close-one-1"}"#
        )
        #expect(closed.status == 200, "\(closed.text)")
        #expect(closed.json["outcome"] as? String == "closed")
        #expect((closed.json["quantity"] as? NSNumber)?.doubleValue == held)
        let order = closed.json["order"] as? [String: Any]
        #expect(order?["status"] as? String == "filled")
        #expect(order?["side"] as? String == "sell")
        #expect(((order?["fill"] as? [String: Any])?["quantity"] as? NSNumber)?.doubleValue == held, "the whole quantity, exactly")
        #expect(try await Self.quantity(stack, "BTCUSDT") == 0)
        let trail = try stack.auditTrail()
        #expect(trail.contains("close | tester | end of test | sell BTCUSDT"), "\(trail)")
        #expect(trail.contains("order close-one-1"), "\(trail)")

        let again = try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "again", "clientOrderId": "close-one-1"}"#)
        #expect(again.status == 200, "\(again.text)")
        #expect(again.json["outcome"] as? String == "nothing_to_close")
        #expect(again.json["order"] == nil)
        let orders = try await stack.get("/api/orders").json["orders"] as? [[String: Any]] ?? []
        #expect(orders.count == 2, "the buy and one close: \(orders.count)")
    }

    @Test("while HALTED a close is 423 trading_halted without force; with force it closes and the halt stays in force")
    func closeWhileHalted() async throws {
        let stack = try await Self.stack()
        #expect(try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 800)).status == 200)
        #expect(try await stack.post("/api/halt", #"{"reason": "incident"}"#).status == 200)
        let refused = try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "flatten"}"#)
        #expect(refused.status == 423, "\(refused.text)")
        #expect(refused.json["error"] as? String == "trading_halted")
        #expect(try await Self.quantity(stack, "BTCUSDT") > 0)

        let forced = try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "flatten in the incident", "force": true}"#)
        #expect(forced.status == 200, "\(forced.text)")
        #expect((forced.json["order"] as? [String: Any])?["status"] as? String == "filled")
        #expect(try await Self.quantity(stack, "BTCUSDT") == 0)
        let risk = try await stack.get("/health").json["risk"] as? [String: Any]
        #expect(risk?["halted"] as? Bool == true && risk?["haltReason"] as? String == "incident")
        let other = try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 100))
        #expect(other.status == 423 && other.json["error"] as? String == "trading_halted", "the halt still refuses every other order")
        #expect(try stack.auditTrail().contains("close (forced) | api | flatten in the incident"))
    }

    @Test("live: a close sells the held base quantity by quantity (rounded down to the step) through the stand-in; the paper book is not traded")
    func closeLive() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let filters = ExchangeFilterTests()
        let stack = try await filters.stepStack(exchange)
        let buy = try await stack.post(
            "/api/trade/execute",
            #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 200.05, "confidence": 0.9, "clientOrderId": "open-1"}"#
        )
        #expect(buy.status == 200, "\(buy.text)")
        let closed = try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "live flatten", "clientOrderId": "flat-1"}"#)
        #expect(closed.status == 200, "\(closed.text)")
        #expect(closed.json["book"] as? String == "live")
        #expect((closed.json["order"] as? [String: Any])?["status"] as? String == "filled")
        #expect(exchange.state.withLock { $0.sizedBy["flat-1"] } == "quantity")
        #expect(exchange.state.withLock { $0.placed["flat-1"]?.side } == "SELL")
        #expect(exchange.state.withLock { $0.placed["flat-1"]?.quantity } == 2, "2.0005 rounded down to the 0.001 step")
        let position = (try await stack.account()["positions"] as? [[String: Any]])?.first { $0["symbol"] as? String == "BTCUSDT" }
        #expect(position?["quantity"] as? Double == 0, "\(String(describing: position))")
        let again = try await stack.post("/api/positions/BTCUSDT/close", #"{"reason": "again"}"#)
        #expect(again.json["outcome"] as? String == "nothing_to_close", "\(again.text)")
        let paper = try await stack.post("/api/positions/close-all?book=paper", #"{"reason": "wrong book"}"#)
        #expect(paper.status == 409 && paper.json["error"] as? String == "book_not_traded", "\(paper.text)")
        #expect(exchange.placedCount("flat-1") == 1)
    }

    @Test("close-all in REDUCING closes a long and a paper short, answers per symbol; tradectl close does the same")
    func closeAll() async throws {
        let stack = try await Self.stack(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        #expect(try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 1000)).status == 200)
        #expect(try await stack.post("/api/trade/execute", Self.order("ETHUSDT", 400, side: "sell")).status == 200)
        #expect(try await Self.quantity(stack, "ETHUSDT") < 0, "the paper book allows a short")
        #expect(try await stack.post("/api/trade/execute", Self.order("SOLUSDT", 300)).status == 200)
        #expect(try await stack.post("/api/positions/SOLUSDT/close", #"{"reason": "first"}"#).status == 200)
        #expect(try await stack.post("/api/risk/state", #"{"state": "REDUCING", "reason": "wind down"}"#).status == 200)

        let all = try await stack.post("/api/positions/close-all", #"{"reason": "end of day"}"#)
        #expect(all.status == 200, "\(all.text)")
        #expect(all.json["book"] as? String == "paper")
        let results = all.json["results"] as? [[String: Any]] ?? []
        let outcomes = Dictionary(uniqueKeysWithValues: results.map { ($0["symbol"] as? String ?? "", $0["outcome"] as? String ?? "") })
        #expect(outcomes == ["BTCUSDT": "closed", "ETHUSDT": "closed", "SOLUSDT": "nothing_to_close"], "\(all.text)")
        let eth = results.first { $0["symbol"] as? String == "ETHUSDT" }?["order"] as? [String: Any]
        #expect(eth?["side"] as? String == "buy", "the short is bought back")
        for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] { #expect(try await Self.quantity(stack, symbol) == 0, "\(symbol)") }

        // tradectl, the token from the environment.
        #expect(try await stack.post("/api/risk/state", #"{"state": "ACTIVE"}"#).status == 200)
        #expect(try await stack.post("/api/trade/execute", Self.order("BTCUSDT", 500)).status == 200)
        #expect(try await stack.post("/api/trade/execute", Self.order("ETHUSDT", 500)).status == 200)
        let tradectl = Stack.binaryDirectory.appendingPathComponent("tradectl").path
        let url = ["--url", "http://127.0.0.1:\(stack.httpPort)"]
        let noToken = try runTool(tradectl, ["close", "BTCUSDT", "--reason", "cli"] + url, environment: [:])
        #expect(noToken.status != 0 && noToken.output.contains("401"), "\(noToken.output)")
        let one = try runTool(tradectl, ["close", "BTCUSDT", "--reason", "cli"] + url, environment: ["API_TOKEN": Self.token])
        #expect(one.status == 0 && one.output.contains("BTCUSDT: closed"), "\(one.output)")
        let rest = try runTool(tradectl, ["close", "--all", "--reason", "cli all"] + url, environment: ["API_TOKEN": Self.token])
        #expect(rest.status == 0 && rest.output.contains("ETHUSDT: closed") && rest.output.contains("BTCUSDT: nothing_to_close"), "\(rest.output)")
        let both = try runTool(tradectl, ["close", "BTCUSDT", "--all", "--reason", "x"] + url, environment: ["API_TOKEN": Self.token])
        #expect(both.status != 0)
        for symbol in ["BTCUSDT", "ETHUSDT"] { #expect(try await Self.quantity(stack, symbol) == 0, "\(symbol)") }
    }
}
