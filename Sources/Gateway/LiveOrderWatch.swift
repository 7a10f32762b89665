import Foundation
import Metrics
import ServiceSupport
import Synchronization
import TradingWire

/// The gateway's live-order settings (docs/live-trading.md).
///
/// | key | type | default | range | meaning |
/// |---|---|---|---|---|
/// | `LIVE_UNRESOLVED_ALERT_MS` | int | 300000 | 1000 ... 86400000 | a live order still unknown this long after its timestamp halts its symbol (423 `order_state_unresolved`) and is notified |
/// | `LIVE_LATE_FILL_CHECK_MS` | int | 60000 | 1000 ... 3600000 | how often live orders booked rejected in the last 24 h are asked again |
/// | `EXCHANGE_MAX_CLOCK_OFFSET_MS` | int | 500 | 1 ... 60000 | `/api/preflight` fails when the exchange's clock is further than this from the host's |
public struct LiveOrderSettings: Sendable {
    public var unresolvedAlertMilliseconds: Int
    public var lateFillCheckMilliseconds: Int
    public var maxClockOffsetMilliseconds: Int

    public init(reader: EnvironmentReader) throws {
        unresolvedAlertMilliseconds = try reader.int("LIVE_UNRESOLVED_ALERT_MS", default: 300_000, in: 1_000...86_400_000)
        lateFillCheckMilliseconds = try reader.int("LIVE_LATE_FILL_CHECK_MS", default: 60_000, in: 1_000...3_600_000)
        maxClockOffsetMilliseconds = try reader.int("EXCHANGE_MAX_CLOCK_OFFSET_MS", default: 500, in: 1...60_000)
    }

    /// How many sync periods a clock measurement may age before the preflight fails.
    static let clockPeriodsAllowed: Int64 = 3
}

/// A live order whose outcome the exchange has not settled within `LIVE_UNRESOLVED_ALERT_MS`.
struct UnresolvedLiveOrder: Encodable, Sendable, Equatable {
    var clientOrderId: String
    var symbol: String
    /// How long it has been pending, ms.
    var pendingMs: Int64
    /// The last answer the query got.
    var detail: String
}

/// `/health` `liveOrders`: the exchange's clock as the execution worker measured it, and the
/// unresolved live orders (each halts its symbol).
struct LiveOrderHealth: Encodable, Sendable {
    struct Clock: Encodable, Sendable {
        var offsetMs: Int64?
        var ageMs: Int64?
        var roundTripMs: Int64?
        var syncIntervalMs: Int?
        var lastFailure: String?
    }

    var exchangeClock: Clock
    var unresolved: [UnresolvedLiveOrder]
    /// The rate budget of the execution replica last polled: usage, limits, its back-off.
    var exchangeRate: ExchangeRateStatus?
    /// The back-off every replica holds (the control state's), nil when none.
    var exchangeBackoff: ExchangeBackoff?
}

/// What the gateway knows of live orders between reconciler passes: the last clock measurement
/// (and when it was heard) and the unresolved orders, which halt their symbols.
final class LiveOrderWatch: Sendable {
    private struct State {
        var clock: (status: ExchangeClockStatus, heardAt: Int64)?
        var unresolved: [String: UnresolvedLiveOrder] = [:]
        /// Set by the first complete pass over the pending live orders: until then a symbol an
        /// unresolved order halts (say, after a restart of the gateway) is not known to be halted.
        var reconciledOnce = false
        var lastLateFillCheck: Int64 = 0
    }

    private let state = Mutex(State())

    func record(clock: ExchangeClockStatus) {
        state.withLock { $0.clock = (clock, unixMilliseconds()) }
    }

    /// Replaces the unresolved orders with this pass's; returns the ones that are new.
    func replaceUnresolved(_ orders: [UnresolvedLiveOrder]) -> [UnresolvedLiveOrder] {
        state.withLock { state in
            let fresh = orders.filter { state.unresolved[$0.clientOrderId] == nil }
            state.unresolved = Dictionary(orders.map { ($0.clientOrderId, $0) }) { first, _ in first }
            state.reconciledOnce = true
            return fresh
        }
    }

    func resolved(_ clientOrderID: String) {
        _ = state.withLock { $0.unresolved.removeValue(forKey: clientOrderID) }
    }

    /// Whether a pass over the pending live orders has completed since the gateway started.
    var reconciledOnce: Bool { state.withLock { $0.reconciledOnce } }

    /// The unresolved order that halts `symbol`, if any.
    func halt(for symbol: String) -> UnresolvedLiveOrder? {
        state.withLock { state in state.unresolved.values.filter { $0.symbol == symbol }.min { $0.clientOrderId < $1.clientOrderId } }
    }

    /// Per halted symbol, why.
    var symbolHalts: [String: String] {
        state.withLock { state in
            var halts: [String: String] = [:]
            for order in state.unresolved.values.sorted(by: { $0.clientOrderId < $1.clientOrderId }) {
                let line = "order \(order.clientOrderId) unresolved for \(order.pendingMs / 1000) s: \(order.detail)"
                halts[order.symbol] = halts[order.symbol].map { "\($0); \(line)" } ?? line
            }
            return halts
        }
    }

    /// Whether the reconciler should ask about rejected orders again now (and if so, from now on
    /// counts as the last time).
    func lateFillCheckDue(every milliseconds: Int) -> Bool {
        let now = unixMilliseconds()
        return state.withLock { state in
            guard now - state.lastLateFillCheck >= Int64(milliseconds) else { return false }
            state.lastLateFillCheck = now
            return true
        }
    }

    var health: LiveOrderHealth {
        state.withLock { state in
            let clock = state.clock.map { clock in
                LiveOrderHealth.Clock(
                    offsetMs: clock.status.offsetMs,
                    ageMs: clock.status.ageMs.map { $0 + unixMilliseconds() - clock.heardAt },
                    roundTripMs: clock.status.roundTripMs,
                    syncIntervalMs: clock.status.syncIntervalMs,
                    lastFailure: clock.status.lastFailure
                )
            }
            return LiveOrderHealth(
                exchangeClock: clock ?? LiveOrderHealth.Clock(lastFailure: "not heard from the execution worker yet"),
                unresolved: state.unresolved.values.sorted { $0.clientOrderId < $1.clientOrderId },
                exchangeRate: state.clock?.status.rate
            )
        }
    }

    /// The preflight's clock check: measured, recent (within a few sync periods) and within
    /// `EXCHANGE_MAX_CLOCK_OFFSET_MS`.
    func clockCheck(_ settings: LiveOrderSettings) -> (ok: Bool, detail: String) {
        let clock = health.exchangeClock
        guard let offset = clock.offsetMs, let age = clock.ageMs, let interval = clock.syncIntervalMs else {
            return (false, "the offset to the exchange's clock is not measured: \(clock.lastFailure ?? "no measurement")")
        }
        let oldest = LiveOrderSettings.clockPeriodsAllowed * Int64(interval) + 5_000
        if age > oldest {
            return (
                false,
                "the last measurement is \(age) ms old, beyond \(oldest) ms (\(LiveOrderSettings.clockPeriodsAllowed) x EXCHANGE_TIME_SYNC_MS): \(clock.lastFailure ?? "")"
            )
        }
        if abs(offset) > Int64(settings.maxClockOffsetMilliseconds) {
            return (
                false, "offset \(offset) ms is beyond EXCHANGE_MAX_CLOCK_OFFSET_MS (\(settings.maxClockOffsetMilliseconds) ms): fix the host's clock"
            )
        }
        return (true, "offset \(offset) ms, measured \(age) ms ago")
    }

    /// `exchange_clock_offset_seconds`, `exchange_clock_age_seconds`, `live_orders_unresolved`,
    /// `exchange_used_weight` and `exchange_backoff_seconds` for `/metrics`.
    func recordGauges(backoff: ExchangeBackoff?) {
        let health = self.health
        if let rate = health.exchangeRate { Gauge(label: "exchange_used_weight").record(rate.usedWeight) }
        let now = unixMilliseconds()
        Gauge(label: "exchange_backoff_seconds").record(Double(max(0, (backoff?.ordersUntil ?? now) - now)) / 1000)
        if let offset = health.exchangeClock.offsetMs { Gauge(label: "exchange_clock_offset_seconds").record(Double(offset) / 1000) }
        if let age = health.exchangeClock.ageMs { Gauge(label: "exchange_clock_age_seconds").record(Double(age) / 1000) }
        Gauge(label: "live_orders_unresolved").record(health.unresolved.count)
    }
}
