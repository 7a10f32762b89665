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

    /// `rsi(Array(closes[(end - length + 1)...end]), period:)` for every `end` of `ends`, bit for
    /// bit: four consecutive windows at a time, each lane of a `SIMD4` doing one window's
    /// operations in the same order (no fused or reordered arithmetic), so that four division
    /// chains overlap instead of waiting on one another; the ends left over go through `rsi`.
    /// Every window must lie inside `closes`.
    public static func rsi(windowsOf length: Int, endingAt ends: Range<Int>, in closes: [Double], period: Int = 14) -> [Double?] {
        precondition(ends.isEmpty || (ends.lowerBound - length + 1 >= 0 && ends.upperBound <= closes.count), "a window outside the closes")
        var results: [Double?] = []
        results.reserveCapacity(ends.count)
        guard period > 0, length > period else { return Array(repeating: nil, count: ends.count) }
        var end = ends.lowerBound
        closes.withUnsafeBufferPointer { closes in
            /// The changes `closes[start + index] - closes[start + index - 1]` of the four windows.
            func changes(_ start: Int, _ index: Int) -> SIMD4<Double> {
                let at = start + index
                return SIMD4(closes[at], closes[at + 1], closes[at + 2], closes[at + 3])
                    - SIMD4(closes[at - 1], closes[at], closes[at + 1], closes[at + 2])
            }
            let p = Double(period)
            while end + 4 <= ends.upperBound {
                let start = end - length + 1
                var gain = SIMD4<Double>(repeating: 0)
                var loss = SIMD4<Double>(repeating: 0)
                for index in 1...period {
                    // `if change > 0 { gain += change } else { loss -= change }`: adding or
                    // subtracting +0 leaves a sum of non-negative terms as it is.
                    let change = changes(start, index)
                    let rising = change .> 0
                    gain += change.replacing(with: 0, where: .!rising)
                    loss -= change.replacing(with: 0, where: rising)
                }
                var averageGain = gain / p
                var averageLoss = loss / p
                for index in (period + 1)..<max(period + 1, length) {
                    // `max(x, 0)` is `0 >= x ? 0 : x`.
                    let change = changes(start, index)
                    let fall = -change
                    averageGain = (averageGain * (p - 1) + change.replacing(with: 0, where: change .<= 0)) / p
                    averageLoss = (averageLoss * (p - 1) + fall.replacing(with: 0, where: fall .<= 0)) / p
                }
                for lane in 0..<4 {
                    if averageLoss[lane] == 0 {
                        results.append(averageGain[lane] == 0 ? 50 : 100)
                    } else {
                        results.append(100 - 100 / (1 + averageGain[lane] / averageLoss[lane]))
                    }
                }
                end += 4
            }
        }
        while end < ends.upperBound {
            results.append(rsi(Array(closes[(end - length + 1)...end]), period: period))
            end += 1
        }
        return results
    }
}
