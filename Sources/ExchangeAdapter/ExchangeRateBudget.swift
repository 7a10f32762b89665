import Foundation
import Synchronization
import TradingWire

/// What an exchange request is for, and so which share of the budget it may use.
public enum RequestPurpose: Sendable {
    /// A new order (`POST /api/v3/order`): refused once the usage would pass the limit less the
    /// margin, and while the shared back-off holds new orders.
    case order
    /// The query that settles an order's unclear answer, the clock and exchangeInfo: the same
    /// share as orders, but not held by an orders-only back-off.
    case settle
    /// The reconciliation's queries (account, allOrders, myTrades, order by id): their own, lower
    /// share of the weight, so that they never starve order placement.
    case reconcile
}

/// The exchange's limits, as exchangeInfo's `rateLimits` publish them (Binance's spot defaults
/// until it has been read).
public struct ExchangeRateLimits: Sendable, Equatable {
    /// `REQUEST_WEIGHT` per `MINUTE` (1).
    public var weightPerMinute = 6_000
    /// `ORDERS` per 10 `SECOND`.
    public var ordersPer10Seconds = 100
    /// `ORDERS` per `DAY` (1).
    public var ordersPerDay = 200_000

    public init() {}

    /// The limits exchangeInfo names (`rateLimitType`, `interval`, `intervalNum`, `limit`); an
    /// entry that is not one of these three, or whose limit is not an integer within
    /// 1...10,000,000, leaves the limit as it was.
    public func reading(_ entries: [[String: Any]]) -> ExchangeRateLimits {
        var limits = self
        for entry in entries {
            guard let type = entry["rateLimitType"] as? String, let interval = entry["interval"] as? String,
                let number = entry["intervalNum"] as? Int, let limit = entry["limit"] as? Int, !(entry["limit"] is Bool),
                (1...10_000_000).contains(limit)
            else { continue }
            switch (type, interval, number) {
            case ("REQUEST_WEIGHT", "MINUTE", 1): limits.weightPerMinute = limit
            case ("ORDERS", "SECOND", 10): limits.ordersPer10Seconds = limit
            case ("ORDERS", "DAY", 1): limits.ordersPerDay = limit
            default: continue
            }
        }
        return limits
    }
}

/// How close to the exchange's limits the client goes (docs/live-trading.md).
///
/// | key | type | default | range | meaning |
/// |---|---|---|---|---|
/// | `EXCHANGE_RATE_MARGIN_PCT` | int | 10 | 1 ... 50 | new orders stop once the weight or order count would pass the limit less this share |
/// | `EXCHANGE_RECONCILE_WEIGHT_PCT` | int | 30 | 5 ... 90 - margin | the reconciliation's queries stop once the minute's weight would pass this share of the limit |
public struct ExchangeRateSettings: Sendable, Equatable {
    public var marginPercent: Int
    public var reconcileWeightPercent: Int

    public init(marginPercent: Int = 10, reconcileWeightPercent: Int = 30) {
        self.marginPercent = marginPercent
        self.reconcileWeightPercent = reconcileWeightPercent
    }
}

/// Why a request was not sent: until when, and what says so.
public struct ExchangeRateRefusal: Sendable, Equatable {
    /// Host Unix ms before which the request is not to be sent again.
    public var until: Int64
    public var reason: String
    /// A 429 or 418 the exchange answered (not our own budget).
    public var fromExchange: Bool

    /// Whole seconds to wait from `now` (at least 1), for `Retry-After`.
    public func seconds(at now: Int64) -> Int { Int(max(1, (until - now + 999) / 1000)) }
}

/// The client's rate budget: the usage the exchange reports in `X-MBX-USED-WEIGHT-1M` and
/// `X-MBX-ORDER-COUNT-10S`/`-1D` (and what it sent since, counted by each endpoint's weight), the
/// limits from exchangeInfo, and the back-off a 429/418 asked for or this replica's share of the
/// control state carries. Binance's windows are fixed intervals on its clock (a minute, ten
/// seconds, a UTC day): each count holds until its window ends, measured on the host's clock at
/// the moment it was seen, so a later clock correction moves nothing.
///
/// Bad headers are ignored: a value that is not 1 to 9 plain digits, or more than twice the limit,
/// counts in `ignoredHeaders` and changes nothing. Any value is forgotten when its window ends, so
/// even an accepted one holds orders at most a minute (weight), ten seconds or the rest of the day
/// (orders, and only when within twice the day's limit). `Retry-After` is read the same way and
/// bounded by Binance's longest ban, three days.
public final class ExchangeRateBudget: Sendable {
    struct Window {
        var used = 0
        /// Host Unix ms at which the window ends (and the count is forgotten).
        var endsAt: Int64 = .min
    }

    struct State {
        var limits = ExchangeRateLimits()
        var weight = Window()
        var orders10s = Window()
        var orders1d = Window()
        /// The back-off (host Unix ms): new orders, and every request.
        var ordersUntil: Int64 = 0
        var requestsUntil: Int64 = 0
        var reason = ""
        var ignoredHeaders = 0
    }

    static let minute: Int64 = 60_000
    static let tenSeconds: Int64 = 10_000
    static let day: Int64 = 86_400_000

    public let settings: ExchangeRateSettings
    private let state = Mutex(State())

    public init(settings: ExchangeRateSettings = ExchangeRateSettings()) {
        self.settings = settings
    }

    public var limits: ExchangeRateLimits { state.withLock { $0.limits } }

    /// Takes the limits exchangeInfo published.
    public func learn(rateLimits entries: [[String: Any]]) {
        state.withLock { $0.limits = $0.limits.reading(entries) }
    }

    /// The weight new orders may use in a minute: the limit less the margin.
    static func orderShare(_ limit: Int, _ settings: ExchangeRateSettings) -> Int { limit * (100 - settings.marginPercent) / 100 }

    /// Whether a request of `weight` (and `orders` new orders) for `purpose` may go now; when it
    /// may, it is counted. `exchangeNow` is the same moment on the exchange's clock.
    public func admit(_ purpose: RequestPurpose, weight: Int, orders: Int = 0, now: Int64, exchangeNow: Int64) -> ExchangeRateRefusal? {
        state.withLock { state in
            if state.requestsUntil > now { return ExchangeRateRefusal(until: state.requestsUntil, reason: state.reason, fromExchange: true) }
            if purpose == .order, state.ordersUntil > now {
                return ExchangeRateRefusal(until: state.ordersUntil, reason: state.reason, fromExchange: false)
            }
            Self.roll(&state, now: now, exchangeNow: exchangeNow)
            let limit = state.limits.weightPerMinute
            let cap = purpose == .reconcile ? limit * settings.reconcileWeightPercent / 100 : Self.orderShare(limit, settings)
            if state.weight.used + weight > cap {
                let share =
                    purpose == .reconcile
                    ? "EXCHANGE_RECONCILE_WEIGHT_PCT \(settings.reconcileWeightPercent)" : "EXCHANGE_RATE_MARGIN_PCT \(settings.marginPercent)"
                let reason = "weight \(state.weight.used) of \(limit) used this minute: \(weight) more would pass \(cap) (\(share))"
                if purpose == .order { Self.holdOrders(&state, until: state.weight.endsAt, reason: reason) }
                return ExchangeRateRefusal(until: state.weight.endsAt, reason: reason, fromExchange: false)
            }
            if orders > 0 {
                for (window, limit, name) in [
                    (state.orders10s, state.limits.ordersPer10Seconds, "10 s"), (state.orders1d, state.limits.ordersPerDay, "day"),
                ] {
                    let cap = Self.orderShare(limit, settings)
                    guard window.used + orders > cap else { continue }
                    let reason =
                        "\(window.used) of \(limit) orders this \(name): one more would pass \(cap) (EXCHANGE_RATE_MARGIN_PCT \(settings.marginPercent))"
                    Self.holdOrders(&state, until: window.endsAt, reason: reason)
                    return ExchangeRateRefusal(until: window.endsAt, reason: reason, fromExchange: false)
                }
            }
            state.weight.used += weight
            state.orders10s.used += orders
            state.orders1d.used += orders
            return nil
        }
    }

    /// Reads one answer's rate headers (`header` looks a name up, case-insensitively) and, for a
    /// 429 or 418, its `Retry-After`. Returns the refusal a 429/418 is.
    @discardableResult
    public func observe(status: Int, header: (String) -> String?, now: Int64, exchangeNow: Int64) -> ExchangeRateRefusal? {
        state.withLock { state in
            Self.roll(&state, now: now, exchangeNow: exchangeNow)
            let limits = state.limits
            Self.take(header("X-MBX-USED-WEIGHT-1M"), into: &state.weight, limit: limits.weightPerMinute, ignored: &state.ignoredHeaders)
            Self.take(header("X-MBX-ORDER-COUNT-10S"), into: &state.orders10s, limit: limits.ordersPer10Seconds, ignored: &state.ignoredHeaders)
            Self.take(header("X-MBX-ORDER-COUNT-1D"), into: &state.orders1d, limit: limits.ordersPerDay, ignored: &state.ignoredHeaders)
            guard status == 429 || status == 418 else { return nil }
            let asked = header("Retry-After").flatMap(Self.plainInteger)
            if header("Retry-After") != nil, asked == nil { state.ignoredHeaders += 1 }
            let seconds = min(max(asked ?? (status == 418 ? 120 : 60), 1), Int(ExchangeBackoff.longestMilliseconds / 1000))
            let until = now + Int64(seconds) * 1000
            let reason =
                status == 418 ? "the exchange banned this IP (HTTP 418) for \(seconds) s" : "the exchange answered HTTP 429: wait \(seconds) s"
            state.requestsUntil = max(state.requestsUntil, until)
            Self.holdOrders(&state, until: until, reason: reason)
            return ExchangeRateRefusal(until: state.requestsUntil, reason: reason, fromExchange: true)
        }
    }

    /// Takes the shared back-off the control state carries (the later end of each is kept).
    public func adopt(_ shared: ExchangeBackoff, now: Int64) {
        let bounded = shared.bounded(now: now)
        state.withLock { state in
            if bounded.requestsUntil > state.requestsUntil { state.requestsUntil = bounded.requestsUntil }
            if bounded.ordersUntil > state.ordersUntil {
                state.ordersUntil = bounded.ordersUntil
                state.reason = bounded.reason
            }
        }
    }

    /// The back-off in force at `now`, to share with the other replicas; nil when none is.
    public func backoff(now: Int64) -> ExchangeBackoff? {
        state.withLock { state in
            guard state.ordersUntil > now else { return nil }
            return ExchangeBackoff(
                ordersUntil: state.ordersUntil,
                requestsUntil: state.requestsUntil > now ? state.requestsUntil : 0,
                reason: state.reason
            )
        }
    }

    public func status(now: Int64, exchangeNow: Int64) -> ExchangeRateStatus {
        let backoff = backoff(now: now)
        return state.withLock { state in
            Self.roll(&state, now: now, exchangeNow: exchangeNow)
            let limits = state.limits
            return ExchangeRateStatus(
                usedWeight: state.weight.used,
                weightLimit: limits.weightPerMinute,
                orders10s: state.orders10s.used,
                orders10sLimit: limits.ordersPer10Seconds,
                orders1d: state.orders1d.used,
                orders1dLimit: limits.ordersPerDay,
                reconcileWeightLimit: limits.weightPerMinute * settings.reconcileWeightPercent / 100,
                orderWeightLimit: Self.orderShare(limits.weightPerMinute, settings),
                ignoredHeaders: state.ignoredHeaders,
                backoff: backoff
            )
        }
    }

    // MARK: windows

    private static func holdOrders(_ state: inout State, until: Int64, reason: String) {
        guard until > state.ordersUntil else { return }
        state.ordersUntil = until
        state.reason = reason
    }

    /// Starts a new window for every count whose window has ended.
    private static func roll(_ state: inout State, now: Int64, exchangeNow: Int64) {
        func renew(_ window: inout Window, length: Int64) {
            guard now >= window.endsAt else { return }
            let into = ((exchangeNow % length) + length) % length
            window = Window(used: 0, endsAt: now + (length - into))
        }
        renew(&state.weight, length: minute)
        renew(&state.orders10s, length: tenSeconds)
        renew(&state.orders1d, length: day)
    }

    /// A usage header: taken when it is plain digits within twice the limit (counts only grow
    /// within a window, so the larger of it and the count held), else ignored.
    private static func take(_ text: String?, into window: inout Window, limit: Int, ignored: inout Int) {
        guard let text else { return }
        guard let value = plainInteger(text), value <= limit * 2 else {
            ignored += 1
            return
        }
        window.used = max(window.used, value)
    }

    /// 1 to 9 ASCII digits (surrounding spaces allowed), else nil.
    static func plainInteger(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard (1...9).contains(trimmed.utf8.count), trimmed.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int(trimmed)
    }
}
