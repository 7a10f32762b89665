import Foundation
import GRDB
import Logging
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire
import WorkerRuntime

/// The risk worker: the single owner of the risk rules, the paper account, the order ledger and
/// the halt and lock flags. Exactly one runs. Every change is on disk before its reply leaves;
/// a ledger write that fails stops the process (it restarts from what the disk holds).
///
/// Group commit: the broker packs the requests waiting for the risk worker into one REQUEST;
/// they are applied in order and their changes committed in one transaction with one fsync
/// (`handle(bodies:)`), and no reply leaves before that commit.
public final class RiskWorker: Sendable {
    private let engine: Mutex<RiskEngine>
    /// Open while the requests of one REQUEST are applied: their changes wait here for one commit.
    /// Taken inside `engine`'s lock when both are needed.
    private let group = Mutex<OpenGroup?>(nil)
    private let store: LedgerStore
    private let configuration: RiskConfiguration
    let logger: Logger
    private let equity: EquityRecorder

    /// Opens the ledger, restores the engine and reconciles orders a crash left pending.
    public init(configuration: RiskConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // A lock held by another connection (an operator's sqlite3) is waited out and logged,
        // not turned into a crash loop.
        var opened: (LedgerStore, RiskEngine)?
        while opened == nil {
            do {
                let store = try LedgerStore(
                    directory: configuration.dataDirectory,
                    busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds,
                    logger: logger
                )
                let restored = try store.load(limits: configuration.limits, recentOrders: 5_000)
                let pending = restored.orders.values.filter { $0.status == .pending }.count
                if pending > 0 {
                    logger.warning("orders left pending: the gateway reconciles them with the executor", metadata: ["pending": "\(pending)"])
                }
                opened = (store, restored)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                logger.warning("the ledger is locked by another connection: retrying", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
            }
        }
        guard let (store, restored) = opened else { throw LedgerError(detail: "the ledger could not be opened") }
        self.store = store
        let flags = restored.flags
        logger.info(
            "ledger opened",
            metadata: [
                "path": "\(configuration.dataDirectory)/ledger.sqlite", "equity": "\(restored.portfolio.equity)",
                "riskLocked": "\(flags.riskLocked)", "halted": "\(flags.halted)",
                "synchronous": "\((try? store.writerPragma("synchronous")).flatMap { $0 }.map { "\($0)" } ?? "unknown")",
            ]
        )
        engine = Mutex(restored)
        equity = EquityRecorder(store: store, logger: logger)
        equity.observe(restored, orders: [])
        equity.startTimer { [weak self] in
            guard let self else { return .gone }
            return engine.withLock { engine in group.withLock { $0 == nil } ? .ready(engine) : .busy }
        }
    }

    /// Applies `change` to the engine and writes what it touched before answering. The change
    /// may touch the orders `touching` and no other; if it throws, or its write is refused, the
    /// engine is put back as it was (from a checkpoint, not a copy of the whole order book).
    func mutate<Result>(
        touching ids: [String] = [],
        _ change: (inout RiskEngine) throws(WireError) -> (Result, orders: [Order], symbols: [String], audit: (String, String, String?)?)
    ) throws(WireError) -> Result {
        try engine.withLock { (engine: inout RiskEngine) throws(WireError) -> Result in
            let checkpoint = engine.checkpoint(touching: ids)
            /// Undoes the change; one that wrote an order the checkpoint cannot restore stops the
            /// process rather than leave memory ahead of the ledger.
            func undo(_ written: [Order]) {
                guard written.allSatisfy({ checkpoint.orderIDs.contains($0.intent.clientOrderId) }) else {
                    logger.critical("a refused change touched an order it did not declare: stopping so that memory never runs ahead of disk")
                    exit(3)
                }
                engine.restore(checkpoint)
            }
            let outcome: (Result, orders: [Order], symbols: [String], audit: (String, String, String?)?)
            do throws(WireError) {
                outcome = try change(&engine)
            } catch {
                engine.restore(checkpoint)
                throw error
            }
            let (result, orders, symbols, audit) = outcome
            if let bad = engine.portfolio.nonFiniteAmount ?? orders.lazy.compactMap(\.nonFiniteAmount).first {
                undo(orders)
                logger.warning("refused a change that would write a non-number to the ledger", metadata: ["amount": "\(bad)"])
                throw WireError(code: "non_finite_amount", detail: "\(bad) would not be a number; nothing was written", status: 422)
            }
            // In a group: the change waits for the group's commit, and so does its reply.
            let grouped = group.withLock { (open: inout OpenGroup?) -> Bool in
                guard var collected = open.take() else { return false }
                collected.writes.add(orders: orders, symbols: symbols, audit: audit.map { (action: $0.0, by: $0.1, reason: $0.2) })
                collected.undo.keepEarliest(of: checkpoint)
                open = collected
                return true
            }
            if grouped { return result }
            do {
                try store.save(engine, orders: orders, symbols: symbols, audit: audit.map { (action: $0.0, by: $0.1, reason: $0.2) })
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                // Nothing was written and memory is put back: the caller may retry.
                undo(orders)
                logger.warning("ledger write waited out its busy timeout: refused", metadata: ["error": "\(error)"])
                throw WireError(code: "ledger_busy", detail: "the ledger is locked by another connection; nothing was written, retry", status: 503)
            } catch let refusal as LedgerRefusal {
                undo(orders)
                logger.warning("ledger refused a write", metadata: ["detail": "\(refusal.detail)"])
                throw WireError(code: "non_finite_amount", detail: refusal.detail, status: 422)
            } catch {
                logger.critical("ledger write failed: stopping so that memory never runs ahead of disk", metadata: ["error": "\(error)"])
                exit(3)
            }
            equity.observe(engine, orders: orders)
            return result
        }
    }

    /// Applies the requests of one REQUEST in order, then commits all their changes in one
    /// transaction (one fsync) before any of them is answered. A ledger locked by another
    /// connection past the busy timeout puts memory back as it was before the group and answers
    /// every request of it 503 `ledger_busy` (nothing was written: each may be retried); any
    /// other write failure stops the process before a reply leaves.
    func handle(bodies: [[UInt8]], with handler: OperationHandler) -> [[UInt8]] {
        engine.withLock { engine in
            let undo = engine.checkpoint(touching: [])
            group.withLock { $0 = OpenGroup(writes: LedgerWrites(), undo: undo) }
        }
        let replies = bodies.map { handler.handle(body: $0) }
        let (after, closed) = engine.withLock { engine in (engine, group.withLock { $0.take() }) }
        guard let closed, !closed.writes.isEmpty else { return replies }
        let writes = closed.writes
        let point = equity.due(after, orders: writes.orders)
        do {
            try store.save(after, writes: writes, equity: point)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            logger.warning("ledger group write waited out its busy timeout: refused", metadata: ["error": "\(error)", "requests": "\(bodies.count)"])
            engine.withLock { $0.restore(closed.undo) }
            let refusal = WireReply<Empty>(
                error: WireError(code: "ledger_busy", detail: "the ledger is locked by another connection; nothing was written, retry", status: 503)
            )
            let body = (try? WireCodec.encode(refusal)) ?? []
            return bodies.map { _ in body }
        } catch {
            logger.critical("ledger write failed: stopping so that memory never runs ahead of disk", metadata: ["error": "\(error)"])
            exit(3)
        }
        return replies
    }

    /// The request handler the worker process serves: every REQUEST is one group commit.
    public func requestHandler() -> some BatchRequestHandler {
        GroupCommitHandler(worker: self, operations: handler())
    }

    public func handler() -> OperationHandler {
        var handler = OperationHandler()
        // A read: nothing is written (pending orders are reconciled by the gateway with the executor).
        handler.on(Operations.Risk.status) { [self] (_: WireRequest<Empty>) throws(WireError) -> RiskStatus in
            engine.withLock { engine in
                engine.pruneSettled(keep: 5_000)
                return engine.status
            }
        }
        handler.on(Operations.Risk.gate) { [self] (request: WireRequest<GateRequest>) throws(WireError) -> GateResult in
            engine.withLock { $0.gate(request.payload, now: unixMilliseconds()) }
        }
        handler.on(Operations.Risk.reserve) { [self] (request: WireRequest<ReserveRequest>) throws(WireError) -> ReserveResult in
            let id = request.payload.intent.clientOrderId
            let stored = try lookUp(id, known: engine.withLock { $0.orders[id] != nil })
            return try mutate(touching: [id]) { (engine: inout RiskEngine) throws(WireError) in
                if let stored { engine.remember(stored) }
                let result = try engine.reserve(request.payload, now: unixMilliseconds())
                // A close is an operator's action: the audit trail names who asked and why.
                let audit = request.payload.close.flatMap { close -> (String, String, String?)? in
                    guard !result.duplicate else { return nil }
                    let intent = result.order.intent
                    return (
                        close.force ? "close (forced)" : "close", close.requestedBy,
                        "\(close.reason) | \(intent.side.rawValue) \(intent.symbol) \(result.order.terms?.closeQuantity ?? 0), order \(intent.clientOrderId)"
                    )
                }
                return (result, result.duplicate ? [] : [result.order], [], audit)
            }
        }
        handler.on(Operations.Risk.settle) { [self] (request: WireRequest<SettleRequest>) throws(WireError) -> SettleResult in
            let id = request.payload.clientOrderId
            let stored = try lookUp(id, known: engine.withLock { $0.orders[id] != nil })
            return try mutate(touching: [id]) { (engine: inout RiskEngine) throws(WireError) in
                if let stored { engine.remember(stored) }
                let wasLocked = engine.flags.riskLocked
                let result = try engine.settle(request.payload)
                if !wasLocked && engine.flags.riskLocked { logTrip(engine.flags, requestID: request.requestId) }
                return (result, [result.order], [result.order.intent.symbol], nil)
            }
        }
        handler.on(Operations.Risk.mark) { [self] (request: WireRequest<MarkRequest>) throws(WireError) -> RiskStatus in
            guard request.payload.price > 0 else { throw WireError(code: "invalid_price", detail: "price must be positive", status: 422) }
            let clock = request.payload.intervalMs.flatMap {
                $0 > 0 ? CandleClock(newestOpenTime: request.payload.ts, intervalMilliseconds: $0) : nil
            }
            return try mutate { engine in
                if engine.mark(symbol: request.payload.symbol, price: request.payload.price, now: unixMilliseconds(), clock: clock) {
                    logTrip(engine.flags, requestID: request.requestId)
                }
                return (engine.status, [], [request.payload.symbol], nil)
            }
        }
        handler.on(Operations.Risk.reset) { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            try mutate { engine in
                logger.warning(
                    "risk lock reset",
                    metadata: [
                        "request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)",
                        "was": "\(engine.flags.lockReason ?? "not locked")",
                    ]
                )
                engine.resetLock()
                return (engine.status, [], [], ("reset", request.payload.requestedBy, request.payload.reason))
            }
        }
        handler.on(Operations.Risk.halt) { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            try mutate { engine in
                let reason = request.payload.reason ?? "halted by \(request.payload.requestedBy)"
                logger.warning(
                    "trading halted",
                    metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)", "reason": "\(reason)"]
                )
                engine.halt(reason: reason)
                return (engine.status, [], [], ("halt", request.payload.requestedBy, reason))
            }
        }
        handler.on(Operations.Risk.resume) { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            try mutate { engine in
                logger.warning("trading resumed", metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)"])
                engine.resume()
                return (engine.status, [], [], ("resume", request.payload.requestedBy, request.payload.reason))
            }
        }
        handler.on(Operations.Risk.orders) { [self] (request: WireRequest<OrdersQuery>) throws(WireError) -> OrderList in
            do {
                return OrderList(orders: try store.orders(limit: min(max(request.payload.limit, 1), 1_000), status: request.payload.status))
            } catch {
                throw WireError(code: "ledger_unavailable", detail: "\(error)", status: 503)
            }
        }
        handler.on(Operations.Risk.order) { [self] (request: WireRequest<OrderQuery>) throws(WireError) -> Order in
            guard let order = try lookUp(request.payload.clientOrderId, known: false) else {
                throw WireError(code: "unknown_order", detail: "no order \(request.payload.clientOrderId) in the ledger", status: 404)
            }
            return order
        }
        registerProtections(on: &handler)
        registerLiveBook(on: &handler)
        registerResolve(on: &handler)
        registerBackoff(on: &handler)
        equity.register(on: &handler)
        return handler
    }

    /// A change of the live book (no order touched), written before its reply.
    func mutateLive<Result>(
        _ change: (inout RiskEngine) throws(WireError) -> (Result, audit: (String, String, String?)?)
    ) throws(WireError) -> Result {
        try mutate { (engine: inout RiskEngine) throws(WireError) in
            let (result, audit) = try change(&engine)
            return (result, [], [], audit)
        }
    }

    /// Reads an order from the ledger when memory does not hold it. An order the open group
    /// wrote (and memory has since let go of) is taken from the group: the ledger does not hold
    /// that version yet.
    func lookUp(_ clientOrderID: String, known: Bool) throws(WireError) -> Order? {
        if known { return engine.withLock { $0.orders[clientOrderID] } }
        if let grouped = group.withLock({ $0?.writes.order(clientOrderID) }) { return grouped }
        do {
            return try store.order(clientOrderID)
        } catch {
            throw WireError(code: "ledger_unavailable", detail: "\(error)", status: 503)
        }
    }

    private func logTrip(_ flags: RiskFlags, requestID: String) {
        if flags.riskLocked {
            logger.warning("risk_locked: drawdown brake tripped", metadata: ["request.id": "\(requestID)", "reason": "\(flags.lockReason ?? "")"])
        } else {
            logger.warning("drawdown brake tripped: REDUCING", metadata: ["request.id": "\(requestID)", "reason": "\(flags.reducingReason ?? "")"])
        }
    }

    /// The trading state and the protection locks.
    private func registerProtections(on handler: inout OperationHandler) {
        handler.on(Operations.Risk.setState) { [self] (request: WireRequest<StateChange>) throws(WireError) -> RiskStatus in
            try mutate { engine in
                let change = request.payload
                logger.warning(
                    "trading state set",
                    metadata: [
                        "request.id": "\(request.requestId)", "requestedBy": "\(change.requestedBy)", "state": "\(change.state.rawValue)",
                        "was": "\(engine.flags.tradingState.rawValue)", "reason": "\(change.reason ?? "")",
                    ]
                )
                engine.setState(change.state, reason: change.reason)
                return (engine.status, [], [], ("state \(change.state.rawValue)", change.requestedBy, change.reason))
            }
        }
        handler.on(Operations.Risk.locks) { [self] (_: WireRequest<Empty>) throws(WireError) -> LockList in
            LockList(locks: engine.withLock { $0.protections.active(at: unixMilliseconds()) })
        }
        handler.on(Operations.Risk.unlock) { [self] (request: WireRequest<UnlockRequest>) throws(WireError) -> UnlockResult in
            try mutate { (engine: inout RiskEngine) throws(WireError) in
                let now = unixMilliseconds()
                guard let removed = engine.removeLock(id: request.payload.id), removed.until > now else {
                    throw WireError(code: "unknown_lock", detail: "no lock \(request.payload.id) is in force", status: 404)
                }
                logger.warning(
                    "protection lock deleted",
                    metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)", "lock": "\(removed.id)"]
                )
                let result = UnlockResult(removed: removed, locks: engine.protections.active(at: now))
                return (result, [], [], ("unlock \(removed.id)", request.payload.requestedBy, removed.reason))
            }
        }
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "risk-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let worker = try RiskWorker(configuration: try RiskConfiguration(reader: reader), logger: logger)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        try WorkerProcess.run(
            service: ServiceName.risk,
            configuration: configuration,
            handler: worker.requestHandler(),
            control: control,
            metrics: metrics,
            logger: logger
        )
    }
}

/// The requests of one REQUEST while they are applied: the ledger writes waiting for their one
/// commit, and how to put memory back if that commit is refused (the engine as the group found
/// it, without its book, and the first prior state of every order the group touched).
struct OpenGroup: Sendable {
    var writes: LedgerWrites
    var undo: RiskEngine.Checkpoint
}

/// Serves the risk worker's operations, a REQUEST's bodies as one group commit.
struct GroupCommitHandler: BatchRequestHandler {
    let worker: RiskWorker
    let operations: OperationHandler

    func handle(body: [UInt8]) -> [UInt8] {
        worker.handle(bodies: [body], with: operations).first ?? []
    }

    func handle(bodies: [[UInt8]]) -> [[UInt8]] {
        worker.handle(bodies: bodies, with: operations)
    }
}
