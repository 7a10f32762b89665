import Foundation
import ServiceSupport
import TradingWire

/// The runbook's "Before Enabling Live Trading", as the gateway sees it: every check with its
/// outcome. In live mode no order goes out while any check fails.
struct PreflightReport: Encodable, Sendable {
    struct Check: Encodable, Sendable {
        var name: String
        var ok: Bool
        var detail: String
    }

    var ok: Bool
    var tradingMode: TradingMode
    var checks: [Check]
    /// Live: the symbols halted by an unresolved order, and why (the others still trade).
    var symbolHalts: [String: String] = [:]

    static func run(configuration: GatewayConfiguration, broker: Broker.Snapshot, control: ControlCenter) -> PreflightReport {
        var checks: [Check] = []
        func check(_ name: String, _ ok: Bool, _ detail: String) { checks.append(Check(name: name, ok: ok, detail: detail)) }
        let live = configuration.tradingMode == .live
        if live {
            check("api token set", configuration.apiToken != nil, configuration.apiToken == nil ? "API_TOKEN is not set" : "set")
            check(
                "exchange credentials set",
                configuration.exchangeCredentialsPresent,
                configuration.exchangeCredentialsPresent ? "set" : "EXCHANGE_API_KEY/SECRET missing"
            )
            let clock = control.liveOrders.clockCheck(configuration.liveOrders)
            check("exchange clock", clock.ok, clock.detail)
            let reconciled = control.liveOrders.reconciledOnce
            check(
                "pending live orders reconciled",
                reconciled,
                reconciled ? "every LIVE_RECONCILE_MS" : "waiting for the first pass over pending live orders since the gateway started"
            )
        }
        let risk = control.riskStatus
        let fresh = risk.map { unixMilliseconds() - $0.at <= configuration.riskStaleMilliseconds } ?? false
        check("risk status known", fresh, fresh ? "fresh" : "the risk worker has not answered recently")
        if let limits = risk?.status.limits {
            check("confidence threshold set", limits.confidenceThreshold > 0.5, "\(limits.confidenceThreshold)")
            check(
                "risk limits set",
                limits.maxOrderNotionalUsd > 0 && limits.maxPositionUsd > 0 && limits.maxDrawdown > 0,
                "order \(limits.maxOrderNotionalUsd), position \(limits.maxPositionUsd), drawdown \(limits.maxDrawdown)"
            )
            if live {
                check(
                    "live caps set",
                    limits.liveMaxOrderUsd > 0 && limits.liveMaxDailyUsd > 0,
                    "per order \(limits.liveMaxOrderUsd), per day \(limits.liveMaxDailyUsd)"
                )
            }
        }
        let models = Array(Set(broker.workers.keys.flatMap(ServiceName.incumbentModelIDs(of:))))
        check("model loaded", !models.isEmpty, models.isEmpty ? "no model worker is live" : models.sorted().joined(separator: ", "))
        let missing = [ServiceName.feature, ServiceName.risk, ServiceName.execution].filter { (broker.workers[$0] ?? 0) == 0 }
        check(
            "every service live",
            missing.isEmpty,
            missing.isEmpty ? "feature, risk, execution, \(models.count) model id(s)" : "missing: \(missing.joined(separator: ", "))"
        )
        let flags = risk?.status.flags
        check("not risk locked", flags?.riskLocked == false, flags?.lockReason ?? (flags == nil ? "unknown" : "not locked"))
        check("not halted", flags?.halted == false, flags?.haltReason ?? (flags == nil ? "unknown" : "not halted"))
        if live {
            let reconciliation = risk?.status.live?.reconciliation
            check(
                "live book reconciled",
                reconciliation?.state == .ok,
                reconciliation.map { $0.hold ?? "agrees with the exchange's account (checked \($0.checkedAt.map(ISO8601Millis.format) ?? "never"))" }
                    ?? "unknown"
            )
        }
        return PreflightReport(
            ok: checks.allSatisfy(\.ok),
            tradingMode: configuration.tradingMode,
            checks: checks,
            symbolHalts: live ? control.liveOrders.symbolHalts : [:]
        )
    }

    /// The failing checks, for an error detail.
    var failures: String { checks.filter { !$0.ok }.map { "\($0.name): \($0.detail)" }.joined(separator: "; ") }
}
