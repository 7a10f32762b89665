import Foundation

/// NautilusTrader's trading states: `ACTIVE` trades normally, `REDUCING` accepts only orders that
/// shrink an open position (the others answer 423 `reducing_only`), `HALTED` accepts none.
public enum TradingState: String, Codable, Sendable, CaseIterable {
    case active = "ACTIVE"
    case reducing = "REDUCING"
    case halted = "HALTED"
}

/// What the drawdown brake does when it trips (`DRAWDOWN_ACTION`).
public enum DrawdownAction: String, Codable, Sendable, CaseIterable {
    /// Lock everything (423 `risk_locked`) until an operator resets it.
    case lock
    /// Go to `REDUCING`: positions may be closed, none opened or grown.
    case reduce
}

/// A timed lock set by a protection (Freqtrade's pair locks): while it lasts, orders that open or
/// grow a position in its symbol (every symbol when `symbol` is nil) are refused; orders that
/// reduce one are not. It ends on its own at `until`, or when an operator deletes it.
public struct ProtectionLock: Codable, Sendable, Equatable {
    /// `<rule>-<symbol or ALL>-<since>`: letters, digits and dashes.
    public var id: String
    /// The locked symbol; nil locks every symbol.
    public var symbol: String?
    /// `cooldown`, `stoploss_guard` or `low_profit`.
    public var rule: String
    public var reason: String
    /// Unix milliseconds.
    public var since: Int64
    /// Unix milliseconds; the lock no longer counts from this time on.
    public var until: Int64

    public init(id: String, symbol: String?, rule: String, reason: String, since: Int64, until: Int64) {
        self.id = id
        self.symbol = symbol
        self.rule = rule
        self.reason = reason
        self.since = since
        self.until = until
    }

    /// Whether this lock holds `symbol` at `now`.
    public func holds(_ symbol: String, at now: Int64) -> Bool {
        now < until && (self.symbol == nil || self.symbol == symbol)
    }

    /// The sentence a refusal carries: which lock, on what, until when, and why.
    public var refusal: String {
        "\(symbol ?? "every symbol") is locked by \(rule) (lock \(id)) until \(ISO8601Millis.format(until)): \(reason)"
    }
}

/// A trade that closed (a fill that reduced or closed a position) and what it realised, fees
/// included: the history the protections look back over.
public struct ClosedTrade: Codable, Sendable, Equatable {
    /// The client order id of the closing fill.
    public var orderId: String
    public var symbol: String
    /// Unix milliseconds (the fill's time).
    public var closedAt: Int64
    /// Realised PnL of the closing fill, fees included.
    public var pnl: Decimal

    public init(orderId: String, symbol: String, closedAt: Int64, pnl: Decimal) {
        self.orderId = orderId
        self.symbol = symbol
        self.closedAt = closedAt
        self.pnl = pnl
    }
}

/// Freqtrade's protections, with its parameters (durations in minutes; a count of 0 turns a
/// protection off).
public struct ProtectionSettings: Codable, Sendable, Equatable {
    /// CooldownPeriod: minutes a symbol is locked after a losing trade in it closes.
    public var cooldownMinutes: Int
    /// StoplossGuard `trade_limit`: losing trades within the lookback that set the lock (0 = off).
    public var stoplossGuardTrades: Int
    /// StoplossGuard `lookback_period`.
    public var stoplossGuardLookbackMinutes: Int
    /// StoplossGuard `stop_duration`.
    public var stoplossGuardLockMinutes: Int
    /// StoplossGuard `only_per_pair`: lock the symbol (true) or every symbol (false).
    public var stoplossGuardPerSymbol: Bool
    /// LowProfitPairs `trade_limit`: least closed trades within the lookback to judge (0 = off).
    public var lowProfitTrades: Int
    /// LowProfitPairs `lookback_period`.
    public var lowProfitLookbackMinutes: Int
    /// LowProfitPairs `stop_duration`.
    public var lowProfitLockMinutes: Int
    /// LowProfitPairs `required_profit`, in quote currency: realised PnL below it locks the symbol.
    public var lowProfitMinUsd: Decimal

    public init(
        cooldownMinutes: Int = 0,
        stoplossGuardTrades: Int = 0,
        stoplossGuardLookbackMinutes: Int = 60,
        stoplossGuardLockMinutes: Int = 60,
        stoplossGuardPerSymbol: Bool = false,
        lowProfitTrades: Int = 0,
        lowProfitLookbackMinutes: Int = 1_440,
        lowProfitLockMinutes: Int = 60,
        lowProfitMinUsd: Decimal = 0
    ) {
        self.cooldownMinutes = cooldownMinutes
        self.stoplossGuardTrades = stoplossGuardTrades
        self.stoplossGuardLookbackMinutes = stoplossGuardLookbackMinutes
        self.stoplossGuardLockMinutes = stoplossGuardLockMinutes
        self.stoplossGuardPerSymbol = stoplossGuardPerSymbol
        self.lowProfitTrades = lowProfitTrades
        self.lowProfitLookbackMinutes = lowProfitLookbackMinutes
        self.lowProfitLockMinutes = lowProfitLockMinutes
        self.lowProfitMinUsd = lowProfitMinUsd
    }

    /// The longest lookback of the protections that are on, in milliseconds: older closed trades
    /// are no longer needed (with every protection off, none is kept beyond the latest).
    public var longestLookbackMilliseconds: Int64 {
        let stoplossGuard = stoplossGuardTrades > 0 ? stoplossGuardLookbackMinutes : 0
        let lowProfit = lowProfitTrades > 0 ? lowProfitLookbackMinutes : 0
        return Int64(max(stoplossGuard, lowProfit, cooldownMinutes)) * 60_000
    }
}

/// The newest candle of a symbol and its interval, for the stale-data guard.
public struct CandleClock: Codable, Sendable, Equatable {
    /// Unix milliseconds.
    public var newestOpenTime: Int64
    public var intervalMilliseconds: Int64

    public init(newestOpenTime: Int64, intervalMilliseconds: Int64) {
        self.newestOpenTime = newestOpenTime
        self.intervalMilliseconds = intervalMilliseconds
    }
}

/// `risk` / `state`: set the trading state.
public struct StateChange: Codable, Sendable {
    public var state: TradingState
    public var reason: String?
    public var requestedBy: String

    public init(state: TradingState, reason: String?, requestedBy: String) {
        self.state = state
        self.reason = reason
        self.requestedBy = requestedBy
    }
}

/// `risk` / `locks`: the locks in force.
public struct LockList: Codable, Sendable {
    public var locks: [ProtectionLock]

    public init(locks: [ProtectionLock]) {
        self.locks = locks
    }
}

/// `risk` / `unlock`: delete one lock by id.
public struct UnlockRequest: Codable, Sendable {
    public var id: String
    public var requestedBy: String

    public init(id: String, requestedBy: String) {
        self.id = id
        self.requestedBy = requestedBy
    }
}

/// `risk` / `unlock` answer: the lock deleted and those still in force.
public struct UnlockResult: Codable, Sendable {
    public var removed: ProtectionLock
    public var locks: [ProtectionLock]

    public init(removed: ProtectionLock, locks: [ProtectionLock]) {
        self.removed = removed
        self.locks = locks
    }
}

/// `2026-01-02T03:04:05.678Z` from Unix milliseconds, without a formatter (thread-safe, fast).
public enum ISO8601Millis {
    public static func format(_ milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let rest = milliseconds - days * 86_400_000
        let (y, m, d) = civil(days: Int(days))
        let seconds = Int(rest / 1_000)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(seconds / 3_600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))."
            + "\(pad(Int(rest % 1_000), 3))Z"
    }

    /// `value` in decimal with leading zeros to `width` digits.
    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
    public static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
