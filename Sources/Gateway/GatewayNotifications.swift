import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import TradingWire

/// Turns control-state changes into notifications: halt, resume, lock, reset.
/// The first state heard is the baseline, not news.
enum ControlNotifications {
    static func announce(from previous: ControlState?, to next: ControlState, notifier: Notifier) {
        guard let previous else { return }
        if !previous.halted && next.halted {
            notifier.notify(
                event: "halt", severity: "critical", text: "Trading halted: \(next.haltReason ?? "no reason given")",
                details: ["reason": next.haltReason ?? "", "tradingMode": next.tradingMode.rawValue])
        } else if previous.halted && !next.halted {
            notifier.notify(event: "resume", severity: "info", text: "Trading resumed", details: ["tradingMode": next.tradingMode.rawValue])
        }
        if !previous.riskLocked && next.riskLocked {
            notifier.notify(
                event: "lock", severity: "critical", text: "Trading risk-locked: \(next.lockReason ?? "drawdown limit")",
                details: ["reason": next.lockReason ?? "", "tradingMode": next.tradingMode.rawValue])
        } else if previous.riskLocked && !next.riskLocked {
            notifier.notify(event: "reset", severity: "warning", text: "Risk lock reset", details: ["tradingMode": next.tradingMode.rawValue])
        }
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
                    event: "no_live_worker", severity: "critical", text: "No live worker for service \(service)",
                    details: ["service": service])
            }
            for (service, count) in current where count > 0 && (previous[service] ?? 0) == 0 && previous[service] != nil {
                notifier.notify(event: "worker_back", severity: "info", text: "Service \(service) has a live worker again", details: ["service": service])
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
        liveFill(clientOrderID: order.intent.clientOrderId, symbol: order.intent.symbol, side: order.intent.side, qtyUsd: order.intent.qtyUsd, reconciled: reconciled)
    }

    private func liveFill(clientOrderID: String, symbol: String, side: Side, qtyUsd: Decimal, reconciled: Bool) {
        notify(
            event: "live_fill", severity: "info",
            text: "Live \(side.rawValue) \(symbol) \(qtyUsd) USD filled\(reconciled ? " (found by reconciliation)" : "") (order \(clientOrderID))",
            details: ["clientOrderId": clientOrderID, "symbol": symbol, "side": side.rawValue, "qtyUsd": "\(qtyUsd)", "reconciled": "\(reconciled)"])
    }
}
