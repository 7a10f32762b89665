import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire

/// What the account reconciliation last found, for `GET /api/live/foreign-trades` and the
/// dashboard: the trades at the exchange that no order of ours explains.
final class LiveAccountMonitor: Sendable {
    struct ForeignTrades: Encodable, Sendable {
        /// When the last sweep ran (Unix ms), nil before the first.
        var sweptAt: Int64?
        var symbols: [String]
        var trades: [ExchangeTrade]
        /// Why a symbol's sweep gave nothing usable, by symbol.
        var problems: [String: String]
    }

    private let foreign = Mutex(ForeignTrades(sweptAt: nil, symbols: [], trades: [], problems: [:]))

    var foreignTrades: ForeignTrades { foreign.withLock { $0 } }

    func record(_ sweep: ForeignTrades) { foreign.withLock { $0 = sweep } }
}

/// Compares the exchange's account with the live book: at start, every `ACCOUNT_RECONCILE_MS`,
/// and whenever `reconcileOnce` is called (a user data stream event may). The first good
/// snapshot builds the live book. A difference beyond `ACCOUNT_TOLERANCE_BPS`, or an answer that
/// cannot be had or read, refuses live orders (the risk worker holds the state and persists it;
/// the control state carries it to every execution replica), notifies, and, for a difference,
/// sweeps `myTrades` for trades no order of ours explains. Paper mode runs none of this.
struct AccountReconciler: Service {
    let workers: WorkerClient
    let control: ControlCenter
    let configuration: GatewayConfiguration
    let monitor: LiveAccountMonitor
    let logger: Logger
    var notifier: Notifier?

    func run() async throws {
        guard configuration.tradingMode == .live else {
            try? await gracefulShutdown()
            return
        }
        var last: ReconciliationState?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let status = await reconcileOnce()
            if let status {
                announce(status, previous: last)
                last = status.reconciliation.state
            }
            // Until a good answer comes (no answer, unknown, never built), ask again sooner.
            let settled = status.map { $0.reconciliation.state == .ok || $0.reconciliation.state == .mismatch } ?? false
            let interval = configuration.account.intervalMilliseconds
            try? await Task.sleep(for: .milliseconds(settled ? interval : min(interval, 1_000)))
        }
    }

    /// One comparison: the live book's version, the exchange's balances of the traded assets,
    /// then the report to the risk worker. Nil when the risk worker could not be reached (its
    /// state is what it was; the preflight sees a stale status).
    func reconcileOnce() async -> LiveBookStatus? {
        let settings = configuration.account
        guard
            let status: RiskStatus = try? await workers.call(
                ServiceName.risk,
                Operations.Risk.status,
                payload: Empty(),
                requestID: "account-reconcile"
            )
        else { return nil }
        control.update(status: status)
        let symbols = settings.symbols(holding: status)
        let report: AccountReport
        do {
            let account: ExchangeAccount = try await workers.call(
                ServiceName.execution,
                Operations.Execution.account,
                payload: AccountQuery(assets: LiveBook.assets(of: symbols)),
                requestID: "account-reconcile"
            )
            report = AccountReport(
                account: account,
                problem: nil,
                symbols: symbols,
                bookVersion: status.live?.version,
                toleranceBps: settings.toleranceBps
            )
        } catch {
            if case .worker(let workerError) = error, let backoff = workerError.backoff {
                await control.share(backoff, reportedBy: "account-reconcile", workers: workers)
            }
            let problem = "the exchange's account could not be read: \(error.apiError.detail)"
            report = AccountReport(
                account: nil,
                problem: problem,
                symbols: symbols,
                bookVersion: status.live?.version,
                toleranceBps: settings.toleranceBps
            )
        }
        guard
            let result: LiveBookStatus = try? await workers.call(
                ServiceName.risk,
                Operations.Risk.applyAccount,
                payload: report,
                requestID: "account-reconcile"
            )
        else { return nil }
        control.update(live: result)
        // The trades are swept once per mismatch entered (and for its symbols only): 40 weight
        // a symbol, too dear for every period.
        let mismatched = Set(result.reconciliation.mismatches.map(\.asset))
        if result.reconciliation.state == .mismatch, status.live?.reconciliation.state != .mismatch {
            await sweepForeignTrades(symbols: symbols.filter { symbol in LiveBook.assets(of: [symbol]).contains(where: mismatched.contains) })
        }
        return result
    }

    /// A state entered is news: a mismatch or an unknown state is a warning (live orders are
    /// refused), agreement again is info. The first state heard is news only when it refuses.
    private func announce(_ status: LiveBookStatus, previous: ReconciliationState?) {
        let state = status.reconciliation.state
        guard state != previous, previous != nil || state != .ok else { return }
        let detail = status.reconciliation.detail ?? ""
        switch state {
        case .mismatch, .unknown:
            logger.warning("live orders refused by the account reconciliation", metadata: ["state": "\(state.rawValue)", "detail": "\(detail)"])
            notifier?.notify(
                event: "account_\(state == .mismatch ? "mismatch" : "unknown")",
                severity: "critical",
                text: "Live orders refused: \(status.reconciliation.hold ?? detail)",
                details: ["state": state.rawValue, "detail": detail]
            )
        case .ok:
            logger.info("live book agrees with the exchange's account")
            notifier?.notify(event: "account_reconciled", severity: "info", text: "Live book agrees with the exchange's account again")
        case .never:
            break
        }
    }

    /// Reads each symbol's newest trades and keeps those whose order is not one of our live
    /// orders (a trade made by hand, or one of an order we do not know).
    func sweepForeignTrades(symbols: [String]) async {
        var found: [ExchangeTrade] = []
        var problems: [String: String] = [:]
        var known: [String: Bool] = [:]
        for symbol in symbols {
            let list: TradeList
            do {
                list = try await workers.call(
                    ServiceName.execution,
                    Operations.Execution.trades,
                    payload: TradesQuery(symbol: symbol, limit: configuration.account.foreignTradesLimit),
                    requestID: "foreign-trades"
                )
            } catch {
                problems[symbol] = error.apiError.detail
                continue
            }
            for trade in list.trades {
                guard let id = trade.clientOrderId else {
                    found.append(trade)
                    continue
                }
                if known[id] == nil {
                    let order: Order? = try? await workers.call(
                        ServiceName.risk,
                        Operations.Risk.order,
                        payload: OrderQuery(clientOrderId: id),
                        requestID: "foreign-trades"
                    )
                    known[id] = order?.mode == .live
                }
                if known[id] != true { found.append(trade) }
            }
        }
        found.sort { $0.time > $1.time }
        monitor.record(.init(sweptAt: unixMilliseconds(), symbols: symbols, trades: found, problems: problems))
        if !found.isEmpty {
            logger.warning("trades at the exchange that no order of ours explains", metadata: ["count": "\(found.count)"])
        }
    }
}
