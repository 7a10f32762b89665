import Metrics
import Synchronization
import TradingWire

/// Gauges the gateway sets when `/metrics` is scraped: live workers per service, the control
/// state, and the broker's counters.
enum GatewayGauges {
    static let halted = Gauge(label: "control_halted")
    static let riskLocked = Gauge(label: "control_risk_locked")
    static let controlSeq = Gauge(label: "control_seq")
    static let controlDrops = Gauge(label: "control_publish_drops")
    static let workersExpired = Gauge(label: "broker_workers_expired")
    static let riskDrawdown = Gauge(label: "risk_drawdown")
    static let riskEquity = Gauge(label: "risk_equity")

    static func update(broker: Broker.Snapshot, control: ControlCenter) {
        for service in Set(broker.workers.keys).union([ServiceName.feature, ServiceName.risk, ServiceName.execution]) {
            Gauge(label: "broker_live_workers", dimensions: [("service", service)]).record(broker.workers[service] ?? 0)
        }
        controlDrops.record(broker.controlDrops)
        workersExpired.record(broker.workersExpired)
        if let state = control.control {
            halted.record(state.halted ? 1 : 0)
            riskLocked.record(state.riskLocked ? 1 : 0)
            controlSeq.record(Double(state.seq))
        }
        if let risk = control.riskStatus {
            riskDrawdown.record(risk.status.account.drawdown)
            riskEquity.record(risk.status.account.equity.doubleValueForMetrics)
        }
    }
}

/// What the gateway counts as it works. Counters are made once per label set and kept, so the
/// hot path does not look them up in the metrics registry on every request.
enum GatewayCounters {
    private static let made = Mutex<[String: Counter]>([:])

    private static func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        if let counter = made.withLock({ $0[key] }) { return counter }
        let counter = Counter(label: label, dimensions: dimensions)
        made.withLock { $0[key] = counter }
        return counter
    }

    /// One worker call's outcome, per service.
    static func call(_ service: String, outcome: String) {
        counter("broker_requests_total", [("service", service), ("outcome", outcome)]).increment()
    }

    /// One execute's outcome: filled, rejected, duplicate, refused, unknown.
    static func order(_ outcome: String) {
        counter("orders_total", [("outcome", outcome)]).increment()
    }

    static let riskLockedRefusals = Counter(label: "risk_locked_refusals_total")

    static func operatorAction(_ action: String) {
        counter("operator_actions_total", [("action", action)]).increment()
    }
}

import Foundation

extension Decimal {
    var doubleValueForMetrics: Double { NSDecimalNumber(decimal: self).doubleValue }
}
