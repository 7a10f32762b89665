import Synchronization
import TradingDomain
import TradingWire

/// Per symbol, the features as of the newest candle heard on the market channel, kept current
/// candle by candle (`IncrementalFeatures`), so that a consensus request costs a lookup, not a
/// recomputation over the whole window.
public final class FeatureBook: Sendable {
    private let symbols = Mutex<[String: IncrementalFeatures]>([:])
    /// At most this many symbols are held (the gateway holds at most as many).
    private let maxSymbols: Int

    public init(maxSymbols: Int = 10_000) {
        self.maxSymbols = maxSymbols
    }

    /// Takes a market update: the new candles are appended when the update continues what is
    /// held, else the symbol restarts from the update's window. An update whose newest candle is
    /// the one already held changes nothing.
    public func apply(_ update: MarketUpdate) {
        guard let newest = update.candles.last?.openTime, update.window > 0 else { return }
        symbols.withLock { symbols in
            guard symbols[update.symbol] != nil || symbols.count < maxSymbols else { return }
            var features = symbols[update.symbol] ?? IncrementalFeatures(window: update.window)
            if features.window != update.window { features = IncrementalFeatures(window: update.window) }
            guard let held = features.newestOpenTime, held != newest else {
                if features.newestOpenTime == nil { features.reset(to: update.candles) }
                symbols[update.symbol] = features
                return
            }
            // Continues what is held: the held newest is in the update, the rest comes after it.
            if let position = update.candles.lastIndex(where: { $0.openTime == held }), update.candles[position] == features.candles.last {
                for candle in update.candles[(position + 1)...] { features.append(candle) }
            } else {
                features.reset(to: update.candles)
            }
            symbols[update.symbol] = features
        }
    }

    /// The features of `symbol` as of the candle that opened at `asOf`, completed with `given`;
    /// 409 `features_not_current` when that candle has not reached this worker yet.
    public func features(symbol: String, asOf: Int64, given: [String: Double]?) throws(WireError) -> FeatureResult {
        guard let held = symbols.withLock({ $0[symbol] }), held.newestOpenTime == asOf else {
            throw WireError(
                code: "features_not_current",
                detail: "the feature worker has not heard the candle of \(symbol) that opened at \(asOf) yet",
                status: 409
            )
        }
        return try FeatureBuilder.build(given: given, indicators: held)
    }
}
