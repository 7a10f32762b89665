import Foundation
import Metrics
import ServiceSupport
import Synchronization
import TradingWire

/// Gauges the gateway sets when `/metrics` is scraped: live workers per service, the control
/// state, and the broker's counters.
enum GatewayGauges {
    static let halted = Gauge(label: "control_halted")
    static let riskLocked = Gauge(label: "control_risk_locked")
    static let controlChanges = Counter(label: "control_state_changes_total")
    static let controlDrops = Counter(label: "control_publish_drops_total")
    static let workersExpired = Counter(label: "broker_workers_expired_total")
    static let riskDrawdown = Gauge(label: "risk_drawdown_ratio")
    static let riskEquity = Gauge(label: "risk_equity_usd")
    static let drawdownLimit = Gauge(label: "risk_drawdown_limit_ratio")
    static let statusAge = Gauge(label: "risk_status_age_seconds")
    /// The broker's cumulative counts last reported, so the counters advance by the difference.
    private static let reported = Mutex((drops: 0, expired: 0, seq: UInt64(0)))
    private static let seen = Mutex<Set<String>>([])

    static func update(broker: Broker.Snapshot, control: ControlCenter) {
        // Services seen once stay listed (at 0 when none is live), so an alert sees a service vanish.
        let services = seen.withLock { seen in
            seen.formUnion(broker.workers.keys)
            return seen
        }
        for service in services.union([ServiceName.feature, ServiceName.risk, ServiceName.execution]) {
            Gauge(label: "broker_live_workers", dimensions: [("service", service)]).record(broker.workers[service] ?? 0)
        }
        let seq = control.control?.seq ?? 0
        let (drops, expired, changes) = reported.withLock { last in
            // `seq` starts at the gateway's start time (ms): the first state heard is one change.
            let base = last.seq == 0 && seq > 0 ? seq - 1 : last.seq
            defer { last = (broker.controlDrops, broker.workersExpired, max(seq, base)) }
            return (broker.controlDrops - last.drops, broker.workersExpired - last.expired, seq > base ? Int(seq - base) : 0)
        }
        _ = (controlDrops, workersExpired, controlChanges)  // made at the first scrape, so the families show from 0
        if drops > 0 { controlDrops.increment(by: drops) }
        if expired > 0 { workersExpired.increment(by: expired) }
        if changes > 0 { controlChanges.increment(by: changes) }
        if let state = control.control {
            halted.record(state.halted ? 1 : 0)
            riskLocked.record(state.riskLocked ? 1 : 0)
        }
        if let risk = control.riskStatus {
            riskDrawdown.record(risk.status.account.drawdown)
            riskEquity.record(risk.status.account.equity.doubleValueForMetrics)
            drawdownLimit.record(risk.status.limits.maxDrawdown)
            statusAge.record(Double(unixMilliseconds() - risk.at) / 1000)
        }
    }
}

/// What the gateway counts as it works. Counters are made once per label set and kept, so the
/// hot path does not look them up in the metrics registry on every request.
enum GatewayCounters {
    /// A counter's label and the values of its dimensions (a label's dimension names are fixed),
    /// hashed as they are: looking a counter up builds no string, on every call and order.
    private struct Key: Hashable {
        let label: String
        let value: String
        let secondValue: String?
    }

    private static let made = Mutex<[Key: Counter]>([:])

    private static func counter(_ label: String, _ dimension: (String, String), _ second: (String, String)? = nil) -> Counter {
        let key = Key(label: label, value: dimension.1, secondValue: second?.1)
        if let counter = made.withLock({ $0[key] }) { return counter }
        let counter = Counter(label: label, dimensions: [dimension] + (second.map { [$0] } ?? []))
        made.withLock { $0[key] = counter }
        return counter
    }

    /// One worker call's outcome, per service.
    static func call(_ service: String, outcome: String) {
        counter("broker_requests_total", ("service", service), ("outcome", outcome)).increment()
    }

    /// One execute's outcome: filled, rejected, duplicate, refused, unknown.
    static func order(_ outcome: String) {
        counter("orders_total", ("outcome", outcome)).increment()
    }

    static let riskLockedRefusals = Counter(label: "risk_locked_refusals_total")

    /// A consensus or an order refused by the stale-data guard (`where`: consensus or order).
    static func staleData(_ where: String) {
        counter("stale_data_refusals_total", ("where", `where`)).increment()
    }

    static func operatorAction(_ action: String) {
        counter("operator_actions_total", ("action", action)).increment()
    }
}

extension Decimal {
    var doubleValueForMetrics: Double { NSDecimalNumber(decimal: self).doubleValue }
}
