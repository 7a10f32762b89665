import Foundation
import Synchronization
import Testing

/// The risk worker's group commit against real processes: many orders at once, the risk worker
/// SIGKILLed while groups are being committed, restarted; afterwards every order answered as
/// filled is in the ledger once, nothing answered as failed was booked twice when retried, and
/// the cash is exactly what the booked fills say.
@Suite("group commit against the real stack", .serialized)
struct GroupCommitTests {
    /// Orders answered so far, shared by the tasks that send them.
    final class AnsweredCount: Sendable {
        let count = Mutex(0)
    }

    /// What one order's HTTP answers said.
    struct Outcome: Sendable {
        var id: String
        var side: String
        var status: Int
        var filled: Bool
    }

    @Test("SIGKILL of the risk worker mid-batch: nothing lost, nothing doubled; the cash matches the booked fills")
    func killMidBatch() async throws {
        let stack = try Stack([
            "PENDING_RECONCILE_MS": "1000", "REQUEST_TIMEOUT_MS": "1500", "MAX_ORDERS_PER_MINUTE": "1000000",
            "MAX_ORDER_USD": "100000", "MAX_POSITION_USD": "1000000", "MAX_GROSS_EXPOSURE_USD": "1000000",
        ])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)

        let connections = 24
        let perConnection = 40  // 960 orders: the ledger listing below reads at most 1000
        let killed = Mutex(false)
        let answered = AnsweredCount()
        let outcomes = try await withThrowingTaskGroup(of: [Outcome].self) { group in
            for connection in 0..<connections {
                group.addTask {
                    var outcomes: [Outcome] = []
                    for index in 0..<perConnection {
                        let id = "gc-\(connection)-\(index)"
                        let side = index % 2 == 0 ? "buy" : "sell"
                        let answer = try await stack.post(
                            "/api/trade/execute",
                            #"{"symbol": "BTCUSDT", "side": "\#(side)", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "\#(id)"}"#,
                            session: Stack.wideSession
                        )
                        outcomes.append(Outcome(id: id, side: side, status: answer.status, filled: answer.json["status"] as? String == "filled"))
                        answered.count.withLock { $0 += 1 }
                    }
                    return outcomes
                }
            }
            // Kill while the orders are flowing, with a group applied and waiting for its commit:
            // another connection (an operator's sqlite3) holds the ledger's write lock.
            try await waitUntil("a fifth of the orders are answered", timeout: .seconds(60)) {
                answered.count.withLock { $0 } >= connections * perConnection / 5
            }
            let lock = Process()
            lock.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            lock.arguments = [
                "-c",
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(3)",
                stack.directory.appendingPathComponent("data/ledger.sqlite").path,
            ]
            let lockOutput = Pipe()
            lock.standardOutput = lockOutput
            try lock.run()
            _ = lockOutput.fileHandleForReading.availableData  // "locked": the next commit waits
            try await Task.sleep(for: .milliseconds(300))
            stack.kill("risk-worker")
            lock.terminate()
            lock.waitUntilExit()
            killed.withLock { $0 = true }
            try await Task.sleep(for: .milliseconds(300))
            try stack.start("risk-worker#2")
            var all: [Outcome] = []
            for try await outcome in group { all += outcome }
            return all
        }
        #expect(killed.withLock { $0 })
        #expect(
            stack.log("risk-worker").contains("the ledger is locked by another connection: waiting"),
            "the kill came while a group waited for its commit"
        )
        #expect(outcomes.count == connections * perConnection)
        let answeredFilled = outcomes.filter { $0.status == 200 && $0.filled }
        let failed = outcomes.filter { $0.status != 200 }
        #expect(!answeredFilled.isEmpty)
        #expect(!failed.isEmpty, "the kill should have failed some orders in flight")

        try await waitUntil("no order is left pending", timeout: .seconds(30)) {
            let pending = try await stack.get("/api/orders?status=pending&limit=1000").json["orders"] as? [[String: Any]] ?? []
            return pending.isEmpty
        }
        // Retrying every failed order with its id never makes a second fill.
        for outcome in failed {
            let retry = try await stack.post(
                "/api/trade/execute",
                #"{"symbol": "BTCUSDT", "side": "\#(outcome.side)", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "\#(outcome.id)"}"#
            )
            #expect([200, 409, 422].contains(retry.status), "\(outcome.id): \(retry.text)")
        }

        let orders = try await stack.get("/api/orders?limit=1000").json["orders"] as? [[String: Any]] ?? []
        var byID: [String: [String: Any]] = [:]
        for order in orders {
            let id = (order["intent"] as? [String: Any])?["clientOrderId"] as? String ?? ""
            #expect(byID[id] == nil, "order \(id) listed twice")
            byID[id] = order
        }
        for outcome in answeredFilled {
            #expect(
                byID[outcome.id]?["status"] as? String == "filled",
                "order \(outcome.id) was answered filled but the ledger says \(byID[outcome.id]?["status"] ?? "nothing")"
            )
        }
        var expectedCash = 100_000.0
        for order in orders where order["status"] as? String == "filled" {
            let fill = order["fill"] as? [String: Any] ?? [:]
            let notional = fill["notional"] as? Double ?? 0
            let fee = fill["fee"] as? Double ?? 0
            let side = (order["intent"] as? [String: Any])?["side"] as? String
            expectedCash += side == "buy" ? -notional - fee : notional - fee
        }
        let cash = try #require(try await stack.account()["cash"] as? Double)
        #expect(abs(cash - expectedCash) < 1e-6, "cash \(cash) but the booked fills say \(expectedCash)")
        #expect(stack.log("risk-worker#2").contains("ledger opened"))
    }

    @Test("a halt goes ahead of the reserves waiting at the broker: they are refused, not booked")
    func haltJumpsTheQueue() async throws {
        let stack = try Stack([
            "REQUEST_TIMEOUT_MS": "8000", "MAX_ORDERS_PER_MINUTE": "1000000", "PENDING_RECONCILE_MS": "60000", "HEARTBEAT_LIVENESS": "25",
        ])
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        // The risk worker stops: the first reserve is in its hands, the others wait at the broker.
        stack.signal("risk-worker", SIGSTOP)
        let orders = 20
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<orders {
                // The first is sent alone, so that it is the one REQUEST the stopped worker holds.
                if index == 1 { try await Task.sleep(for: .milliseconds(400)) }
                group.addTask {
                    try await stack.post(
                        "/api/trade/execute",
                        #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "queued-\#(index)"}"#,
                        session: Stack.wideSession
                    ).status
                }
            }
            try await Task.sleep(for: .milliseconds(800))
            group.addTask { try await stack.post("/api/halt", #"{"reason": "priority check"}"#, session: Stack.wideSession).status }
            try await Task.sleep(for: .milliseconds(500))
            stack.signal("risk-worker", SIGCONT)
            var all: [Int] = []
            for try await status in group { all.append(status) }
            return all
        }
        #expect(statuses.count == orders + 1)
        // Only the order the stopped worker held was booked; the rest came after the halt.
        let booked = try await stack.get("/api/orders?limit=1000").json["orders"] as? [[String: Any]] ?? []
        #expect(booked.count <= 1, "\(booked.count) orders were booked behind a halt that was asked before them")
        #expect(statuses.filter { $0 == 200 }.count <= 2, "\(statuses)")
    }
}
