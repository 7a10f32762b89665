import Foundation
import GRDB
import Logging
import ServiceSupport
import Testing
import TradingDomain
import TradingWire
import WorkerRuntime

@testable import RiskWorker

/// The live book in the ledger: a mismatch survives a restart, and an adoption is audited with
/// who, why and the balances before and after.
@Suite("the live book in the ledger")
struct LiveBookLedgerTests {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("live-book-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func worker() throws -> (RiskWorker, OperationHandler) {
        let reader = EnvironmentReader(["DATA_DIR": path, "STARTING_EQUITY_USD": "100000"])
        let worker = try RiskWorker(configuration: try RiskConfiguration(reader: reader), logger: Logger(label: "test"))
        return (worker, worker.handler())
    }

    func call<Payload, Result>(
        _ worker: (RiskWorker, OperationHandler),
        _ operation: WireOperation<Payload, Result>,
        _ payload: Payload
    ) throws -> WireReply<Result> {
        let body = try WireCodec.encode(operation.request(payload, requestID: "t"))
        return try WireCodec.decode(WireReply<Result>.self, from: try #require(worker.0.handle(bodies: [body], with: worker.1).first))
    }

    func account(_ balances: [String: Decimal]) -> ExchangeAccount {
        ExchangeAccount(balances: balances.map { ExchangeBalance(asset: $0.key, free: $0.value, locked: 0) }, takenAt: 1)
    }

    func report(_ balances: [String: Decimal], version: Int64?) -> AccountReport {
        AccountReport(account: account(balances), problem: nil, symbols: ["BTCUSDT"], bookVersion: version, toleranceBps: 10)
    }

    @Test("a mismatch and the live book survive a restart of the risk worker")
    func survivesRestart() throws {
        let first = try worker()
        _ = try call(first, Operations.Risk.mark, MarkRequest(symbol: "BTCUSDT", price: 100, ts: 1)).get()
        let built = try call(first, Operations.Risk.applyAccount, report(["BTC": 2, "USDT": 1_000], version: nil)).get()
        #expect(built.outcome == "built")
        let mismatch = try call(first, Operations.Risk.applyAccount, report(["BTC": 3, "USDT": 1_000], version: built.version)).get()
        #expect(mismatch.reconciliation.state == .mismatch)

        let second = try worker()
        let status = try call(second, Operations.Risk.status, Empty()).get()
        let live = try #require(status.live)
        #expect(live.reconciliation == mismatch.reconciliation)
        #expect(live.balances == ["BTC": 2, "USDT": 1_000])
        #expect(live.account?.equity == 1_200)
        #expect(status.flags.accountHold?.hasPrefix("account_mismatch: BTC: exchange 3, live book 2") == true)
        #expect(status.account.equity == 100_000, "the paper book is apart")
    }

    @Test("an adoption is audited: who, why, the balances before and after; without a reason it is refused")
    func adoptAudited() throws {
        let risk = try worker()
        _ = try call(risk, Operations.Risk.mark, MarkRequest(symbol: "BTCUSDT", price: 100, ts: 1)).get()
        let built = try call(risk, Operations.Risk.applyAccount, report(["BTC": 2, "USDT": 1_000], version: nil)).get()
        _ = try call(risk, Operations.Risk.applyAccount, report(["BTC": 3, "USDT": 900], version: built.version)).get()
        let refused = try call(
            risk,
            Operations.Risk.adoptAccount,
            AdoptRequest(account: account(["BTC": 3, "USDT": 900]), symbols: ["BTCUSDT"], requestedBy: "ops", reason: " ")
        )
        #expect(refused.error?.code == "reason_required")
        let adopted = try call(
            risk,
            Operations.Risk.adoptAccount,
            AdoptRequest(account: account(["BTC": 3, "USDT": 900]), symbols: ["BTCUSDT"], requestedBy: "ops", reason: "bought 1 BTC in the app")
        ).get()
        #expect(adopted.reconciliation.state == .ok)
        #expect(adopted.flags?.accountHold == nil)
        let queue = try DatabaseQueue(path: (path as NSString).appendingPathComponent("ledger.sqlite"))
        let row = try #require(try queue.read { db in try Row.fetchOne(db, sql: "SELECT * FROM audit WHERE action = 'adopt'") })
        #expect(row["requested_by"] as String == "ops")
        let reason: String = row["reason"]
        #expect(reason == "bought 1 BTC in the app | before: BTC 2, USDT 1000 | after: BTC 3, USDT 900", "\(reason)")
    }
}
