import Foundation
import Synchronization
import Testing

/// The risk worker as the persistent authority: the drawdown brake on real prices across
/// restarts, and orders that are neither lost nor doubled when processes crash between steps.
@Suite("risk and ledger against the real stack", .serialized)
struct RiskLedgerTests {
    static let buy = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 5000, "confidence": 0.9}"#

    @Test("replayed candles trip the drawdown brake: 423 risk_locked, logged, kept across restarts, cleared by reset")
    func drawdownBrakeAcrossRestarts() async throws {
        let stack = try Stack(["STARTING_EQUITY_USD": "10000", "MAX_DRAWDOWN": "0.02", "MAX_POSITION_USD": "20000"])
        try await stack.startAll()
        #expect(try await stack.feedCandles(count: 61).status == 200)
        let bought = try await stack.post("/api/trade/execute", Self.buy)
        #expect(bought.status == 200, "\(bought.text)")

        // From candle 61 the real ETH/BTC series falls about 10 % over the next 164 candles.
        var locked = false
        var offset = 61
        while !locked && offset < 400 {
            let fed = try await stack.feedCandles(count: 10, from: offset)
            #expect(fed.status == 200)
            locked = fed.json["riskLocked"] as? Bool == true
            offset += 10
        }
        #expect(locked, "the brake never tripped")
        let refused = try await stack.post("/api/trade/execute", Self.buy)
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "risk_locked")
        let consensus = try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 5, "rv_5": 0.2, "rsi_14": 90}}"#)
        #expect(consensus.json["allow"] as? Bool == false)
        #expect((consensus.json["reasons"] as? [String] ?? []).contains { $0.contains("risk_locked") })
        #expect(stack.log("gateway").contains("risk_locked"))
        let health = try await stack.get("/health").json
        let risk = try #require(health["risk"] as? [String: Any])
        #expect(risk["locked"] as? Bool == true)
        #expect((risk["drawdown"] as? Double ?? 0) >= 0.02)

        try await stack.restartAll()
        let afterRestart = try await stack.get("/health").json["risk"] as? [String: Any]
        #expect(afterRestart?["locked"] as? Bool == true, "the lock must survive restarts")
        #expect(try await stack.post("/api/trade/execute", Self.buy).status == 423)

        let reset = try await stack.post("/api/risk/reset", #"{"reason": "post-mortem done", "requestedBy": "test-operator"}"#)
        #expect(reset.status == 200)
        #expect(stack.log("gateway").contains("test-operator"))
        let again = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 1000, "confidence": 0.9}"#)
        #expect(again.status == 200, "\(again.text)")
        #expect(again.json["status"] as? String == "filled")
    }

    @Test("an execution worker that dies holding an order it never executed: rejected expired_unsent, never filled, the retry is the same order")
    func executionCrash() async throws {
        let stack = try Stack(["PENDING_RECONCILE_MS": "1000", "REQUEST_TIMEOUT_MS": "1500"])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)

        stack.signal("execution-worker", SIGSTOP)  // it will receive the order and never answer
        let body = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9, "clientOrderId": "crash-exec-1"}"#
        let first = try await stack.post("/api/trade/execute", body)
        #expect([504].contains(first.status), "\(first.text)")
        #expect(first.json["error"] as? String == "order_state_unknown")
        #expect(first.json["clientOrderId"] as? String == "crash-exec-1")
        stack.kill("execution-worker")
        try stack.start("execution-worker#2")

        try await waitUntil("the pending order is reconciled") {
            try await stack.get("/api/orders/crash-exec-1").json["status"] as? String == "rejected"
        }
        let repeated = try await stack.post("/api/trade/execute", body)
        #expect(repeated.status == 200)
        #expect(repeated.json["duplicate"] as? Bool == true)
        #expect(repeated.json["status"] as? String == "rejected")
        #expect(try await stack.account()["cash"] as? Double == cashBefore, "nothing was booked")
        let filled = try await stack.get("/api/orders?status=filled").json["orders"] as? [[String: Any]]
        #expect(filled?.isEmpty == true)
    }

    @Test("a risk worker that dies between execution and settlement: the fill lands once, after restart")
    func riskCrashBeforeSettle() async throws {
        let stack = try Stack(["PENDING_RECONCILE_MS": "60000", "REQUEST_TIMEOUT_MS": "1500"])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)

        stack.signal("execution-worker", SIGSTOP)
        let body = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 2000, "confidence": 0.9, "clientOrderId": "crash-risk-1"}"#
        async let answer = stack.post("/api/trade/execute", body)
        try await waitUntil("the order is pending in the ledger") {
            try await stack.get("/api/orders/crash-risk-1").json["status"] as? String == "pending"
        }
        stack.signal("risk-worker", SIGSTOP)
        stack.signal("execution-worker", SIGCONT)  // the fill is made; settling it now fails
        try await Task.sleep(for: .milliseconds(800))
        stack.kill("risk-worker")
        try stack.start("risk-worker#2")
        let result = try await answer
        #expect([200, 504].contains(result.status), "\(result.text)")

        try await waitUntil("the order is filled in the ledger") {
            try await stack.get("/api/orders/crash-risk-1").json["status"] as? String == "filled"
        }
        let repeated = try await stack.post("/api/trade/execute", body)
        #expect(repeated.json["duplicate"] as? Bool == true)
        let fill = try #require(repeated.json["fill"] as? [String: Any])
        let paid = (fill["notional"] as? Double ?? 0) + (fill["fee"] as? Double ?? 0)
        let cashAfter = try #require(try await stack.account()["cash"] as? Double)
        #expect(abs(cashBefore - cashAfter - paid) < 1e-6, "exactly one fill was booked")
        #expect((try await stack.get("/health").json["risk"] as? [String: Any])?["pendingOrders"] as? Int == 0)
    }

    @Test("a halt reaches every worker, measured from their own logs")
    func haltReachesEveryWorker() async throws {
        let stack = try Stack(["CONTROL_INTERVAL_MS": "5000", "CONTROL_STALE_MS": "20000"])
        try await stack.startAll()
        let workers = ["feature-worker", "model-worker", "risk-worker", "execution-worker"]
        let start = ContinuousClock.now
        #expect(try await stack.post("/api/halt", #"{"reason": "drill"}"#).status == 200)
        try await waitUntil("every worker heard the halt", timeout: .seconds(3)) {
            workers.allSatisfy { stack.log($0).contains("\"halted\":\"true\"") }
        }
        let elapsed = ContinuousClock.now - start
        print("halt heard by all \(workers.count) workers within \(elapsed) of the HTTP call")
        #expect(elapsed < .seconds(1))
        let orders = try await stack.get("/api/orders").json["orders"] as? [Any]
        #expect(orders?.isEmpty == true)
        let positions = try await stack.account()
        #expect(positions["equity"] as? Double == 100_000)
    }

    @Test("an execute with no known price is refused, unless the operator allows request prices")
    func requestPrice() async throws {
        let strict = try Stack()
        try await strict.startAll()
        let refused = try await strict.post(
            "/api/trade/execute",
            #"{"symbol": "ETHUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9, "price": 2500}"#
        )
        #expect(refused.status == 422)
        #expect(refused.json["error"] as? String == "request_price_not_allowed")
        strict.stopAll()

        let lenient = try Stack(["ALLOW_REQUEST_PRICE": "true"])
        try await lenient.startAll()
        let filled = try await lenient.post(
            "/api/trade/execute",
            #"{"symbol": "ETHUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9, "price": 2500}"#
        )
        #expect(filled.status == 200, "\(filled.text)")
        #expect(filled.json["dryRun"] as? Bool == true)
    }
}
