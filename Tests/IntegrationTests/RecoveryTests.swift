import Foundation
import Testing

/// One recovery path: every execute answer names its order, the paper execution worker's
/// journal is the truth of what was executed, and a retry never makes a second fill.
@Suite("recovery against the real stack", .serialized)
struct RecoveryTests {
    @Test("a stopped risk worker: 504 carries the order id; the retry with it fills once (duplicate: true when the reserve had reached the worker)")
    func stoppedRiskWorkerRetry() async throws {
        let stack = try Stack(["PENDING_RECONCILE_MS": "1500", "REQUEST_TIMEOUT_MS": "1500"])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let cashBefore = try #require(try await stack.account()["cash"] as? Double)

        stack.signal("risk-worker", SIGSTOP)
        let first = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9}"#)
        stack.signal("risk-worker", SIGCONT)
        #expect([503, 504].contains(first.status), "\(first.text)")
        let id = try #require(first.json["clientOrderId"] as? String, "the error answer names the order: \(first.text)")
        try await waitUntil("the stack is healthy again") { try await stack.get("/health").json["ok"] as? Bool == true }

        let retry = try await stack.post(
            "/api/trade/execute",
            #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9, "clientOrderId": "\#(id)"}"#
        )
        #expect(retry.status == 200, "\(retry.text)")
        // The reserve either reached the stopped worker, which books it when it wakes, so the
        // retry finds it (duplicate), or it provably never ran: still waiting for the worker (a
        // status poll in hand) when its deadline passed ("no worker was free"), or waiting when
        // the silent worker was dropped (503, no live worker). Then the retry places it (not a
        // duplicate): the gateway's never-send-twice policy (`BrokerError.mayHaveRun`). One fill
        // either way.
        let neverRan = first.status == 503 || first.text.contains("no worker was free")
        #expect(retry.json["duplicate"] as? Bool == !neverRan, "first: \(first.text); retry: \(retry.text)")
        #expect(retry.json["status"] as? String == "filled")
        try await Task.sleep(for: .seconds(3))  // past PENDING_RECONCILE_MS: reconciliation must not add a fill
        let filled = try await stack.get("/api/orders?status=filled").json["orders"] as? [[String: Any]] ?? []
        #expect(filled.count == 1)
        let fill = try #require(retry.json["fill"] as? [String: Any])
        let paid = (fill["notional"] as? Double ?? 0) + (fill["fee"] as? Double ?? 0)
        let cashAfter = try #require(try await stack.account()["cash"] as? Double)
        #expect(abs(cashBefore - cashAfter - paid) < 1e-6, "exactly one fill was booked")
    }

    @Test("a pending order that execution never saw is reconciled as rejected (expired_unsent), not filled")
    func neverExecutedIsRejected() async throws {
        let stack = try Stack(["PENDING_RECONCILE_MS": "1000", "REQUEST_TIMEOUT_MS": "1500"])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        stack.signal("execution-worker", SIGSTOP)
        let body = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9, "clientOrderId": "never-sent-1"}"#
        let first = try await stack.post("/api/trade/execute", body)
        #expect(first.status == 504, "\(first.text)")
        #expect(first.json["clientOrderId"] as? String == "never-sent-1")
        stack.kill("execution-worker")  // it held the order and never executed it
        try stack.start("execution-worker#2")
        try await waitUntil("the pending order is reconciled") {
            try await stack.get("/api/orders/never-sent-1").json["status"] as? String != "pending"
        }
        let order = try await stack.get("/api/orders/never-sent-1").json
        #expect(order["status"] as? String == "rejected")
        #expect((order["rejectReason"] as? String ?? "").contains("expired_unsent"))
        #expect(try await stack.account()["cash"] as? Double == 100_000)
    }
}
