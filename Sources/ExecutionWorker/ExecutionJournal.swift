import Foundation
import GRDB
import Logging
import ServiceSupport
import Synchronization
import TradingWire

/// The paper execution worker's durable journal (`execution-journal.sqlite` in `DATA_DIR`):
/// one row per client order id, either the fill it executed or a mark that reconciliation
/// declared it never executed (`expired`), after which it never will be. Every commit is
/// fsynced (`synchronous = FULL`, read back at open). Replicas sharing `DATA_DIR` share it;
/// SQLite's locks make "look up, else execute and record" atomic across them.
public final class ExecutionJournal: Sendable {
    private let database: DatabaseQueue
    /// Open while the requests of one REQUEST run: the fills they made wait here for one commit.
    private let group = Mutex<JournalGroup?>(nil)

    /// Paper fills made in an open group, not yet on disk, and the request each answers.
    struct JournalGroup {
        var fills: [(clientOrderID: String, fill: Fill, request: Int)] = []
        var byID: [String: Int] = [:]
        /// Requests answered from a fill of the group (a repeat of its order): their answer
        /// holds only if that fill is journaled as it is.
        var dependents: [(clientOrderID: String, request: Int)] = []
        /// The request of the REQUEST being handled.
        var request = 0
    }

    /// What the journal says of an order.
    public enum Entry: Sendable, Equatable {
        case executed(Fill)
        case expired
    }

    public init(directory: String, logger: Logger? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .callback { tries in
            if tries == 0 { logger?.warning("the execution journal is locked by another connection: waiting") }
            guard tries < 1_500 else { return false }
            usleep(20_000)
            return true
        }
        database = try DatabaseQueue(path: (directory as NSString).appendingPathComponent("execution-journal.sqlite"), configuration: configuration)
        try database.writeWithoutTransaction { db in
            // Write-ahead log: a commit is one append and one fsync (synchronous = FULL), and a
            // read takes no lock on the journal itself, so other replicas' commits never wait on it.
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS journal (
                        client_order_id TEXT PRIMARY KEY, state TEXT NOT NULL, fill TEXT, at INTEGER NOT NULL)
                    """
            )
        }
        guard try synchronousMode() == 2 else { throw JournalError(detail: "the execution journal does not hold synchronous = FULL") }
    }

    /// `PRAGMA synchronous` of the journal's connection (2 is FULL).
    public func synchronousMode() throws -> Int? {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }

    /// The journaled fill of `clientOrderID`; otherwise runs `execute` and records its fill in
    /// the same exclusive transaction. An expired order is refused (`expired_unsent`).
    public func executeOnce(_ clientOrderID: String, _ execute: () throws(WireError) -> Fill) throws(WireError) -> Fill {
        if group.withLock({ $0 != nil }) { return try executeInGroup(clientOrderID, execute) }
        do {
            return try immediate { db in
                switch try Self.entry(db, clientOrderID) {
                case .executed(let fill)?:
                    return fill
                case .expired?:
                    throw Self.expired(clientOrderID)
                case nil:
                    let fill = try execute()
                    let text = String(decoding: try JSONEncoder().encode(fill), as: UTF8.self)
                    try db.execute(
                        sql: "INSERT INTO journal (client_order_id, state, fill, at) VALUES (?, 'executed', ?, ?)",
                        arguments: [clientOrderID, text, unixMilliseconds()]
                    )
                    return fill
                }
            }
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError(
                code: "journal_unavailable",
                detail: "the execution journal could not be written: \(error); nothing was executed",
                status: 503
            )
        }
    }

    /// What the journal holds of an order; with `expireIfAbsent`, an order it does not hold is
    /// marked expired in the same transaction, so that it is never executed afterwards.
    public func resolve(_ clientOrderID: String, expireIfAbsent: Bool) throws(WireError) -> Entry? {
        let pending = group.withLock { (open: inout JournalGroup?) -> Fill? in
            guard var current = open, let index = current.byID[clientOrderID] else { return nil }
            current.dependents.append((clientOrderID, current.request))
            open = current
            return current.fills[index].fill
        }
        if let pending { return .executed(pending) }
        do {
            // A lookup alone reads the last commit, without a write transaction, and without a
            // read transaction either: it is one SELECT, which SQLite runs on one snapshot.
            // GRDB's isolated read (query_only on, BEGIN, COMMIT, query_only off) cost more than
            // the lookup, on every order.
            if !expireIfAbsent { return try database.unsafeRead { db in try Self.entry(db, clientOrderID) } }
            return try immediate { db -> Entry? in
                if let entry = try Self.entry(db, clientOrderID) { return entry }
                guard expireIfAbsent else { return nil }
                try db.execute(
                    sql: "INSERT INTO journal (client_order_id, state, fill, at) VALUES (?, 'expired', NULL, ?)",
                    arguments: [clientOrderID, unixMilliseconds()]
                )
                return .expired
            }
        } catch {
            throw WireError(code: "journal_unavailable", detail: "the execution journal could not be read: \(error)", status: 503)
        }
    }

    // MARK: group commit

    /// Starts a group: paper fills are journaled together, in one transaction with one fsync,
    /// by `commitGroup`, and none of their requests may be answered before it.
    func openGroup() { group.withLock { $0 = JournalGroup() } }

    /// Which request of the group is being handled (its index in the REQUEST).
    func handling(request: Int) { group.withLock { $0?.request = request } }

    /// Journals the group's fills in one IMMEDIATE transaction. An order another replica
    /// journaled meanwhile keeps that entry (a paper fill has no effect until journaled, so one
    /// fill stands): its request's answer changes to it. Returns the answers that change, by
    /// request; if the journal cannot be written, every fill of the group is refused (nothing
    /// was executed).
    func commitGroup() -> [Int: Result<Fill, WireError>] {
        guard
            let open = group.withLock({ open -> JournalGroup? in
                defer { open = nil }
                return open
            }), !open.fills.isEmpty
        else { return [:] }
        do {
            return try immediate { db in
                var changed: [Int: Result<Fill, WireError>] = [:]
                var conflicted: Set<String> = []
                let now = unixMilliseconds()
                for entry in open.fills {
                    switch try Self.entry(db, entry.clientOrderID) {
                    case .executed(let fill)?:
                        changed[entry.request] = .success(fill)
                        conflicted.insert(entry.clientOrderID)
                    case .expired?:
                        changed[entry.request] = .failure(Self.expired(entry.clientOrderID))
                        conflicted.insert(entry.clientOrderID)
                    case nil:
                        try db.cachedStatement(sql: "INSERT INTO journal (client_order_id, state, fill, at) VALUES (?, 'executed', ?, ?)")
                            .execute(arguments: [entry.clientOrderID, String(decoding: try WireCodec.encode(entry.fill), as: UTF8.self), now])
                    }
                }
                // A repeat answered from a fill that did not stand: asked again, it reads the journal.
                let retry = WireError(
                    code: "journal_conflict",
                    detail: "another execution worker journaled this order meanwhile; ask again",
                    status: 503
                )
                for dependent in open.dependents where conflicted.contains(dependent.clientOrderID) { changed[dependent.request] = .failure(retry) }
                return changed
            }
        } catch {
            let refusal = WireError(
                code: "journal_unavailable",
                detail: "the execution journal could not be written: \(error); nothing was executed",
                status: 503
            )
            let refused = open.fills.map(\.request) + open.dependents.map(\.request)
            return Dictionary(refused.map { ($0, .failure(refusal)) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private func executeInGroup(_ clientOrderID: String, _ execute: () throws(WireError) -> Fill) throws(WireError) -> Fill {
        switch try resolve(clientOrderID, expireIfAbsent: false) {
        case .executed(let fill)?: return fill
        case .expired?: throw Self.expired(clientOrderID)
        case nil: break
        }
        let fill = try execute()
        group.withLock { open in
            guard var current = open else { return }
            current.byID[clientOrderID] = current.fills.count
            current.fills.append((clientOrderID, fill, current.request))
            open = current
        }
        return fill
    }

    private static func expired(_ clientOrderID: String) -> WireError {
        WireError(code: "expired_unsent", detail: "order \(clientOrderID) was reconciled as never executed; it will not be executed now", status: 409)
    }

    /// Runs `body` in one IMMEDIATE transaction: committed if it returns, rolled back if it throws.
    private func immediate<T>(_ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            guard let result else { throw JournalError(detail: "the journal transaction produced nothing") }
            return result
        }
    }

    private static func entry(_ db: Database, _ clientOrderID: String) throws -> Entry? {
        let select = try db.cachedStatement(sql: "SELECT state, fill FROM journal WHERE client_order_id = ?")
        guard let row = try Row.fetchOne(select, arguments: [clientOrderID]) else {
            return nil
        }
        let state: String = row["state"]
        if state == "expired" { return .expired }
        let text: String = row["fill"] ?? ""
        return .executed(try WireCodec.decode(Fill.self, from: Array(text.utf8)))
    }
}

/// The journal cannot be used as promised.
struct JournalError: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
