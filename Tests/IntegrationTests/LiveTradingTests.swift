import Foundation
import Testing

/// Live mode against a local fake of the exchange's REST API: one fill or none, never two,
/// never an order left pending, for each way the exchange can fail.
@Suite("live trading against a fake exchange", .serialized)
struct LiveTradingTests {
    static let token = "live-test-token-5d2e"

    func liveStack(_ exchange: FakeExchange, _ extra: [String: String] = [:]) async throws -> Stack {
        var environment = [
            "TRADING_MODE": "live", "API_TOKEN": Self.token, "EXCHANGE_API_KEY": exchange.apiKey, "EXCHANGE_API_SECRET": exchange.secret,
            "EXCHANGE_BASE_URL": "http://127.0.0.1:\(exchange.port)", "EXCHANGE_TIMEOUT_MS": "500", "REQUEST_TIMEOUT_MS": "4000",
            "LIVE_MAX_ORDER_USD": "500", "LIVE_MAX_DAILY_USD": "2000", "LIVE_RECONCILE_MS": "500",
            // "Not found" is proof of absence only this long past the order's timestamp (and a clean sweep).
            "LIVE_ABSENT_AFTER_MS": "6500",
        ]
        environment.merge(extra) { _, new in new }
        let stack = try Stack(environment)
        stack.token = Self.token
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        try await waitUntil("the live preflight passes") { try await stack.get("/api/preflight").json["ok"] as? Bool == true }
        return stack
    }

    func order(_ id: String, qty: Int = 200) -> String {
        #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": \#(qty), "confidence": 0.9, "clientOrderId": "\#(id)"}"#
    }

    /// The order's status in the ledger.
    func status(_ stack: Stack, _ id: String) async throws -> String? {
        try await stack.get("/api/orders/\(id)").json["status"] as? String
    }

    func positionQuantity(_ stack: Stack) async throws -> Double {
        let positions = try await stack.account()["positions"] as? [[String: Any]] ?? []
        return positions.first { $0["symbol"] as? String == "BTCUSDT" }?["quantity"] as? Double ?? 0
    }

    @Test("a live order is signed, filled at the exchange's price with its commission, once")
    func fill() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try await liveStack(exchange, ["NOTIFY_WEBHOOK_URL": receiver.url("fills")])
        let answer = try await stack.post("/api/trade/execute", order("live-1"))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.json["dryRun"] as? Bool == false)
        let fill = try #require(answer.json["fill"] as? [String: Any])
        #expect(fill["price"] as? Double == 100)
        #expect(fill["quantity"] as? Double == 2)
        #expect(fill["fee"] as? Double == 0.2)
        #expect(exchange.placedCount("live-1") == 1)
        #expect(exchange.state.withLock { $0.badSignatures + $0.staleTimestamps } == 0)
        let again = try await stack.post("/api/trade/execute", order("live-1"))
        #expect(again.json["duplicate"] as? Bool == true)
        #expect(exchange.state.withLock { $0.orderCalls } == 1)
        #expect(try await positionQuantity(stack) == 2)
        try await waitUntil("the live fill is posted") { !receiver.received("fills").isEmpty }
        #expect(receiver.received("fills").count == 1, "the duplicate is not news")
        #expect((receiver.received("fills").first?["details"] as? [String: String])?["clientOrderId"] == "live-1")

        // Caps: per order and per day.
        #expect(try await stack.post("/api/trade/execute", order("too-big", qty: 600)).json["error"] as? String == "live_order_cap")
        for index in 2...9 { _ = try await stack.post("/api/trade/execute", order("cap-\(index)", qty: 250)) }
        let overDaily = try await stack.post("/api/trade/execute", order("cap-10", qty: 250))
        #expect(overDaily.json["error"] as? String == "live_daily_cap")

        // No credential in any log or answer.
        for name in ["gateway", "execution-worker", "risk-worker"] {
            #expect(!stack.log(name).contains(exchange.secret))
            #expect(!stack.log(name).contains(exchange.apiKey))
        }
        #expect(!(try await stack.get("/health").text).contains(exchange.secret))
        let unauthorised = try await stack.request(
            "POST",
            "/api/trade/execute",
            body: Data(order("x").utf8),
            headers: ["Authorization": "Bearer wrong"]
        )
        #expect(unauthorised.status == 401)
    }

    @Test(
        "exchange faults end with one fill or none, never two, never pending",
        arguments: [
            ("reject", "rejected", 0), ("fail-before", "rejected", 0), ("fail-after", "filled", 1), ("hang-after", "filled", 1),
            ("duplicate", "filled", 1), ("rate-limit", "rejected", 0),
        ]
    )
    func faults(fault: String, expected: String, placed: Int) async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        let id = "fault-\(fault)"
        switch fault {
        case "reject": exchange.fault = .reject(code: -2010, message: "Account has insufficient balance for requested action.")
        case "fail-before": exchange.fault = .failBeforePlacing
        case "fail-after": exchange.fault = .failAfterPlacing
        case "hang-after": exchange.fault = .hangAfterPlacing(seconds: 2)
        case "rate-limit": exchange.fault = .rateLimit(retryAfter: 30)
        case "duplicate":
            // The exchange already has this client order id (sent before a crash, say).
            exchange.state.withLock {
                $0.placed[id] = FakeExchange.Placed(orderID: 1, symbol: "BTCUSDT", side: "BUY", quote: 200, quantity: 2)
            }
        default: break
        }
        let answer = try await stack.post("/api/trade/execute", order(id))
        try await waitUntil("the order is settled") { try await status(stack, id) != "pending" }
        #expect(try await status(stack, id) == expected, "\(answer.status) \(answer.text)")
        #expect(exchange.placedCount(id) == placed)
        #expect(try await positionQuantity(stack) == Double(placed * 2))
        switch fault {
        case "reject": #expect(answer.json["error"] as? String == "exchange_rejected")
        case "fail-before":
            // A 500 is no proof that nothing was taken: pending until LIVE_ABSENT_AFTER_MS (6.5 s
            // here) past the order's timestamp, then rejected because the exchange still has no
            // such order and a sweep of allOrders and myTrades shows nothing of it.
            #expect(answer.json["error"] as? String == "order_state_unknown")
        case "rate-limit":
            #expect(answer.status == 429)
            // Retry-After is honoured: the next order does not even reach the exchange.
            let calls = exchange.state.withLock { $0.orderCalls }
            _ = try await stack.post("/api/trade/execute", order("after-429"))
            #expect(exchange.state.withLock { $0.orderCalls } == calls)
        default: #expect(answer.status == 200, "\(answer.text)")
        }
        // `/health` shows the risk worker's status as last polled (RISK_POLL_MS): a poll that
        // landed between the last order's reserve and settle still counts it until the next one.
        try await waitUntil("no order is left pending", timeout: .seconds(5)) {
            (try await stack.get("/health").json["risk"] as? [String: Any])?["pendingOrders"] as? Int == 0
        }
    }

    @Test("an order the exchange does not show yet after a timeout is not rejected: it stays pending, and is filled once it shows")
    func lateNotFound() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange, ["EXCHANGE_RECV_WINDOW_MS": "3000"])
        exchange.fault = .hideAfterPlacing(seconds: 1, hiddenMilliseconds: 2_000)
        let answer = try await stack.post("/api/trade/execute", order("late-1"))
        #expect(answer.status == 504, "\(answer.text)")
        #expect(answer.json["clientOrderId"] as? String == "late-1")
        try await waitUntil("the order is settled") { try await status(stack, "late-1") != "pending" }
        #expect(try await status(stack, "late-1") == "filled")
        #expect(exchange.placedCount("late-1") == 1)
        #expect(try await positionQuantity(stack) == 2)
    }

    @Test("an EXPIRED order with a partial execution books the executed part")
    func expiredPartial() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        exchange.fault = .expireHalfExecuted
        let answer = try await stack.post("/api/trade/execute", order("half-1"))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try await status(stack, "half-1") == "filled")
        let fill = try #require(answer.json["fill"] as? [String: Any])
        #expect(fill["quantity"] as? Double == 1)
        #expect(fill["notional"] as? Double == 100)
        #expect(try await positionQuantity(stack) == 1)
    }

    @Test("a commission in BNB is recorded in BNB, owed apart from cash until BNBUSDT has a price, then paid at that mark")
    func commissionInBNB() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        exchange.state.withLock { $0.commissionAsset = "BNB" }
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)
        let answer = try await stack.post("/api/trade/execute", order("bnb-1"))
        #expect(answer.status == 200, "\(answer.text)")
        let fill = try #require(answer.json["fill"] as? [String: Any])
        #expect(fill["fee"] as? Double == 0)
        #expect((fill["commissions"] as? [String: Double])?["BNB"] == 0.0005)
        var account = try await stack.account()
        #expect((account["feesOwed"] as? [String: Double])?["BNB"] == 0.0005, "owed, shown apart from cash")
        #expect(account["cash"] as? Double == cashBefore - 200, "nothing taken from cash at an unknown price")

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let candle: [String: Any] = ["openTime": now - 300_000, "open": 600, "high": 600, "low": 600, "close": 600, "volume": 1]
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BNBUSDT", "candles": [candle]]).status == 200)
        account = try await stack.account()
        #expect(account["feesOwed"] == nil, "\(account)")
        #expect(abs((account["cash"] as? Double ?? 0) - (cashBefore - 200 - 0.3)) < 1e-9, "0.0005 BNB at 600 USD")
    }

    @Test("a commission in the base asset is converted at the fill's price")
    func commissionInBaseAsset() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        exchange.state.withLock { $0.commissionAsset = "BTC" }
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)
        let answer = try await stack.post("/api/trade/execute", order("btc-fee-1"))
        #expect(answer.status == 200, "\(answer.text)")
        let fill = try #require(answer.json["fill"] as? [String: Any])
        #expect((fill["commissions"] as? [String: Double])?["BTC"] == 0.002)
        let account = try await stack.account()
        #expect(account["feesOwed"] == nil)
        #expect(abs((account["cash"] as? Double ?? 0) - (cashBefore - 200 - 0.2)) < 1e-9, "0.002 BTC at the fill's 100 USD")
    }

    @Test("an outage after the order was taken leaves it pending, then reconciliation fills it once")
    func outageThenReconcile() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        exchange.fault = .outage
        let answer = try await stack.post("/api/trade/execute", order("outage-1"))
        #expect(answer.status == 504)
        #expect(answer.json["error"] as? String == "order_state_unknown")
        #expect(try await status(stack, "outage-1") == "pending")
        try await Task.sleep(for: .seconds(1))
        #expect(try await status(stack, "outage-1") == "pending", "nothing is guessed while the exchange cannot answer")
        exchange.fault = .none
        try await waitUntil("reconciliation fills it") { try await status(stack, "outage-1") == "filled" }
        #expect(exchange.placedCount("outage-1") == 1)
        #expect(exchange.state.withLock { $0.orderCalls } == 1, "the order was never sent twice")
        #expect(try await positionQuantity(stack) == 2)
        #expect(stack.log("gateway").contains("reconciled a pending live order"))
    }

    @Test("live mode waits for the preflight: a halt fails it and live orders are refused")
    func preflightGate() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await liveStack(exchange)
        #expect(try await stack.post("/api/halt", #"{"reason": "drill"}"#).status == 200)
        let preflight = try await stack.get("/api/preflight").json
        #expect(preflight["ok"] as? Bool == false)
        let refused = try await stack.post("/api/trade/execute", order("halted-1"))
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "preflight_failed")
        #expect(exchange.state.withLock { $0.orderCalls } == 0)
    }
}
