import Foundation
import GRDB
import Logging
import ServiceSupport
import Testing
import TradingDomain
import TradingWire
import WorkerRuntime

@testable import RiskWorker

/// A group commit the ledger refuses must leave memory exactly as the ledger has it: the group's
/// undo is a checkpoint of the engine without its book plus the first prior state of each order
/// the group touched, not a copy of the whole engine.
@Suite("the risk worker's group undo")
struct GroupUndoTests {
    struct Harness {
        let worker: RiskWorker
        let operations: OperationHandler
        let path: String

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("group-undo-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let reader = EnvironmentReader(["DATA_DIR": path, "LEDGER_BUSY_TIMEOUT_MS": "100", "STARTING_EQUITY_USD": "10000"])
            worker = try RiskWorker(configuration: try RiskConfiguration(reader: reader), logger: Logger(label: "test"))
            operations = worker.handler()
        }

        func body<Payload, Result>(_ operation: WireOperation<Payload, Result>, _ payload: Payload) throws -> [UInt8] {
            try WireCodec.encode(operation.request(payload, requestID: "t"))
        }

        func group(_ bodies: [[UInt8]]) -> [[UInt8]] { worker.handle(bodies: bodies, with: operations) }

        func call<Payload, Result>(_ operation: WireOperation<Payload, Result>, _ payload: Payload) throws -> WireReply<Result> {
            try WireCodec.decode(WireReply<Result>.self, from: try #require(group([try body(operation, payload)]).first))
        }

        func status() throws -> RiskStatus { try call(Operations.Risk.status, Empty()).get() }
        func order(_ id: String) throws -> WireReply<Order> { try call(Operations.Risk.order, OrderQuery(clientOrderId: id)) }
        func reserve(_ id: String, _ side: Side, _ usd: Decimal) throws -> [UInt8] {
            try body(
                Operations.Risk.reserve,
                ReserveRequest(intent: OrderIntent(clientOrderId: id, symbol: "BTCUSDT", side: side, qtyUsd: usd, confidence: 0.9), mode: .paper)
            )
        }
        func settle(_ id: String, quantity: Decimal, notional: Decimal) throws -> [UInt8] {
            let fill = try Fill(price: 100, quantity: quantity, notional: notional, fee: 0, dryRun: true, filledAt: 1)
            return try body(Operations.Risk.settle, SettleRequest(clientOrderId: id, fill: fill, rejectReason: nil))
        }

        /// Holds the ledger's write lock from another connection while `body` runs.
        func whileLedgerLocked(_ body: () throws -> Void) throws {
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true
            let session = try DatabaseQueue(path: (path as NSString).appendingPathComponent("ledger.sqlite"), configuration: configuration)
            try session.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            defer { try? session.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") } }
            try body()
        }
    }

    @Test("a group refused as ledger_busy leaves memory as the ledger has it; the same requests then pass")
    func busyGroupUndone() throws {
        let harness = try Harness()
        #expect(try harness.call(Operations.Risk.mark, MarkRequest(symbol: "BTCUSDT", price: 100, ts: 1)).error == nil)
        // One order filled (a position), one left pending.
        for reply in harness.group([
            try harness.reserve("filled", .buy, 50), try harness.settle("filled", quantity: Decimal(string: "0.5")!, notional: 50),
        ]) {
            #expect(try WireCodec.decode(WireReply<Empty>.self, from: reply).error == nil)
        }
        #expect(
            try harness.call(
                Operations.Risk.reserve,
                ReserveRequest(
                    intent: OrderIntent(clientOrderId: "pending", symbol: "BTCUSDT", side: .buy, qtyUsd: 20, confidence: 0.9),
                    mode: .paper
                )
            ).error == nil
        )
        let before = try harness.status()
        #expect(before.account.pendingOrders == 1)

        // A group that reserves two new orders and settles the pending one, refused by the ledger.
        let group = [
            try harness.reserve("new-buy", .buy, 30), try harness.settle("pending", quantity: Decimal(string: "0.2")!, notional: 20),
            try harness.reserve("new-sell", .sell, 10),
        ]
        var refused: [[UInt8]] = []
        try harness.whileLedgerLocked { refused = harness.group(group) }
        #expect(refused.count == 3)
        for reply in refused {
            #expect(try WireCodec.decode(WireReply<Empty>.self, from: reply).error?.code == "ledger_busy")
        }
        let after = try harness.status()
        #expect(after.account == before.account, "cash, positions and the pending count are as before the group")
        #expect(after.flags == before.flags)
        #expect(try harness.order("pending").get().status == .pending)
        #expect(try harness.order("new-buy").error?.code == "unknown_order")
        #expect(try harness.order("new-sell").error?.code == "unknown_order")

        // Nothing of the refused group lingers: the same requests pass as if for the first time.
        for reply in harness.group(group) {
            #expect(try WireCodec.decode(WireReply<Empty>.self, from: reply).error == nil)
        }
        let retried = try harness.status()
        #expect(retried.account.pendingOrders == 2)
        #expect(retried.account.positions.first?.quantity == Decimal(string: "0.7")!)
        #expect(try harness.order("pending").get().status == .filled)
        let duplicate: ReserveResult = try harness.call(
            Operations.Risk.reserve,
            ReserveRequest(
                intent: OrderIntent(clientOrderId: "new-buy", symbol: "BTCUSDT", side: .buy, qtyUsd: 30, confidence: 0.9),
                mode: .paper
            )
        ).get()
        #expect(duplicate.duplicate)
    }
}
