import Foundation
import GRDB
import Logging
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire
import WorkerRuntime

extension LedgerStore {
    /// The equity history table (migration `v2-equity`).
    static func registerEquityMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-equity") { db in
            try db.execute(
                sql: """
                    CREATE TABLE equity_points (
                        ts INTEGER NOT NULL, equity TEXT NOT NULL, cash TEXT NOT NULL, peak_equity TEXT NOT NULL, drawdown REAL NOT NULL);
                    CREATE INDEX equity_points_by_time ON equity_points(ts);
                    """
            )
        }
    }

    func appendEquity(_ point: EquityPoint) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO equity_points (ts, equity, cash, peak_equity, drawdown) VALUES (?, ?, ?, ?, ?)",
                arguments: [point.ts, "\(point.equity)", "\(point.cash)", "\(point.peakEquity)", point.drawdown]
            )
        }
    }

    /// Points at or after `since`, oldest first; the newest `limit` when there are more.
    func equity(since: Int64, limit: Int) throws -> [EquityPoint] {
        try database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT ts, equity, cash, peak_equity, drawdown FROM equity_points WHERE ts >= ? ORDER BY ts DESC, rowid DESC LIMIT ?",
                arguments: [since, limit]
            )
            return rows.reversed().map { row in
                EquityPoint(
                    ts: row["ts"],
                    equity: Decimal(string: row["equity"]) ?? 0,
                    cash: Decimal(string: row["cash"]) ?? 0,
                    peakEquity: Decimal(string: row["peak_equity"]) ?? 0,
                    drawdown: row["drawdown"]
                )
            }
        }
    }
}

/// Records the equity history: a point on every fill, and whenever the last point is a minute
/// old (checked on every ledger change and by a timer, so at least once a minute). A failed
/// history write is logged, never fatal: the history is for charts, not for money.
final class EquityRecorder: Sendable {
    private let store: LedgerStore
    private let logger: Logger
    private let lastRecorded = Mutex<Int64>(0)
    static let interval: Int64 = 60_000

    init(store: LedgerStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Called after each ledger change with the orders it wrote.
    func observe(_ engine: RiskEngine, orders: [Order], now: Int64 = unixMilliseconds()) {
        guard let point = due(engine, orders: orders, now: now) else { return }
        do {
            try store.appendEquity(point)
        } catch {
            logger.warning("equity point not recorded", metadata: ["error": "\(error)"])
        }
    }

    /// The point to record after a change that wrote `orders`, when one is due (a fill, or a
    /// minute since the last point); the caller writes it, in the change's own transaction.
    func due(_ engine: RiskEngine, orders: [Order], now: Int64 = unixMilliseconds()) -> EquityPoint? {
        let filled = orders.contains { $0.status == .filled }
        let due = lastRecorded.withLock { last in
            guard filled || now - last >= Self.interval else { return false }
            last = now
            return true
        }
        guard due else { return nil }
        let account = engine.status.account
        return EquityPoint(ts: now, equity: account.equity, cash: account.cash, peakEquity: account.peakEquity, drawdown: account.drawdown)
    }

    /// What the timer finds when it looks at the engine.
    enum TimerRead {
        /// The owner is gone: the timer stops.
        case gone
        /// Changes are waiting for their commit: a point now would show what is not on disk yet.
        case busy
        case ready(RiskEngine)
    }

    /// Checks every quarter `interval` whether a point is due, so the minute holds even when nothing asks
    /// the risk worker anything.
    func startTimer(engine: @escaping @Sendable () -> TimerRead) {
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Double(Self.interval) / 4_000)
                switch engine() {
                case .gone: return
                case .busy: continue
                case .ready(let current): observe(current, orders: [])
                }
            }
        }
    }

    /// The `equity` operation.
    func register(on handler: inout OperationHandler) {
        handler.on(Operations.Risk.equity) { [store] (request: WireRequest<EquityQuery>) throws(WireError) -> EquityHistory in
            do {
                return EquityHistory(points: try store.equity(since: request.payload.since, limit: min(max(request.payload.limit, 1), 10_000)))
            } catch {
                throw WireError(code: "ledger_unavailable", detail: "\(error)", status: 503)
            }
        }
    }
}
