import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import TradingWire

/// Turns control-state changes into notifications: halt, resume, trading_state, lock, reset; and
/// protection locks into `protection_lock`. The first state heard is the baseline, not news.
///
/// A change of trading state is one notification: `halt` when HALTED is entered, `resume` when it
/// is left (both name the state before and after), `trading_state` between ACTIVE and REDUCING.
enum ControlNotifications {
    static func announce(from previous: ControlState?, to next: ControlState, notifier: Notifier) {
        guard let previous else { return }
        let before = state(of: previous)
        let after = state(of: next)
        let states = ["state": after.rawValue, "previousState": before.rawValue, "tradingMode": next.tradingMode.rawValue]
        if !previous.halted && next.halted {
            notifier.notify(
                event: "halt",
                severity: "critical",
                text: "Trading halted: \(next.haltReason ?? "no reason given")",
                details: states.merging(["reason": next.haltReason ?? ""]) { $1 }
            )
        } else if previous.halted && !next.halted {
            let reducing = after == .reducing ? " (state REDUCING: \(next.stateReason ?? "no reason given"))" : ""
            notifier.notify(
                event: "resume",
                severity: "info",
                text: "Trading resumed\(reducing)",
                details: states.merging(["reason": next.stateReason ?? ""]) { $1 }
            )
        } else if before != after {
            let text = after == .reducing ? "Trading state REDUCING: \(next.stateReason ?? "no reason given")" : "Trading state ACTIVE again"
            notifier.notify(
                event: "trading_state",
                severity: after == .reducing ? "warning" : "info",
                text: text,
                details: states.merging(["reason": next.stateReason ?? ""]) { $1 }
            )
        }
        if !previous.riskLocked && next.riskLocked {
            notifier.notify(
                event: "lock",
                severity: "critical",
                text: "Trading risk-locked: \(next.lockReason ?? "drawdown limit")",
                details: ["reason": next.lockReason ?? "", "tradingMode": next.tradingMode.rawValue]
            )
        } else if previous.riskLocked && !next.riskLocked {
            notifier.notify(event: "reset", severity: "warning", text: "Risk lock reset", details: ["tradingMode": next.tradingMode.rawValue])
        }
    }

    /// A publisher that predates trading states sends none: HALTED when halted, else ACTIVE.
    static func state(of control: ControlState) -> TradingState {
        control.tradingState ?? (control.halted ? .halted : .active)
    }

    /// A protection lock set by the risk worker: which symbol (or every one), the rule, why, and
    /// until when.
    static func announce(lock: ProtectionLock, notifier: Notifier) {
        let until = ISO8601Millis.format(lock.until)
        notifier.notify(
            event: "protection_lock",
            severity: "warning",
            text: "\(lock.symbol ?? "Every symbol") locked by \(lock.rule) until \(until): \(lock.reason) (lock \(lock.id))",
            details: [
                "id": lock.id, "symbol": lock.symbol ?? "ALL", "rule": lock.rule, "reason": lock.reason, "until": until,
                "since": ISO8601Millis.format(lock.since),
            ]
        )
    }
}

/// Delivers the gateway's notifications, and watches the broker for a service left with no live
/// worker (and for its return). Runs in the gateway's service group, off every request path.
struct NotificationService: Service {
    let notifier: Notifier
    let broker: Broker
    let logger: Logger
    /// How often the live workers are compared.
    var intervalMilliseconds = 250

    func run() async throws {
        guard notifier.isEnabled else {
            try? await gracefulShutdown()
            return
        }
        logger.info("notifications on", metadata: ["webhooks": "\(notifier.configuration.targets.count)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await notifier.run() }
            group.addTask { await watchWorkers() }
            try? await gracefulShutdown()
            notifier.finish()
            group.cancelAll()
        }
    }

    /// A service that had live workers and has none now is news; so is its return.
    func watchWorkers() async {
        var previous = broker.snapshot.workers
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(intervalMilliseconds))
            let current = broker.snapshot.workers
            for (service, count) in previous where count > 0 && (current[service] ?? 0) == 0 {
                notifier.notify(
                    event: "no_live_worker",
                    severity: "critical",
                    text: "No live worker for service \(service)",
                    details: ["service": service]
                )
            }
            for (service, count) in current where count > 0 && (previous[service] ?? 0) == 0 && previous[service] != nil {
                notifier.notify(
                    event: "worker_back",
                    severity: "info",
                    text: "Service \(service) has a live worker again",
                    details: ["service": service]
                )
            }
            previous = current.merging(previous.mapValues { _ in 0 }) { live, _ in live }
        }
    }
}

extension Notifier {
    /// A live order filled at the exchange (queued; never waits).
    func liveFill(_ output: ExecuteOutput) {
        liveFill(clientOrderID: output.clientOrderId, symbol: output.symbol, side: output.side, qtyUsd: output.qtyUsd, reconciled: false)
    }

    /// A pending live order that reconciliation found filled.
    func liveFill(_ order: Order, reconciled: Bool) {
        liveFill(
            clientOrderID: order.intent.clientOrderId,
            symbol: order.intent.symbol,
            side: order.intent.side,
            qtyUsd: order.intent.qtyUsd,
            reconciled: reconciled
        )
    }

    private func liveFill(clientOrderID: String, symbol: String, side: Side, qtyUsd: Decimal, reconciled: Bool) {
        notify(
            event: "live_fill",
            severity: "info",
            text: "Live \(side.rawValue) \(symbol) \(qtyUsd) USD filled\(reconciled ? " (found by reconciliation)" : "") (order \(clientOrderID))",
            details: ["clientOrderId": clientOrderID, "symbol": symbol, "side": side.rawValue, "qtyUsd": "\(qtyUsd)", "reconciled": "\(reconciled)"]
        )
    }
}
