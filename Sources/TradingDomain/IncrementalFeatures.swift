import TradingWire

/// One symbol's indicators kept current candle by candle over a window of the newest `window`
/// candles, so that features are computed when a candle arrives, not on every request.
///
/// Equal to the batch computation (`Indicators` over the same window's closes), bit for bit:
/// momentum and realized volatility read the last 21 and 6 closes (O(1) per candle). Wilder's
/// RSI is updated in O(1) with TA-Lib's recurrence while the window still starts at the first
/// candle held; once it slides, TA-Lib's seed (the first 14 changes of the window) moves with it,
/// so the RSI is recomputed over the window, once per candle (O(window)), never per request.
public struct IncrementalFeatures: Sendable {
    /// Most candles held; the oldest leaves when a new one arrives beyond it.
    public let window: Int
    /// The candles held, oldest first.
    public private(set) var candles: [Candle] = []
    private var closes: [Double] = []
    /// Closes in the window that are not finite and positive.
    private var invalidCloses = 0
    /// Whether the window has dropped a candle: Wilder's seed is no longer the first 14 changes held.
    private var slid = false
    private var gainSum = 0.0
    private var lossSum = 0.0
    private var averageGain = 0.0
    private var averageLoss = 0.0

    public private(set) var momentum: Double?
    public private(set) var realizedVolatility: Double?
    public private(set) var rsi: Double?

    static let rsiPeriod = 14

    public init(window: Int) {
        self.window = max(1, window)
    }

    /// Candles held.
    public var count: Int { closes.count }
    /// The newest close, the price the features are of.
    public var lastClose: Double? { closes.last }
    /// The open time of the newest candle held.
    public var newestOpenTime: Int64? { candles.last?.openTime }
    /// Whether every close held is finite and positive (the batch computation refuses others).
    public var closesAreValid: Bool { invalidCloses == 0 }

    /// Adds the newest candle and brings every indicator up to date.
    public mutating func append(_ candle: Candle) {
        append(candle, windowRSI: nil)
    }

    /// `append(candle)` for a caller that already has `Indicators.rsi` over the window this
    /// candle completes (the backtest computes four windows at once): once the window slides,
    /// that value is taken instead of recomputing it; before, the O(1) recurrence runs as ever.
    mutating func append(_ candle: Candle, windowRSI: Double?) {
        if closes.count == window {
            let dropped = closes.removeFirst()
            candles.removeFirst()
            if !(dropped.isFinite && dropped > 0) { invalidCloses -= 1 }
            slid = true
        }
        closes.append(candle.close)
        candles.append(candle)
        if !(candle.close.isFinite && candle.close > 0) { invalidCloses += 1 }
        momentum = Indicators.momentum(closes, period: 20)
        realizedVolatility = Indicators.realizedVolatility(closes, period: 5)
        updateRSI(windowRSI: windowRSI)
    }

    /// Replaces everything held with `candles` (oldest first; the newest `window` are kept).
    public mutating func reset(to candles: [Candle]) {
        self = IncrementalFeatures(window: window)
        for candle in candles.suffix(window) { append(candle) }
    }

    private mutating func updateRSI(windowRSI: Double?) {
        let period = Self.rsiPeriod
        if slid {
            rsi = windowRSI ?? Indicators.rsi(closes, period: period)
            return
        }
        // The same operations in the same order as `Indicators.rsi` over the closes held.
        let index = closes.count - 1
        guard index >= 1 else {
            rsi = nil
            return
        }
        let change = closes[index] - closes[index - 1]
        let p = Double(period)
        if index <= period {
            if change > 0 { gainSum += change } else { lossSum -= change }
            guard index == period else {
                rsi = nil
                return
            }
            averageGain = gainSum / p
            averageLoss = lossSum / p
        } else {
            averageGain = (averageGain * (p - 1) + max(change, 0)) / p
            averageLoss = (averageLoss * (p - 1) + max(-change, 0)) / p
        }
        if averageLoss == 0 {
            rsi = averageGain == 0 ? 50 : 100
        } else {
            rsi = 100 - 100 / (1 + averageGain / averageLoss)
        }
    }
}
