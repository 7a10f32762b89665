import Synchronization
import TradingWire

/// The latest candles per symbol, as fed through `POST /api/market/candles`, so that the
/// stateless feature workers can be handed a symbol's history with each request.
public final class MarketCache: Sendable {
    private let candles = Mutex<[String: [Candle]]>([:])
    private let window: Int

    public init(window: Int) {
        self.window = window
    }

    /// Adds candles newer than the last one held (older or repeated open times are skipped).
    /// Returns how many were added.
    @discardableResult
    public func append(symbol: String, candles new: [Candle]) -> Int {
        candles.withLock { all in
            var series = all[symbol] ?? []
            var added = 0
            for candle in new.sorted(by: { $0.openTime < $1.openTime }) where candle.openTime > (series.last?.openTime ?? .min) {
                series.append(candle)
                added += 1
            }
            if series.count > window { series.removeFirst(series.count - window) }
            all[symbol] = series
            return added
        }
    }

    public func candles(for symbol: String) -> [Candle] {
        candles.withLock { $0[symbol] ?? [] }
    }
}
