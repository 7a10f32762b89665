import Foundation
import TradingWire

/// Freqtrade's protections over the closed trades: CooldownPeriod, StoplossGuard and
/// LowProfitPairs, each setting a timed `ProtectionLock` that ends on its own. No I/O and no
/// clock: every function takes the time, so paper, live and the backtest decide alike.
public struct Protections: Sendable, Equatable {
    /// Locks set and not yet pruned (some may have ended; `active(at:)` filters).
    public private(set) var locks: [ProtectionLock]
    /// Closed trades within the longest lookback, oldest first.
    public private(set) var trades: [ClosedTrade]
    /// How many trades `record` has added since this value was made: a checkpoint compares it to
    /// know how many of the newest trades came after it.
    public private(set) var recorded = 0

    /// Equal locks and trades (`recorded` is a checkpoint's bookkeeping, not state).
    public static func == (lhs: Protections, rhs: Protections) -> Bool {
        lhs.locks == rhs.locks && lhs.trades == rhs.trades
    }

    public init(locks: [ProtectionLock] = [], trades: [ClosedTrade] = []) {
        self.locks = locks
        self.trades = trades.sorted { $0.closedAt < $1.closedAt }
    }

    /// The locks that hold at `now`.
    public func active(at now: Int64) -> [ProtectionLock] { locks.filter { now < $0.until } }

    /// The lock on `symbol` (or on every symbol) that ends last, at `now`.
    public func lock(on symbol: String, at now: Int64) -> ProtectionLock? {
        Self.lock(on: symbol, at: now, in: locks)
    }

    /// The lock among `locks` holding `symbol` at `now` that ends last.
    public static func lock(on symbol: String, at now: Int64, in locks: [ProtectionLock]) -> ProtectionLock? {
        var found: ProtectionLock?
        for lock in locks where lock.holds(symbol, at: now) && lock.until > (found?.until ?? Int64.min) { found = lock }
        return found
    }

    /// Drops ended locks and trades older than every lookback.
    public mutating func prune(now: Int64, settings: ProtectionSettings) {
        if locks.contains(where: { $0.until <= now }) { locks.removeAll { $0.until <= now } }
        let horizon = now - settings.longestLookbackMilliseconds
        if let first = trades.first, first.closedAt < horizon { trades.removeAll { $0.closedAt < horizon } }
    }

    /// Takes the closed trades out (leaving none), so that a checkpoint of the rest does not
    /// share their storage: the next trade recorded then appends in place instead of copying.
    mutating func takeTrades() -> [ClosedTrade] {
        var taken: [ClosedTrade] = []
        swap(&taken, &trades)
        return taken
    }

    /// Puts back trades `takeTrades` took when `recorded` was `recordedWhenTaken`. When undoing
    /// to an earlier state whose count was `since` (now restored), the trades recorded after it
    /// are dropped from the newest, as long as their order is in `undone` (the orders whose
    /// changes are undone); a trade of any other order stops it.
    mutating func putBack(_ taken: [ClosedTrade], recordedWhenTaken: Int, undoingSince since: Int? = nil, of undone: Set<String> = []) {
        var kept = taken
        if let since {
            var toDrop = recordedWhenTaken - since
            while toDrop > 0, let last = kept.last, undone.contains(last.orderId) {
                kept.removeLast()
                toDrop -= 1
            }
        }
        trades = kept
    }

    /// An operator deletes a lock; nil when no lock has that id.
    public mutating func remove(id: String) -> ProtectionLock? {
        guard let index = locks.firstIndex(where: { $0.id == id }) else { return nil }
        return locks.remove(at: index)
    }

    /// Records a closed trade and applies every protection at its close time. Returns the locks
    /// it set.
    @discardableResult
    public mutating func record(_ trade: ClosedTrade, settings: ProtectionSettings) -> [ProtectionLock] {
        let now = trade.closedAt
        prune(now: now, settings: settings)
        trades.append(trade)
        recorded += 1
        var added: [ProtectionLock] = []
        let symbol = trade.symbol
        // CooldownPeriod: a losing trade locks its symbol.
        if settings.cooldownMinutes > 0, trade.pnl < 0 {
            added.append(
                makeLock(
                    symbol: symbol,
                    rule: "cooldown",
                    minutes: settings.cooldownMinutes,
                    now: now,
                    reason: "a losing trade closed (\(trade.pnl.rounded(scale: 8))); cooldown of \(settings.cooldownMinutes) min"
                )
            )
        }
        // StoplossGuard: N losing trades within the lookback lock the symbol, or every symbol.
        if settings.stoplossGuardTrades > 0, trade.pnl < 0 {
            let since = now - Int64(settings.stoplossGuardLookbackMinutes) * 60_000
            let losing = trades.filter {
                $0.closedAt >= since && $0.pnl < 0 && (!settings.stoplossGuardPerSymbol || $0.symbol == symbol)
            }.count
            if losing >= settings.stoplossGuardTrades {
                let scope = settings.stoplossGuardPerSymbol ? symbol : nil
                added.append(
                    makeLock(
                        symbol: scope,
                        rule: "stoploss_guard",
                        minutes: settings.stoplossGuardLockMinutes,
                        now: now,
                        reason: "\(losing) losing trades\(scope.map { " in \($0)" } ?? "") within \(settings.stoplossGuardLookbackMinutes) min "
                            + "(limit \(settings.stoplossGuardTrades))"
                    )
                )
            }
        }
        // LowProfitPairs: enough trades in the symbol within the lookback, realising too little.
        if settings.lowProfitTrades > 0 {
            let since = now - Int64(settings.lowProfitLookbackMinutes) * 60_000
            let recent = trades.filter { $0.closedAt >= since && $0.symbol == symbol }
            let realised = recent.reduce(Decimal(0)) { $0 + $1.pnl }
            if recent.count >= settings.lowProfitTrades, realised < settings.lowProfitMinUsd {
                added.append(
                    makeLock(
                        symbol: symbol,
                        rule: "low_profit",
                        minutes: settings.lowProfitLockMinutes,
                        now: now,
                        reason: "\(recent.count) trades within \(settings.lowProfitLookbackMinutes) min realised \(realised.rounded(scale: 8)), "
                            + "below \(settings.lowProfitMinUsd)"
                    )
                )
            }
        }
        locks.append(contentsOf: added)
        return added
    }

    private func makeLock(symbol: String?, rule: String, minutes: Int, now: Int64, reason: String) -> ProtectionLock {
        let base = "\(rule.replacingOccurrences(of: "_", with: "-"))-\(symbol ?? "ALL")-\(now)"
        var id = base
        var suffix = 1
        while locks.contains(where: { $0.id == id }) {
            suffix += 1
            id = "\(base)-\(suffix)"
        }
        return ProtectionLock(id: id, symbol: symbol, rule: rule, reason: reason, since: now, until: now + Int64(minutes) * 60_000)
    }
}

/// The stale-data guard: a symbol's newest candle may be at most `maxAge` candle intervals old.
public enum StaleDataGuard {
    /// Why `symbol` may not take a new order at `now`, or nil. No candle known: nil (a caller that
    /// never fed candles is judged by the other rules, e.g. `no_price`).
    public static func problem(symbol: String, clock: CandleClock?, maxAge: Double, now: Int64) -> String? {
        guard maxAge > 0, let clock, clock.intervalMilliseconds > 0 else { return nil }
        let limit = Int64((maxAge * Double(clock.intervalMilliseconds)).rounded())
        let age = now - clock.newestOpenTime
        guard age > limit else { return nil }
        return "the newest candle of \(symbol) opened at \(ISO8601Millis.format(clock.newestOpenTime)), \(age / 1_000) s ago, "
            + "older than \(maxAge) intervals (\(limit / 1_000) s, MAX_CANDLE_AGE)"
    }
}
