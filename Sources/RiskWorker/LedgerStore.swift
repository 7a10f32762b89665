import Foundation
import GRDB
import Logging
import Synchronization
import TradingDomain
import TradingWire

/// The risk worker's ledger in SQLite (WAL): orders, positions, marks, the account row (cash,
/// peak, halt and lock), and an audit trail of operator actions. Decimals are stored as text, so
/// amounts come back exactly as they went in.
final class LedgerStore: Sendable {
    let database: DatabasePool
    /// The live book as the ledger holds it: written again only when the engine's differs.
    private let savedLiveBook = Mutex(LiveBook())

    /// Opens (creating if needed) `ledger.sqlite` under `directory`.
    ///
    /// Every commit is fsynced: GRDB's `DatabasePool` sets `synchronous = NORMAL` on the writer
    /// when it turns WAL on (after `prepareDatabase`), so `FULL` is set on the writer connection
    /// once the pool exists, and read back. Another connection holding a lock (an operator's
    /// `sqlite3`) makes a write wait up to `busyTimeoutMilliseconds`, logging a WARN once per wait.
    init(directory: String, busyTimeoutMilliseconds: Int = 30_000, logger: Logger? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        let pauseMicroseconds: UInt32 = 20_000
        let tries = max(1, busyTimeoutMilliseconds * 1_000 / Int(pauseMicroseconds))
        configuration.busyMode = .callback { numberOfTries in
            if numberOfTries == 0 {
                logger?.warning("the ledger is locked by another connection: waiting", metadata: ["timeoutMs": "\(busyTimeoutMilliseconds)"])
            }
            guard numberOfTries < tries else {
                logger?.warning("the ledger stayed locked: giving up this write", metadata: ["timeoutMs": "\(busyTimeoutMilliseconds)"])
                return false
            }
            usleep(pauseMicroseconds)
            return true
        }
        database = try DatabasePool(path: (directory as NSString).appendingPathComponent("ledger.sqlite"), configuration: configuration)
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        guard try writerPragma("synchronous") == 2 else {
            throw LedgerError(detail: "the ledger's writer connection does not hold synchronous = FULL")
        }
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        cash TEXT NOT NULL, peak_equity TEXT NOT NULL,
                        halted INTEGER NOT NULL, halt_reason TEXT,
                        risk_locked INTEGER NOT NULL, lock_reason TEXT,
                        day TEXT NOT NULL, day_start_equity TEXT NOT NULL,
                        updated_at INTEGER NOT NULL);
                    CREATE TABLE positions (
                        symbol TEXT PRIMARY KEY, quantity TEXT NOT NULL, average_price TEXT NOT NULL, realized_pnl TEXT NOT NULL);
                    CREATE TABLE marks (symbol TEXT PRIMARY KEY, price TEXT NOT NULL, ts INTEGER NOT NULL);
                    CREATE TABLE orders (
                        client_order_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, status TEXT NOT NULL,
                        mode TEXT NOT NULL, body TEXT NOT NULL, updated_at INTEGER NOT NULL);
                    CREATE INDEX orders_by_status ON orders(status, created_at);
                    CREATE INDEX orders_by_time ON orders(created_at);
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, action TEXT NOT NULL,
                        requested_by TEXT NOT NULL, reason TEXT);
                    """
            )
        }
        registerEquityMigration(&migrator)
        migrator.registerMigration("fees-owed") { db in
            // Commissions in assets without a USD mark yet: a JSON object of decimal strings by asset.
            try db.execute(sql: "ALTER TABLE account ADD COLUMN fees_owed TEXT NOT NULL DEFAULT '{}'")
        }
        migrator.registerMigration("v3-protections") { db in
            try db.execute(
                sql: """
                    ALTER TABLE account ADD COLUMN reducing INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN reducing_reason TEXT;
                    CREATE TABLE protection_locks (id TEXT PRIMARY KEY, until INTEGER NOT NULL, body TEXT NOT NULL);
                    CREATE TABLE closed_trades (order_id TEXT PRIMARY KEY, closed_at INTEGER NOT NULL, body TEXT NOT NULL);
                    CREATE INDEX closed_trades_by_time ON closed_trades(closed_at);
                    CREATE TABLE candle_clocks (symbol TEXT PRIMARY KEY, newest_open_time INTEGER NOT NULL, interval_ms INTEGER NOT NULL);
                    """
            )
        }
        migrator.registerMigration("positions-dust") { db in
            // The part of a position the exchange cannot trade (a decimal string; '0' for none).
            try db.execute(sql: "ALTER TABLE positions ADD COLUMN dust TEXT NOT NULL DEFAULT '0'")
        }
        registerLiveBookMigration(&migrator)
        migrator.registerMigration("v5-price-source") { db in
            // A paper order's price source (book_ask, book_bid, last_close, request_price; NULL for
            // live orders and those written before): also in the body's terms and fill.
            try db.execute(sql: "ALTER TABLE orders ADD COLUMN price_source TEXT")
        }
        migrator.registerMigration("v6-exchange-backoff") { db in
            // The execution replicas' shared rate-limit back-off (Unix ms ends; 0 for none).
            try db.execute(
                sql: """
                    ALTER TABLE account ADD COLUMN backoff_orders_until INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN backoff_requests_until INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE account ADD COLUMN backoff_reason TEXT;
                    """
            )
        }
        return migrator
    }

    /// What the ledger holds, rebuilt into a risk engine with today's limits.
    func load(limits: RiskLimits, recentOrders: Int) throws -> RiskEngine {
        let engine = try database.read { db in
            let live = try Self.loadLiveBook(db)
            var engine: RiskEngine
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = 1") {
                var positions: [String: Portfolio.Position] = [:]
                for position in try Row.fetchAll(db, sql: "SELECT * FROM positions") {
                    positions[position["symbol"]] = Portfolio.Position(
                        quantity: try Self.decimal(position["quantity"]),
                        averagePrice: try Self.decimal(position["average_price"]),
                        realizedPnl: try Self.decimal(position["realized_pnl"]),
                        dust: try Self.decimal(position["dust"])
                    )
                }
                var marks: [String: Decimal] = [:]
                for mark in try Row.fetchAll(db, sql: "SELECT * FROM marks") {
                    marks[mark["symbol"]] = try Self.decimal(mark["price"])
                }
                var feesOwed: [String: Decimal] = [:]
                let owedText: String = row["fees_owed"]
                for (asset, amount) in try JSONDecoder().decode([String: String].self, from: Data(owedText.utf8)) {
                    feesOwed[asset] = try Self.decimal(amount)
                }
                let portfolio = Portfolio(
                    cash: try Self.decimal(row["cash"]),
                    positions: positions,
                    marks: marks,
                    peakEquity: try Self.decimal(row["peak_equity"]),
                    feesOwed: feesOwed
                )
                let flags = RiskFlags(
                    halted: row["halted"],
                    haltReason: row["halt_reason"],
                    riskLocked: row["risk_locked"],
                    lockReason: row["lock_reason"],
                    reducing: row["reducing"],
                    reducingReason: row["reducing_reason"],
                    exchangeBackoff: Self.backoff(row)
                )
                engine = RiskEngine(
                    limits: limits,
                    flags: flags,
                    portfolio: portfolio,
                    day: RiskEngine.TradingDay(date: row["day"], startEquity: try Self.decimal(row["day_start_equity"])),
                    protections: try Self.loadProtections(db),
                    candleClocks: try Self.loadClocks(db),
                    live: live
                )
            } else {
                engine = RiskEngine(limits: limits, live: live)
            }
            let decoder = JSONDecoder()
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT body FROM orders WHERE status = 'pending'
                    UNION ALL SELECT body FROM (SELECT body FROM orders WHERE status != 'pending' ORDER BY created_at DESC LIMIT ?)
                    """,
                arguments: [recentOrders]
            )
            for row in rows {
                let body: String = row["body"]
                engine.remember(try decoder.decode(Order.self, from: Data(body.utf8)))
            }
            return engine
        }
        savedLiveBook.withLock { $0 = engine.live }
        return engine
    }

    /// The shared rate-limit back-off the account row holds, nil when none was ever recorded.
    private static func backoff(_ row: Row) -> ExchangeBackoff? {
        let orders: Int64 = row["backoff_orders_until"] ?? 0
        guard orders > 0 else { return nil }
        return ExchangeBackoff(ordersUntil: orders, requestsUntil: row["backoff_requests_until"] ?? 0, reason: row["backoff_reason"] ?? "")
    }

    /// The protection locks and the newest 10,000 closed trades (the engine prunes what is older
    /// than its longest lookback).
    private static func loadProtections(_ db: Database) throws -> Protections {
        let decoder = JSONDecoder()
        let locks = try String.fetchAll(db, sql: "SELECT body FROM protection_locks ORDER BY until").map {
            try decoder.decode(ProtectionLock.self, from: Data($0.utf8))
        }
        let trades = try String.fetchAll(
            db,
            sql: "SELECT body FROM (SELECT body, closed_at FROM closed_trades ORDER BY closed_at DESC LIMIT 10000) ORDER BY closed_at"
        )
        .map { try decoder.decode(ClosedTrade.self, from: Data($0.utf8)) }
        return Protections(locks: locks, trades: trades)
    }

    private static func loadClocks(_ db: Database) throws -> [String: CandleClock] {
        var clocks: [String: CandleClock] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM candle_clocks") {
            clocks[row["symbol"]] = CandleClock(newestOpenTime: row["newest_open_time"], intervalMilliseconds: row["interval_ms"])
        }
        return clocks
    }

    /// The locks as the engine holds them, its closed trades of the given orders, and the
    /// candle clocks of the given symbols.
    private static func saveProtections(_ db: Database, _ engine: RiskEngine, orders: [Order], symbols: Set<String>, encoder: JSONEncoder) throws {
        let locks = engine.protections.locks
        let stored = try String.fetchAll(db, sql: "SELECT id FROM protection_locks")
        // A lock never changes once set: comparing ids finds every addition and removal.
        if Set(stored) != Set(locks.map(\.id)) {
            try db.execute(sql: "DELETE FROM protection_locks")
            for lock in locks {
                try db.executeCached(
                    sql: "INSERT INTO protection_locks (id, until, body) VALUES (?, ?, ?)",
                    arguments: [lock.id, lock.until, String(decoding: try encoder.encode(lock), as: UTF8.self)]
                )
            }
        }
        let closing = Set(orders.map(\.intent.clientOrderId))
        if !closing.isEmpty {
            for trade in engine.protections.trades where closing.contains(trade.orderId) {
                try db.executeCached(
                    sql: "INSERT OR IGNORE INTO closed_trades (order_id, closed_at, body) VALUES (?, ?, ?)",
                    arguments: [trade.orderId, trade.closedAt, String(decoding: try encoder.encode(trade), as: UTF8.self)]
                )
            }
        }
        for symbol in symbols {
            guard let clock = engine.candleClocks[symbol] else { continue }
            try db.executeCached(
                sql: "INSERT OR REPLACE INTO candle_clocks (symbol, newest_open_time, interval_ms) VALUES (?, ?, ?)",
                arguments: [symbol, clock.newestOpenTime, clock.intervalMilliseconds]
            )
        }
    }

    /// Writes the account, the given orders and the given symbols' positions and marks in one
    /// transaction: either all of it is on disk, or none.
    func save(_ engine: RiskEngine, orders: [Order] = [], symbols: [String] = [], audit: (action: String, by: String, reason: String?)? = nil) throws
    {
        var writes = LedgerWrites()
        writes.add(orders: orders, symbols: symbols, audit: audit)
        try save(engine, writes: writes)
    }

    /// Writes the account as `engine` holds it and everything `writes` collected (the changes
    /// of several requests, and an equity point) in one transaction, with one fsync: either all
    /// of it is on disk, or none.
    func save(_ engine: RiskEngine, writes: LedgerWrites, equity: EquityPoint? = nil) throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let orders = writes.orders
        let symbols = writes.symbols
        if let bad = engine.portfolio.nonFiniteAmount ?? orders.lazy.compactMap(\.nonFiniteAmount).first {
            throw LedgerRefusal(detail: "refused to write \(bad): not a number")
        }
        let feesOwedText = String(
            decoding: try encoder.encode(engine.portfolio.feesOwed.mapValues(\.plainText)),
            as: UTF8.self
        )
        let liveChanged = savedLiveBook.withLock { $0 != engine.live }
        try database.write { db in
            if liveChanged { try Self.saveLiveBook(db, engine.live, now: now) }
            let portfolio = engine.portfolio
            try db.executeCached(
                sql: """
                    INSERT INTO account (
                        id, cash, peak_equity, halted, halt_reason, risk_locked, lock_reason, day, day_start_equity, fees_owed, updated_at,
                        reducing, reducing_reason, backoff_orders_until, backoff_requests_until, backoff_reason)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET cash = excluded.cash, peak_equity = excluded.peak_equity, halted = excluded.halted,
                        halt_reason = excluded.halt_reason, risk_locked = excluded.risk_locked, lock_reason = excluded.lock_reason,
                        day = excluded.day, day_start_equity = excluded.day_start_equity, fees_owed = excluded.fees_owed,
                        updated_at = excluded.updated_at, reducing = excluded.reducing, reducing_reason = excluded.reducing_reason,
                        backoff_orders_until = excluded.backoff_orders_until, backoff_requests_until = excluded.backoff_requests_until,
                        backoff_reason = excluded.backoff_reason
                    """,
                arguments: [
                    portfolio.cash.plainText, portfolio.peakEquity.plainText, engine.flags.halted, engine.flags.haltReason, engine.flags.riskLocked,
                    engine.flags.lockReason, engine.day.date, engine.day.startEquity.plainText, feesOwedText, now, engine.flags.reducing,
                    engine.flags.reducingReason, engine.flags.exchangeBackoff?.ordersUntil ?? 0, engine.flags.exchangeBackoff?.requestsUntil ?? 0,
                    engine.flags.exchangeBackoff?.reason,
                ]
            )
            try Self.saveProtections(db, engine, orders: orders, symbols: Set(symbols), encoder: encoder)
            for symbol in symbols.sorted() {
                if let position = portfolio.positions[symbol] {
                    try db.executeCached(
                        sql: "INSERT OR REPLACE INTO positions (symbol, quantity, average_price, realized_pnl, dust) VALUES (?, ?, ?, ?, ?)",
                        arguments: [
                            symbol, position.quantity.plainText, position.averagePrice.plainText, position.realizedPnl.plainText,
                            position.dust.plainText,
                        ]
                    )
                }
                if let mark = portfolio.marks[symbol] {
                    try db.executeCached(
                        sql: "INSERT OR REPLACE INTO marks (symbol, price, ts) VALUES (?, ?, ?)",
                        arguments: [symbol, mark.plainText, now]
                    )
                }
            }
            for order in orders {
                let body = String(decoding: try WireCodec.encode(order), as: UTF8.self)
                try db.executeCached(
                    sql: """
                        INSERT INTO orders (client_order_id, created_at, status, mode, body, updated_at, price_source) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at,
                            price_source = excluded.price_source
                        """,
                    arguments: [
                        order.intent.clientOrderId, order.createdAt, order.status.rawValue, order.mode.rawValue, body, now,
                        (order.fill?.priceSource ?? order.terms?.priceSource)?.rawValue,
                    ]
                )
            }
            for audit in writes.audits {
                try db.executeCached(
                    sql: "INSERT INTO audit (ts, action, requested_by, reason) VALUES (?, ?, ?, ?)",
                    arguments: [now, audit.action, audit.by, audit.reason]
                )
            }
            if let equity {
                try db.executeCached(
                    sql: "INSERT INTO equity_points (ts, equity, cash, peak_equity, drawdown) VALUES (?, ?, ?, ?, ?)",
                    arguments: [equity.ts, equity.equity.plainText, equity.cash.plainText, equity.peakEquity.plainText, equity.drawdown]
                )
            }
        }
        if liveChanged { savedLiveBook.withLock { $0 = engine.live } }
    }

    /// An integer pragma as the writing connection sees it (`synchronous`: 2 is FULL).
    func writerPragma(_ name: String) throws -> Int? {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    /// One order by client order id.
    func order(_ clientOrderID: String) throws -> Order? {
        // One SELECT, which SQLite runs on one snapshot: no read transaction around it (GRDB's
        // isolated read cost more than the lookup, and every new order is looked up). On the
        // writer's connection: the thread that looks up is the one that commits (only the equity
        // timer writes besides, a point a minute), so the writer is free, and the reader pool's
        // hand-over (its own queue, a semaphore, then the reader's queue) cost more than the SELECT.
        try database.unsafeReentrantWrite { db in
            guard
                let body = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT body FROM orders WHERE client_order_id = ?"),
                    arguments: [clientOrderID]
                )
            else {
                return nil
            }
            return try JSONDecoder().decode(Order.self, from: Data(body.utf8))
        }
    }

    /// The newest orders, optionally of one status.
    func orders(limit: Int, status: OrderStatus?) throws -> [Order] {
        try database.read { db in
            let bodies: [String]
            if let status {
                bodies = try String.fetchAll(
                    db,
                    sql: "SELECT body FROM orders WHERE status = ? ORDER BY created_at DESC LIMIT ?",
                    arguments: [status.rawValue, limit]
                )
            } else {
                bodies = try String.fetchAll(db, sql: "SELECT body FROM orders ORDER BY created_at DESC LIMIT ?", arguments: [limit])
            }
            let decoder = JSONDecoder()
            return try bodies.map { try decoder.decode(Order.self, from: Data($0.utf8)) }
        }
    }

    private static func decimal(_ text: String) throws -> Decimal {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN else {
            throw LedgerError(detail: "the ledger holds \"\(text)\" where a decimal belongs")
        }
        return value
    }
}

/// A write the ledger refuses (a non-number amount): nothing was written, the process goes on.
struct LedgerRefusal: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}

/// The ledger holds something it cannot read.
struct LedgerError: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}

/// What a group of ledger changes writes besides the account row: the orders (the latest
/// version of each), the symbols whose position and mark changed, and the operator actions for
/// the audit trail, in the order they happened.
struct LedgerWrites: Sendable {
    private(set) var orders: [Order] = []
    private var orderIndex: [String: Int] = [:]
    private(set) var symbols: Set<String> = []
    private(set) var audits: [(action: String, by: String, reason: String?)] = []

    /// Whether nothing was collected: no transaction is needed.
    var isEmpty: Bool { orders.isEmpty && symbols.isEmpty && audits.isEmpty && !touchesAccount }
    /// Set by any change: the account row is written even when nothing else is.
    private(set) var touchesAccount = false

    /// The latest version of an order collected here.
    func order(_ clientOrderID: String) -> Order? {
        orderIndex[clientOrderID].map { orders[$0] }
    }

    mutating func add(orders new: [Order], symbols newSymbols: [String], audit: (action: String, by: String, reason: String?)?) {
        touchesAccount = true
        for order in new {
            if let index = orderIndex[order.intent.clientOrderId] {
                orders[index] = order
            } else {
                orderIndex[order.intent.clientOrderId] = orders.count
                orders.append(order)
            }
        }
        symbols.formUnion(newSymbols)
        if let audit { audits.append(audit) }
    }
}

extension Database {
    /// Executes `sql` through the connection's statement cache: a statement run on every commit
    /// is compiled once, not once per commit.
    func executeCached(sql: String, arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
