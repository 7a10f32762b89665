import Foundation
import Testing

/// The live book apart from the paper book, and its reconciliation with the exchange's account,
/// against the stand-in exchange.
@Suite("the live book against a fake exchange", .serialized)
struct LiveBookIntegrationTests {
    let live = LiveTradingTests()

    func order(_ id: String, qty: Int = 200, side: String = "buy") -> String {
        #"{"symbol": "BTCUSDT", "side": "\#(side)", "qtyUsd": \#(qty), "confidence": 0.9, "clientOrderId": "\#(id)"}"#
    }

    func positions(_ json: [String: Any]) -> [String: Double] {
        var result: [String: Double] = [:]
        for position in json["positions"] as? [[String: Any]] ?? [] {
            if let symbol = position["symbol"] as? String { result[symbol] = position["quantity"] as? Double }
        }
        return result
    }

    @Test("a paper position does not appear in the live book: live starts from the exchange's balances, and a closing sell of it is refused")
    func paperStaysPaper() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try Stack([
            "TRADING_MODE": "live", "API_TOKEN": LiveTradingTests.token, "EXCHANGE_API_KEY": exchange.apiKey, "EXCHANGE_API_SECRET": exchange.secret,
            "EXCHANGE_BASE_URL": "http://127.0.0.1:\(exchange.port)", "EXCHANGE_TIMEOUT_MS": "500", "LIVE_MAX_ORDER_USD": "500",
            "LIVE_MAX_DAILY_USD": "2000", "ACCOUNT_RECONCILE_MS": "500",
        ])
        stack.token = LiveTradingTests.token
        // Paper first, on the same ledger.
        try stack.start("gateway", ["TRADING_MODE": "paper"])
        for worker in ["risk-worker", "feature-worker", "execution-worker"] { try stack.start(worker) }
        try stack.start("model-worker", ["HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the paper stack is healthy") { try await stack.get("/health").json["ok"] as? Bool == true }
        #expect(try await stack.feedCandles().status == 200)
        let paper = try await stack.post("/api/trade/execute", order("paper-1", qty: 300))
        #expect(paper.status == 200, "\(paper.text)")
        #expect(positions(try await stack.account())["BTCUSDT"] ?? 0 > 0)
        // Then live.
        stack.kill("gateway")
        try stack.start("gateway")
        try await waitUntil("the live preflight passes") { try await stack.get("/api/preflight").json["ok"] as? Bool == true }
        let liveBook = try await stack.get("/api/positions?book=live").json
        #expect(liveBook["book"] as? String == "live")
        #expect(positions(liveBook).isEmpty, "no paper position in the live book: \(liveBook)")
        #expect(liveBook["cash"] as? Double == 100_000, "the exchange's USDT")
        #expect(liveBook["equity"] as? Double == 100_000)
        let paperBook = try await stack.get("/api/positions?book=paper").json
        #expect(paperBook["book"] as? String == "paper")
        #expect(positions(paperBook)["BTCUSDT"] ?? 0 > 0, "the paper book keeps its position")
        #expect(try await stack.get("/health").json["risk"].flatMap { ($0 as? [String: Any])?["book"] as? String } == "live")
        // A "closing" sell of the paper position would sell coins the account does not hold.
        let sell = try await stack.post("/api/trade/execute", order("close-paper", qty: 100, side: "sell"))
        #expect(sell.status == 422, "\(sell.text)")
        #expect(sell.json["error"] as? String == "insufficient_balance")
        #expect(exchange.placedCount("close-paper") == 0, "nothing was sent")
        #expect(try await stack.get("/api/positions?book=neither").json["error"] as? String == "invalid_book")
    }

    @Test("a balance changed at the exchange by hand refuses live orders within one reconcile period, and adopt lifts it")
    func handTradeThenAdopt() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let period = 1_000
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "\(period)", "NOTIFY_WEBHOOK_URL": receiver.url("account")])
        let first = try await stack.post("/api/trade/execute", order("before-1"))
        #expect(first.status == 200, "\(first.text)")
        try await Task.sleep(for: .milliseconds(period * 2))
        #expect(try await stack.get("/api/preflight").json["ok"] as? Bool == true, "our own fill agrees with the account")

        exchange.tradeByHand(symbol: "BTCUSDT", buy: true, quantity: 1)
        let changed = Date()
        try await waitUntil("the mismatch is seen", timeout: .milliseconds(period * 3)) {
            let live = try await stack.get("/api/positions?book=live").json
            return (live["reconciliation"] as? [String: Any])?["state"] as? String == "mismatch"
        }
        let seconds = Date().timeIntervalSince(changed)
        print("measured: a trade made outside the system to account_mismatch in \(Int(seconds * 1000)) ms (ACCOUNT_RECONCILE_MS=\(period))")
        #expect(seconds < Double(period) / 1000 + 1.5, "within one reconcile period")
        let refused = try await stack.post("/api/trade/execute", order("during-1"))
        #expect(refused.status == 423, "\(refused.text)")
        #expect(refused.json["error"] as? String == "account_mismatch")
        let detail = refused.json["detail"] as? String ?? ""
        #expect(detail.contains("BTC: exchange 3"), "\(detail)")
        #expect(detail.contains("live book 2"), "\(detail)")
        #expect(detail.contains("since"), "\(detail)")
        #expect(exchange.placedCount("during-1") == 0)
        let preflight = try await stack.get("/api/preflight").json
        #expect(preflight["ok"] as? Bool == false)
        let health = try await stack.get("/health").json
        #expect((health["problems"] as? [String] ?? []).contains { $0.hasPrefix("account_mismatch") })
        #expect((health["control"] as? [String: Any])?["accountHold"] as? String != nil, "carried to every execution replica")
        try await waitUntil("the mismatch is notified") { receiver.received("account").contains { $0["event"] as? String == "account_mismatch" } }
        let foreign = try await stack.get("/api/live/foreign-trades").json
        let trades = foreign["trades"] as? [[String: Any]] ?? []
        #expect(trades.count == 1, "\(foreign)")
        #expect((trades.first?["clientOrderId"] as? String)?.hasPrefix("web_") == true)

        // Adopt: the token, a reason.
        let unauthorised = try await stack.request(
            "POST",
            "/api/live/adopt",
            body: Data(#"{"reason": "x"}"#.utf8),
            headers: ["Authorization": "Bearer wrong"]
        )
        #expect(unauthorised.status == 401)
        let noReason = try await stack.post("/api/live/adopt", "{}")
        #expect(noReason.status == 422)
        #expect(noReason.json["error"] as? String == "reason_required")
        let adopted = try await stack.post("/api/live/adopt", #"{"reason": "bought 1 BTC by hand in the app", "requestedBy": "ops"}"#)
        #expect(adopted.status == 200, "\(adopted.text)")
        #expect((adopted.json["reconciliation"] as? [String: Any])?["state"] as? String == "ok")
        try await waitUntil("the preflight passes again") { try await stack.get("/api/preflight").json["ok"] as? Bool == true }
        let after = try await stack.post("/api/trade/execute", order("after-1"))
        #expect(after.status == 200, "\(after.text)")
        #expect(positions(try await stack.get("/api/positions?book=live").json)["BTCUSDT"] == 5)
        #expect(stack.log("risk-worker").contains("live book adopted the exchange's balances"))
    }

    @Test("a deposit at the exchange is a mismatch on the quote asset; adopt takes it as cash")
    func deposit() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "300"])
        exchange.deposit("USDT", 5_000)
        try await waitUntil("the deposit is seen", timeout: .seconds(5)) {
            let live = try await stack.get("/api/positions?book=live").json
            return ((live["reconciliation"] as? [String: Any])?["mismatches"] as? [[String: Any]])?.first?["asset"] as? String == "USDT"
        }
        #expect(try await stack.post("/api/trade/execute", order("after-deposit")).json["error"] as? String == "account_mismatch")
        let adopted = try await stack.post("/api/live/adopt", #"{"reason": "deposit of 5000 USDT"}"#)
        #expect(adopted.status == 200, "\(adopted.text)")
        #expect(try await stack.get("/api/positions?book=live").json["cash"] as? Double == 105_000)
    }

    @Test("malformed account answers never change the book: unknown refuses live orders until a good answer comes")
    func malformedAnswers() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "300"])
        let before = try await stack.get("/api/positions?book=live").json
        for fault in [FakeExchange.AccountFault.truncated, .wordForNumber, .negativeBalance, .serverError] {
            exchange.state.withLock { $0.accountFault = fault }
            try await waitUntil("the state is unknown (\(fault))", timeout: .seconds(5)) {
                let live = try await stack.get("/api/positions?book=live").json
                return (live["reconciliation"] as? [String: Any])?["state"] as? String == "unknown"
            }
            let refused = try await stack.post("/api/trade/execute", order("unknown-\(fault)"))
            #expect(refused.status == 423, "\(refused.text)")
            #expect(refused.json["error"] as? String == "account_unknown")
            let now = try await stack.get("/api/positions?book=live").json
            #expect(now["cash"] as? Double == before["cash"] as? Double)
            #expect(positions(now) == positions(before))
            exchange.state.withLock { $0.accountFault = .none }
            try await waitUntil("a good answer clears it") { try await stack.get("/api/preflight").json["ok"] as? Bool == true }
        }
        #expect(exchange.placedCount("unknown-truncated") == 0)
    }

    @Test("bad settings are refused at start naming the key and its range")
    func badSettings() throws {
        let stack = try Stack(["TRADING_MODE": "paper"])
        for (key, value) in [
            ("ACCOUNT_RECONCILE_MS", "5"), ("ACCOUNT_TOLERANCE_BPS", "-1"), ("LIVE_SYMBOLS", "BTC-EUR"), ("FOREIGN_TRADES_LIMIT", "0"),
        ] {
            let (status, output) = try stack.runOnce("gateway", [key: value])
            #expect(status != 0)
            #expect(output.contains(key), "\(key)=\(value): \(output)")
        }
    }

    @Test("reconciliation cost: one GET /api/v3/account a period, whatever the number of symbols")
    func cost() async throws {
        for count in [1, 10, 50] {
            let exchange = FakeExchange()
            try await exchange.start()
            defer { exchange.stop() }
            let symbols = ["BTCUSDT"] + (1..<count).map { "C\($0)USDT" }
            let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "500", "LIVE_SYMBOLS": symbols.joined(separator: ",")])
            let start = exchange.state.withLock { $0.accountCalls }
            try await Task.sleep(for: .seconds(5))
            let calls = exchange.state.withLock { $0.accountCalls } - start
            let perPeriod = Double(calls) / 10
            print(
                "measured: \(count) symbols: \(calls) account requests in 5 s at 500 ms (\(perPeriod) a period);",
                "at the default 30000 ms: \(2 * perPeriod) requests and \(40 * perPeriod) weight a minute"
            )
            #expect((8...11).contains(calls))
            stack.stopAll()
        }
    }
}
