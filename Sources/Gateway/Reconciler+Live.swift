import Foundation
import Logging
import ServiceSupport
import TradingDomain
import TradingWire

/// Live orders: the exchange is the truth. A pending order is asked again until the exchange
/// settles it (`filled`, or `absent`: proven by the execution worker); while it stays unknown it
/// counts in exposure and caps, and past `LIVE_UNRESOLVED_ALERT_MS` it halts its symbol and the
/// operator is told. Orders booked rejected in the last 24 hours are asked again every
/// `LIVE_LATE_FILL_CHECK_MS`: one that turns up filled is booked as its fill (audited, notified).
extension Reconciler {
    /// How far back rejected live orders are asked about again.
    static let lateFillHorizonMilliseconds: Int64 = 86_400_000

    var watch: LiveOrderWatch { control.liveOrders }

    func reconcileLive(_ orders: [Order]) async {
        let now = unixMilliseconds()
        let cutoff = now - Int64(configuration.liveReconcileMilliseconds)
        let alertAge = Int64(configuration.liveOrders.unresolvedAlertMilliseconds)
        var unresolved: [UnresolvedLiveOrder] = []
        for order in orders where order.mode == .live && order.createdAt <= cutoff {
            let id = order.intent.clientOrderId
            let result: QueryResult? = try? await workers.call(
                ServiceName.execution,
                Operations.Execution.query,
                payload: ExecuteRequest(order: order),
                requestID: "live-reconcile"
            )
            let settle: SettleRequest?
            switch result?.state {
            case "filled"?: settle = result?.fill.map { SettleRequest(clientOrderId: id, fill: $0, rejectReason: nil) }
            case "absent"?:
                settle = SettleRequest(clientOrderId: id, fill: nil, rejectReason: "reconciled: \(result?.detail ?? "not at the exchange")")
            default: settle = nil
            }
            if let settle,
                let settled: SettleResult = try? await workers.call(
                    ServiceName.risk,
                    Operations.Risk.settle,
                    payload: settle,
                    requestID: "live-reconcile"
                )
            {
                control.update(flags: settled.flags)
                if settled.order.status == .filled { notifier?.liveFill(settled.order, reconciled: true) }
                logger.warning("reconciled a pending live order", metadata: ["order": "\(id)", "status": "\(settled.order.status.rawValue)"])
                continue
            }
            if now - order.createdAt >= alertAge {
                unresolved.append(
                    UnresolvedLiveOrder(
                        clientOrderId: id,
                        symbol: order.intent.symbol,
                        pendingMs: now - order.createdAt,
                        detail: result?.detail ?? "the execution worker did not answer the query"
                    )
                )
            }
        }
        for order in watch.replaceUnresolved(unresolved) {
            logger.error(
                "live order unresolved: its symbol is halted until the exchange or an operator settles it",
                metadata: ["order": "\(order.clientOrderId)", "symbol": "\(order.symbol)", "detail": "\(order.detail)"]
            )
            notifier?.notify(
                event: "order_state_unresolved",
                severity: "critical",
                text: "Live order \(order.clientOrderId) (\(order.symbol)) unresolved for \(order.pendingMs / 1000) s: \(order.symbol) halted; "
                    + "resolve it with POST /api/live/orders/\(order.clientOrderId)/resolve",
                details: ["clientOrderId": order.clientOrderId, "symbol": order.symbol, "detail": order.detail, "pendingMs": "\(order.pendingMs)"]
            )
        }
    }

    /// The execution worker's measurement of the exchange's clock, for `/health` and the preflight.
    func pollClock() async {
        if let clock: ExchangeClockStatus = try? await workers.call(
            ServiceName.execution,
            Operations.Execution.clock,
            payload: Empty(),
            requestID: "clock-poll"
        ) {
            watch.record(clock: clock)
            // A 429/418 (or a budget hold) a replica met on a query is shared from here.
            if let backoff = clock.rate?.backoff { await control.share(backoff, reportedBy: "clock-poll", workers: workers) }
        }
    }

    /// Asks again about live orders booked rejected in the last 24 hours; one the exchange shows
    /// filled is booked as its fill through the audited late-fill transition.
    func recheckRejected() async {
        guard
            let list: OrderList = try? await workers.call(
                ServiceName.risk,
                Operations.Risk.orders,
                payload: OrdersQuery(limit: 100, status: .rejected),
                requestID: "late-fill-check"
            )
        else { return }
        let horizon = unixMilliseconds() - Self.lateFillHorizonMilliseconds
        for order in list.orders where order.mode == .live && order.createdAt >= horizon {
            let id = order.intent.clientOrderId
            guard
                let result: QueryResult = try? await workers.call(
                    ServiceName.execution,
                    Operations.Execution.query,
                    payload: ExecuteRequest(order: order),
                    requestID: "late-fill-check"
                ),
                result.state == "filled", let fill = result.fill
            else { continue }
            let evidence =
                "the exchange shows it FILLED: \(fill.quantity) at \(fill.price), \(fill.notional) quote; it was booked rejected: \(order.rejectReason ?? "")"
            let request = ResolveOrderRequest(
                clientOrderId: id,
                kind: .lateFill,
                fill: fill,
                rejectReason: nil,
                requestedBy: "reconciler",
                evidence: evidence
            )
            do {
                let settled: SettleResult = try await workers.call(
                    ServiceName.risk,
                    Operations.Risk.resolveOrder,
                    payload: request,
                    requestID: "late-fill-check"
                )
                control.update(flags: settled.flags)
                logger.error(
                    "live order booked rejected, found filled at the exchange: its fill is booked",
                    metadata: ["order": "\(id)", "evidence": "\(evidence)"]
                )
                notifier?.notify(
                    event: "late_fill",
                    severity: "critical",
                    text: "Live order \(id) (\(order.intent.symbol)) was booked rejected but the exchange filled it: its fill is booked now",
                    details: ["clientOrderId": id, "symbol": order.intent.symbol, "evidence": evidence]
                )
            } catch {
                logger.error(
                    "a late fill could not be booked: asked again at the next check",
                    metadata: ["order": "\(id)", "error": "\(error.apiError)"]
                )
            }
        }
    }
}
