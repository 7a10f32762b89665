import Synchronization
import TradingWire

/// The latest candles per symbol, as fed through `POST /api/market/candles`, so that the
/// stateless feature workers can be handed a symbol's history with each request.
///
/// Per symbol, open times strictly increase: a batch whose first candle is not newer than the
/// last one held is refused whole (`stale_candle`), and so is one reaching more than one
/// interval into the future; at most `maxSymbols` symbols are held.
public final class MarketCache: Sendable {
    private let candles = Mutex<[String: [Candle]]>([:])
    /// Per symbol, a feature worker's answer for the newest candle (its open time, `asOf`).
    /// Open times only increase, so that candle names the whole window: until the next one
    /// arrives, every consensus on the symbol has exactly these features.
    private let features = Mutex<[String: (asOf: Int64, result: FeatureResult)]>([:])
    private let window: Int
    private let maxSymbols: Int
    private let defaultIntervalMilliseconds: Int64
    /// Told every change, with the symbol's whole window, in the order of the changes (called
    /// under the cache's lock, so it must only hand the window on: the broker's publish does).
    private let onChange: (@Sendable (String, [Candle]) -> Void)?

    /// Why a batch of candles was refused; nothing of it was kept.
    public enum Refusal: Error, Sendable, Equatable {
        /// The batch's oldest open time is not after the newest held.
        case stale(newestHeld: Int64, oldestGiven: Int64)
        /// Two candles of the batch share an open time.
        case repeated(Int64)
        /// The newest open time is beyond now plus one interval.
        case future(openTime: Int64, latestAllowed: Int64)
        /// A new symbol beyond `maxSymbols`.
        case tooManySymbols(Int)
    }

    /// `defaultIntervalMilliseconds` is the candle interval assumed until a symbol holds two candles.
    public init(
        window: Int,
        maxSymbols: Int = 500,
        defaultIntervalMilliseconds: Int64 = 300_000,
        onChange: (@Sendable (String, [Candle]) -> Void)? = nil
    ) {
        self.onChange = onChange
        self.window = window
        self.maxSymbols = maxSymbols
        self.defaultIntervalMilliseconds = defaultIntervalMilliseconds
    }

    /// Adds a batch of candles, all newer than the last one held, or none of them. Returns how
    /// many were added.
    @discardableResult
    public func append(symbol: String, candles new: [Candle], now: Int64) throws(Refusal) -> Int {
        let sorted = new.sorted(by: { $0.openTime < $1.openTime })
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.openTime == next.openTime {
            throw .repeated(next.openTime)
        }
        return try candles.withLock { (all: inout [String: [Candle]]) throws(Refusal) -> Int in
            var series = all[symbol] ?? []
            if series.isEmpty && all[symbol] == nil && all.count >= maxSymbols { throw .tooManySymbols(maxSymbols) }
            guard let first = sorted.first, let last = sorted.last else { return 0 }
            if let newest = series.last?.openTime, first.openTime <= newest {
                throw .stale(newestHeld: newest, oldestGiven: first.openTime)
            }
            // The interval is read from the candles held and the batch, never from the gap
            // between them (a far-future candle would make its own interval).
            let held = Array(series.suffix(3))
            let gaps = (Array(zip(held, held.dropFirst())) + Array(zip(sorted, sorted.dropFirst()))).map { $1.openTime - $0.openTime }.filter {
                $0 > 0
            }
            let interval = gaps.min() ?? defaultIntervalMilliseconds
            let latestAllowed = now + max(interval, defaultIntervalMilliseconds)
            if last.openTime > latestAllowed { throw .future(openTime: last.openTime, latestAllowed: latestAllowed) }
            series.append(contentsOf: sorted)
            if series.count > window { series.removeFirst(series.count - window) }
            all[symbol] = series
            onChange?(symbol, series)
            return sorted.count
        }
    }

    /// The symbol's newest candle and its interval (the smallest gap among the newest candles,
    /// the default interval with fewer than two), or nil when none is held.
    public func clock(for symbol: String) -> CandleClock? {
        candles.withLock { all in
            guard let series = all[symbol], let newest = series.last else { return nil }
            let held = series.suffix(4)
            let gaps = zip(held, held.dropFirst()).map { $1.openTime - $0.openTime }.filter { $0 > 0 }
            return CandleClock(newestOpenTime: newest.openTime, intervalMilliseconds: gaps.min() ?? defaultIntervalMilliseconds)
        }
    }

    public func candles(for symbol: String) -> [Candle] {
        candles.withLock { $0[symbol] ?? [] }
    }

    /// The open time of the newest candle held for `symbol`.
    public func newestOpenTime(for symbol: String) -> Int64? {
        candles.withLock { $0[symbol]?.last?.openTime }
    }

    /// The features a feature worker computed for `symbol` as of the candle that opened at
    /// `asOf`, when that is still the newest candle held.
    public func features(for symbol: String, asOf: Int64) -> FeatureResult? {
        features.withLock { known in
            guard let entry = known[symbol], entry.asOf == asOf else { return nil }
            return entry.result
        }
    }

    /// Keeps a feature worker's answer for `symbol` as of `asOf`, while that is the newest
    /// candle held (one entry per symbol held: bounded as the candles are).
    public func remember(_ result: FeatureResult, for symbol: String, asOf: Int64) {
        guard newestOpenTime(for: symbol) == asOf else { return }
        features.withLock { $0[symbol] = (asOf, result) }
    }

    /// The most candles held per symbol.
    public var windowSize: Int { window }

    /// Every symbol held, sorted.
    public var symbols: [String] { candles.withLock { $0.keys.sorted() } }

    /// Per symbol, who last added candles (`X-Market-Feed`, else `api`).
    private let sources = Mutex<[String: String]>([:])

    /// Records that `source` added candles for `symbol` (bounded as the symbols are).
    public func noteSource(_ source: String, for symbol: String) {
        guard newestOpenTime(for: symbol) != nil else { return }
        sources.withLock { $0[symbol] = source }
    }

    public func source(for symbol: String) -> String? { sources.withLock { $0[symbol] } }
}
