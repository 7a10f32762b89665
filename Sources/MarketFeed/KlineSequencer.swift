import TradingWire

/// Keeps each symbol's closed candles contiguous, in order and single, with no I/O: told every
/// closed kline from the stream and every backfilled candle, it says which to hand on and which
/// open times are missing (to be fetched through REST before the candle after them goes out).
public struct KlineSequencer: Sendable {
    /// What to do with a closed kline from the stream.
    public enum Decision: Sendable, Equatable {
        /// The next candle: hand it on.
        case next
        /// Already handed on (a repeat, or older: out of order): drop it.
        case old
        /// Candles opening from `from` to `to` (inclusive) are missing: backfill them, then hand
        /// this one on.
        case gap(from: Int64, to: Int64)
        /// The first candle of the symbol: backfill the window before it.
        case first
    }

    public let intervalMilliseconds: Int64
    private var newest: [String: Int64] = [:]

    public init(intervalMilliseconds: Int64) {
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// The open time of the newest candle handed on for `symbol`.
    public func newestOpenTime(_ symbol: String) -> Int64? { newest[symbol] }

    /// Judges a closed kline (it does not record it: `accept` does).
    public func judge(symbol: String, openTime: Int64) -> Decision {
        guard let last = newest[symbol] else { return .first }
        if openTime <= last { return .old }
        if openTime == last + intervalMilliseconds { return .next }
        return .gap(from: last + intervalMilliseconds, to: openTime - intervalMilliseconds)
    }

    /// Of `candles` (any order, repeats allowed), the ones after the newest handed on, oldest
    /// first, each once, recorded as handed on. A hole inside them is the caller's to fill (the
    /// stream's next candle finds it as a gap).
    public mutating func accept(symbol: String, _ candles: [Candle]) -> [Candle] {
        var out: [Candle] = []
        var last = newest[symbol] ?? Int64.min
        for candle in candles.sorted(by: { $0.openTime < $1.openTime }) where candle.openTime > last {
            out.append(candle)
            last = candle.openTime
        }
        if !out.isEmpty { newest[symbol] = last }
        return out
    }

    /// Forgets where `symbol` stood (the gateway holds something newer or was restarted: the
    /// next kline backfills from what the gateway answers).
    public mutating func reset(symbol: String, newestOpenTime: Int64?) {
        newest[symbol] = newestOpenTime
    }
}
