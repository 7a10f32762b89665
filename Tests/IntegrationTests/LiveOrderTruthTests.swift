import Foundation
import Testing

/// Order truth and the exchange's clock (docs/live-trading.md): a refused or unreadable query is
/// no proof that nothing traded, "not found" is proof only after `LIVE_ABSENT_AFTER_MS` and a
/// clean sweep of the symbol's orders and trades, and requests are signed with the exchange's time.
@Suite("live order truth and the exchange's clock", .serialized)
struct LiveOrderTruthTests {
    let live = LiveTradingTests()

    /// Milliseconds since `start`, for the figures the report gives.
    func elapsed(since start: ContinuousClock.Instant) -> Int {
        let duration = ContinuousClock.now - start
        return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The ledger's audit trail, one `action | requested_by | reason` line a row (read with
    /// Python's sqlite3, read-only, beside the running risk worker).
    func audit(_ stack: Stack) throws -> String {
        let ledger = stack.directory.appendingPathComponent("data/ledger.sqlite").path
        let script =
            "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); "
            + "print('\\n'.join(' | '.join(map(str, r)) for r in c.execute('SELECT action, requested_by, reason FROM audit')))"
        let result = try runTool("/usr/bin/python3", ["-c", script, ledger])
        #expect(result.status == 0, "\(result.output)")
        return result.output
    }

    @Test("a fill whose first queries are refused with -1021 is booked filled")
    func refusedQueriesThenFilled() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange)
        exchange.fault = .failAfterPlacing
        exchange.state.withLock { $0.queryFault = .refuse(count: 6, status: 400, code: -1021) }
        let start = ContinuousClock.now
        let answer = try await stack.post("/api/trade/execute", live.order("refused-1"))
        #expect(answer.status == 504, "\(answer.text)")
        try await waitUntil("the order is settled", timeout: .seconds(20)) { try await live.status(stack, "refused-1") != "pending" }
        let bookedAfter = elapsed(since: start)
        #expect(try await live.status(stack, "refused-1") == "filled")
        #expect(exchange.placedCount("refused-1") == 1)
        #expect(exchange.state.withLock { $0.orderCalls } == 1, "the order was never sent twice")
        #expect(try await live.positionQuantity(stack) == 2)
        print("refused-queries fill booked after \(bookedAfter) ms, \(exchange.state.withLock { $0.queryCalls }) queries")
        #expect(exchange.state.withLock { $0.timeCalls } >= 4, "measured at start and again after each -1021")
    }

    @Test("the clock is measured again every EXCHANGE_TIME_SYNC_MS: a drift between orders is followed, and orders still fill")
    func clockFollowsDrift() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["EXCHANGE_TIME_SYNC_MS": "1000", "EXCHANGE_MAX_CLOCK_OFFSET_MS": "3000"])
        #expect(try await stack.post("/api/trade/execute", live.order("drift-1")).status == 200)
        exchange.state.withLock { $0.clockSkewMilliseconds = -1_800 }
        try await waitUntil("the new offset is measured") {
            let clock = (try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeClock"] as? [String: Any]
            return (clock?["offsetMs"] as? Int).map { (-2_100 ... -1_500).contains($0) } ?? false
        }
        let answer = try await stack.post("/api/trade/execute", live.order("drift-2"))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(exchange.state.withLock { $0.staleTimestamps } == 0)
        let clock = try #require((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeClock"] as? [String: Any])
        #expect((clock["ageMs"] as? Int ?? .max) < 3_000, "\(clock)")
    }

    @Test("an order visible only 11 s after it was sent is booked filled")
    func visibleAfterElevenSeconds() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["LIVE_ABSENT_AFTER_MS": "120000"])
        exchange.fault = .hideAfterPlacing(seconds: 1, hiddenMilliseconds: 11_000)
        let start = ContinuousClock.now
        let answer = try await stack.post("/api/trade/execute", live.order("late-11"))
        #expect(answer.status == 504, "\(answer.text)")
        try await Task.sleep(for: .seconds(8))
        #expect(try await live.status(stack, "late-11") == "pending", "not found past timestamp + recvWindow is not proof")
        try await waitUntil("the order is settled", timeout: .seconds(20)) { try await live.status(stack, "late-11") != "pending" }
        let bookedAfter = elapsed(since: start)
        #expect(try await live.status(stack, "late-11") == "filled")
        #expect(exchange.placedCount("late-11") == 1)
        #expect(try await live.positionQuantity(stack) == 2)
        let queries = exchange.state.withLock { $0.queryCalls }
        print("late-visibility fill booked after \(bookedAfter) ms, \(queries) queries")
    }

    @Test("a host clock 2 s ahead of the stand-in still trades")
    func hostClockAhead() async throws {
        let exchange = FakeExchange()
        exchange.state.withLock { $0.clockSkewMilliseconds = -2_000 }
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["EXCHANGE_MAX_CLOCK_OFFSET_MS": "3000"])
        let answer = try await stack.post("/api/trade/execute", live.order("skew-1"))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try await live.status(stack, "skew-1") == "filled")
        #expect(exchange.state.withLock { $0.staleTimestamps } == 0)
        let clock = try #require((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeClock"] as? [String: Any])
        let offset = try #require(clock["offsetMs"] as? Int)
        #expect((-2_300 ... -1_700).contains(offset), "\(clock)")
        let metrics = try await stack.get("/metrics").text
        #expect(metrics.contains("exchange_clock_offset_seconds"))
        #expect(metrics.contains("live_orders_unresolved"))
        let file = stack.directory.appendingPathComponent("gateway-live.metrics")
        try metrics.write(to: file, atomically: true, encoding: .utf8)
        let check = try runTool("/bin/sh", ["-c", "promtool check metrics < '\(file.path)'"])
        #expect(check.status == 0, "promtool check metrics: \(check.output)")
    }

    @Test("an offset beyond EXCHANGE_MAX_CLOCK_OFFSET_MS fails the preflight and refuses live orders")
    func clockOffsetFailsPreflight() async throws {
        let exchange = FakeExchange()
        exchange.state.withLock { $0.clockSkewMilliseconds = -2_000 }
        try await exchange.start()
        defer { exchange.stop() }
        var environment = [
            "TRADING_MODE": "live", "API_TOKEN": LiveTradingTests.token, "EXCHANGE_API_KEY": exchange.apiKey, "EXCHANGE_API_SECRET": exchange.secret,
            "EXCHANGE_BASE_URL": "http://127.0.0.1:\(exchange.port)", "EXCHANGE_TIMEOUT_MS": "500", "LIVE_RECONCILE_MS": "500",
        ]
        environment["LIVE_MAX_ORDER_USD"] = "500"
        let stack = try Stack(environment)
        stack.token = LiveTradingTests.token
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        try await waitUntil("the preflight names the clock") {
            let checks = try await stack.get("/api/preflight").json["checks"] as? [[String: Any]] ?? []
            return checks.contains {
                $0["name"] as? String == "exchange clock" && $0["ok"] as? Bool == false && "\($0["detail"] ?? "")".contains("500")
            }
        }
        let refused = try await stack.post("/api/trade/execute", live.order("skew-refused"))
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "preflight_failed")
        #expect(exchange.state.withLock { $0.orderCalls } == 0)
    }

    @Test(
        "a refused or malformed query is unknown: the order stays pending, then is filled",
        arguments: [
            "-2015/401", "403 waf", "truncated", "string for a number", "negative quantity", "unknown status",
        ]
    )
    func refusalsAreUnknown(kind: String) async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange)
        exchange.fault = .failAfterPlacing
        let order = #"{"symbol":"BTCUSDT","orderId":1000,"clientOrderId":"bad-1","status":"FILLED","executedQty":"2","cummulativeQuoteQty":"200"}"#
        let fault: FakeExchange.QueryFault =
            switch kind {
            case "-2015/401": .refuse(count: 8, status: 401, code: -2015)
            case "403 waf": .refuse(count: 8, status: 403, code: nil)
            case "truncated": .malformed(count: 8, body: String(order.prefix(60)))
            case "string for a number": .malformed(count: 8, body: order.replacingOccurrences(of: #""2""#, with: #""two""#))
            case "negative quantity": .malformed(count: 8, body: order.replacingOccurrences(of: #""2""#, with: #""-2""#))
            default: .malformed(count: 8, body: order.replacingOccurrences(of: "FILLED", with: "SETTLED_MAYBE"))
            }
        exchange.state.withLock { $0.queryFault = fault }
        let answer = try await stack.post("/api/trade/execute", live.order("bad-1"))
        #expect(answer.status == 504, "\(answer.text)")
        #expect(try await live.status(stack, "bad-1") == "pending")
        try await waitUntil("the order is settled", timeout: .seconds(20)) { try await live.status(stack, "bad-1") != "pending" }
        #expect(try await live.status(stack, "bad-1") == "filled")
        #expect(try await live.positionQuantity(stack) == 2)
        #expect(exchange.state.withLock { $0.orderCalls } == 1)
    }

    @Test("a trade in the window of an order created before it (a resting exit) is looked up by orderId: the sweep is still proof of absence")
    func sweepLooksUpUnlistedOrders() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange)
        let now = exchange.serverNow()
        exchange.state.withLock {
            var exit = FakeExchange.Placed(orderID: 1, symbol: "BTCUSDT", side: "SELL", quote: 100, quantity: 1)
            exit.time = now - 7_200_000
            exit.tradeTime = now
            $0.placed["exit-1"] = exit
        }
        exchange.fault = .failBeforePlacing
        let answer = try await stack.post("/api/trade/execute", live.order("never-1"))
        #expect(answer.status == 504, "\(answer.text)")
        try await waitUntil("the order is settled", timeout: .seconds(20)) { try await live.status(stack, "never-1") != "pending" }
        #expect(try await live.status(stack, "never-1") == "rejected")
        #expect(exchange.placedCount("never-1") == 0)
        let reason = try await stack.get("/api/orders/never-1").json["rejectReason"] as? String
        #expect(reason?.contains("allOrders and myTrades show nothing") == true, "\(reason ?? "")")
    }

    @Test("an order booked rejected that later turns up at the exchange is booked as its fill, with an ERROR and a notification")
    func lateFillOfRejected() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try await live.liveStack(
            exchange,
            ["LIVE_ABSENT_AFTER_MS": "6500", "NOTIFY_WEBHOOK_URL": receiver.url("events"), "LIVE_LATE_FILL_CHECK_MS": "1000"]
        )
        exchange.fault = .hideAfterPlacing(seconds: 1, hiddenMilliseconds: 10_000)
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)
        _ = try await stack.post("/api/trade/execute", live.order("ghost-1"))
        try await waitUntil("the order is booked rejected", timeout: .seconds(15)) { try await live.status(stack, "ghost-1") == "rejected" }
        #expect(try await live.positionQuantity(stack) == 0)
        try await waitUntil("the late fill is booked", timeout: .seconds(20)) { try await live.status(stack, "ghost-1") == "filled" }
        #expect(try await live.positionQuantity(stack) == 2)
        let cash = try #require(try await stack.account()["cash"] as? Double)
        #expect(abs(cash - (cashBefore - 200 - 0.2)) < 1e-9, "the fill's money is booked once")
        try await Task.sleep(for: .seconds(2))
        #expect(abs((try await stack.account()["cash"] as? Double ?? 0) - cash) < 1e-9, "and only once")
        #expect(stack.log("gateway").contains("booked rejected, found filled at the exchange"))
        let trail = try audit(stack)
        #expect(trail.contains("resolve ghost-1 rejected -> filled (late_fill) | reconciler | the exchange shows it FILLED"), "\(trail)")
        try await waitUntil("the late fill is posted") { receiver.received("events").contains { $0["event"] as? String == "late_fill" } }
    }

    @Test("an order that cannot be resolved halts its symbol (423 order_state_unresolved) until the operator resolves it with evidence")
    func unresolvedHaltsSymbol() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try await live.liveStack(exchange, ["LIVE_UNRESOLVED_ALERT_MS": "2000", "NOTIFY_WEBHOOK_URL": receiver.url("events")])
        exchange.fault = .outage
        #expect(try await stack.post("/api/trade/execute", live.order("stuck-1")).status == 504)
        try await waitUntil("the symbol is halted") {
            let unresolved = (try await stack.get("/health").json["liveOrders"] as? [String: Any])?["unresolved"] as? [[String: Any]] ?? []
            return unresolved.contains { $0["clientOrderId"] as? String == "stuck-1" }
        }
        // Unknown is pending: it counts in exposure and caps while it lasts.
        let risk = try #require(try await stack.get("/health").json["risk"] as? [String: Any])
        #expect(risk["pendingOrders"] as? Int == 1, "\(risk)")
        #expect(stack.log("gateway").contains("live order unresolved"))
        let halts = try await stack.get("/api/preflight").json["symbolHalts"] as? [String: String] ?? [:]
        #expect(halts["BTCUSDT"]?.contains("stuck-1") == true, "\(halts)")
        let refused = try await stack.post("/api/trade/execute", live.order("after-stuck"))
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "order_state_unresolved")
        try await waitUntil("the operator is told") {
            receiver.received("events").contains { $0["event"] as? String == "order_state_unresolved" }
        }

        // A restarted gateway knows the halt again before it lets a live order out.
        stack.kill("gateway")
        try stack.start("gateway")
        try await waitUntil("the restarted gateway's preflight passes") { try await stack.get("/api/preflight").json["ok"] as? Bool == true }
        #expect(try await stack.post("/api/trade/execute", live.order("after-restart")).json["error"] as? String == "order_state_unresolved")

        // Bad resolutions: a clear 4xx each, nothing booked.
        let path = "/api/live/orders/stuck-1/resolve"
        let bad: [(String, Int, String)] = [
            (#"{"outcome": "maybe", "evidence": "x"}"#, 422, "invalid_outcome"),
            (#"{"outcome": "filled", "evidence": "x"}"#, 422, "invalid_fill"),
            (#"{"outcome": "rejected"}"#, 422, "invalid_evidence"),
            (#"{"outcome": "rejected", "evidence": "x", "fill": {"price": 100, "quantity": 2}}"#, 422, "invalid_fill"),
            (#"{"outcome": "filled", "evidence": "x", "fill": {"price": -1, "quantity": 2}}"#, 422, "invalid_fill"),
            (#"{"outcome": "filled", "evidence": "x", "fill": {"price": 100, "quantity": 2, "fee": "a lot"}}"#, 400, "invalid_request"),
        ]
        for (body, status, code) in bad {
            let answer = try await stack.post(path, body)
            #expect(answer.status == status, "\(body): \(answer.text)")
            #expect(answer.json["error"] as? String == code, "\(body): \(answer.text)")
        }
        #expect(try await stack.post("/api/live/orders/nobody/resolve", #"{"outcome": "rejected", "evidence": "x"}"#).status == 404)
        let unauthorised = try await stack.request(
            "POST",
            path,
            body: Data(#"{"outcome": "rejected", "evidence": "x"}"#.utf8),
            headers: ["Authorization": "Bearer wrong"]
        )
        #expect(unauthorised.status == 401)
        #expect(try await live.status(stack, "stuck-1") == "pending")

        let evidence = "exchange support ticket 4711: orderId 1000 FILLED 2 BTC for 200 USDT, commission 0.2 USDT"
        let resolved = try await stack.post(
            path,
            #"{"outcome": "filled", "evidence": "\#(evidence)", "fill": {"price": 100, "quantity": 2, "fee": 0.2}, "requestedBy": "ops"}"#
        )
        #expect(resolved.status == 200, "\(resolved.text)")
        #expect(resolved.json["status"] as? String == "filled")
        #expect(try await live.positionQuantity(stack) == 2)
        #expect(try await stack.post(path, #"{"outcome": "rejected", "evidence": "x"}"#).status == 409, "a settled order is not resolved again")
        let trail = try audit(stack)
        #expect(trail.contains("resolve stuck-1 pending -> filled (operator) | ops | \(evidence)"), "\(trail)")
        try await waitUntil("the halt is lifted") {
            ((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["unresolved"] as? [Any])?.isEmpty == true
        }
        exchange.fault = .none
        #expect(try await stack.post("/api/trade/execute", live.order("after-resolve")).status == 200)
    }
}
