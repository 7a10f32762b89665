import Foundation

/// Technical indicators over a series of closes, oldest first. Each returns nil when the series is
/// too short to compute it.
public enum Indicators {
    /// Momentum over `period` candles, percent: `100 * (close[t] / close[t-period] - 1)`.
    public static func momentum(_ closes: [Double], period: Int = 20) -> Double? {
        guard period > 0, closes.count > period else { return nil }
        let then = closes[closes.count - 1 - period]
        guard then > 0 else { return nil }
        return 100 * (closes[closes.count - 1] / then - 1)
    }

    /// Realized volatility over the last `period` log returns, percent:
    /// `100 * sqrt(sum(ln(close[i] / close[i-1])^2))`.
    public static func realizedVolatility(_ closes: [Double], period: Int = 5) -> Double? {
        guard period > 0, closes.count > period else { return nil }
        var sum = 0.0
        for index in (closes.count - period)..<closes.count {
            guard closes[index - 1] > 0, closes[index] > 0 else { return nil }
            let r = Foundation.log(closes[index] / closes[index - 1])
            sum += r * r
        }
        return 100 * sum.squareRoot()
    }

    /// Wilder's RSI over `period` (14 by default), as TA-Lib computes it: the first average gain
    /// and loss are simple means of the first `period` changes, later ones are smoothed as
    /// `avg = (avg * (period - 1) + change) / period` over the whole series.
    /// 100 when there were no losses, 50 when there was no movement at all.
    public static func rsi(_ closes: [Double], period: Int = 14) -> Double? {
        guard period > 0, closes.count > period else { return nil }
        var gain = 0.0
        var loss = 0.0
        for index in 1...period {
            let change = closes[index] - closes[index - 1]
            if change > 0 { gain += change } else { loss -= change }
        }
        var averageGain = gain / Double(period)
        var averageLoss = loss / Double(period)
        let p = Double(period)
        if closes.count > period + 1 {
            for index in (period + 1)..<closes.count {
                let change = closes[index] - closes[index - 1]
                averageGain = (averageGain * (p - 1) + max(change, 0)) / p
                averageLoss = (averageLoss * (p - 1) + max(-change, 0)) / p
            }
        }
        if averageLoss == 0 { return averageGain == 0 ? 50 : 100 }
        let relativeStrength = averageGain / averageLoss
        return 100 - 100 / (1 + relativeStrength)
    }
}
