import Foundation
import TradingWire

/// The report's figures from an equity curve: pure arithmetic, hand-checkable.
public enum BacktestMetrics {
    /// Periods of `intervalMs` in a 365-day year.
    public static func periodsPerYear(intervalMs: Int64) -> Double { 365 * 86_400_000 / Double(max(intervalMs, 1)) }

    /// The largest fall from a running peak, as a fraction of the peak.
    public static func maxDrawdown(_ equity: [Double]) -> Double {
        var peak = -Double.infinity
        var worst = 0.0
        for value in equity {
            peak = max(peak, value)
            if peak > 0 { worst = max(worst, (peak - value) / peak) }
        }
        return worst
    }

    /// Simple returns from one sample to the next.
    public static func returns(_ equity: [Double]) -> [Double] {
        zip(equity, equity.dropFirst()).map { $0 > 0 ? $1 / $0 - 1 : 0 }
    }

    /// Mean over sample standard deviation, times the square root of the periods in a year; nil
    /// when the returns do not vary.
    public static func sharpe(_ returns: [Double], periodsPerYear: Double) -> Double? {
        guard returns.count > 1 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        guard variance > 1e-24 else { return nil }
        return mean / variance.squareRoot() * periodsPerYear.squareRoot()
    }

    /// Mean over downside deviation (root mean square of the negative returns, over every
    /// period), annualised; nil when no return was negative.
    public static func sortino(_ returns: [Double], periodsPerYear: Double) -> Double? {
        guard !returns.isEmpty else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let downside = (returns.reduce(0) { $0 + min($1, 0) * min($1, 0) } / Double(returns.count)).squareRoot()
        guard downside > 1e-12 else { return nil }
        return mean / downside * periodsPerYear.squareRoot()
    }

    /// `(final / start)^(1 / years) - 1`, with `years` the span in milliseconds over 365 days;
    /// nil when the span or either equity is not positive.
    public static func cagr(startingEquity: Double, finalEquity: Double, spanMs: Int64) -> Double? {
        let years = Double(spanMs) / (365 * 86_400_000)
        guard years > 0, startingEquity > 0, finalEquity > 0 else { return nil }
        return Foundation.pow(finalEquity / startingEquity, 1 / years) - 1
    }

    /// CAGR over the maximum drawdown; nil without either.
    public static func calmar(cagr: Double?, maxDrawdown: Double) -> Double? {
        guard let cagr, maxDrawdown > 0 else { return nil }
        return cagr / maxDrawdown
    }

    /// The sum of the winning PnLs over the magnitude of the sum of the losing ones; nil without
    /// a losing trade.
    public static func profitFactor(_ pnls: [Decimal]) -> Double? {
        let profit = pnls.filter { $0 > 0 }.reduce(Decimal(0), +)
        let loss = pnls.filter { $0 < 0 }.reduce(Decimal(0), +)
        guard loss < 0 else { return nil }
        return (profit / -loss).doubleValue
    }

    /// The mean PnL per trade, to 8 places; nil without trades.
    public static func expectancy(_ pnls: [Decimal]) -> Decimal? {
        guard !pnls.isEmpty else { return nil }
        return (pnls.reduce(Decimal(0), +) / Decimal(pnls.count)).rounded(scale: 8)
    }

    /// The length of every stretch under a running peak, in milliseconds: from the time of the
    /// sample that set the peak to the first sample back at or above it, or to the last sample
    /// when the equity never got back. `start` is the peak before the first sample.
    public static func drawdownDurations(start: (time: Int64, equity: Double), samples: [(time: Int64, equity: Double)]) -> [Int64] {
        var peak = start
        var under = false
        var durations: [Int64] = []
        for sample in samples {
            if sample.equity >= peak.equity {
                if under { durations.append(sample.time - peak.time) }
                under = false
                peak = sample
            } else {
                under = true
            }
        }
        if under, let last = samples.last { durations.append(last.time - peak.time) }
        return durations
    }

    /// `2018-01` for a time in January 2018 (UTC).
    public static func month(of milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let (year, month, _) = ISO8601Millis.civil(days: Int(days))
        var text = TextBytes(capacity: 7)
        text.append(UInt64(max(0, year)), width: 4)
        text.append(byte: UInt8(ascii: "-"))
        text.append(UInt64(month), width: 2)
        return text.string
    }

    /// The figures over the samples `part` selects: the per-candle returns (`returns[i]` is the
    /// return into `curve[i]`) compounded, their Sharpe, the drawdown of those candles strung
    /// together, and the trades `tradeIn` selects. Nil when the part has no sample.
    static func segment(
        curve: [EquitySample],
        returns: [Double],
        part: [Bool],
        trades: [BacktestTrade],
        tradeIn: [Bool],
        periodsPerYear: Double
    ) -> BacktestSegment? {
        let picked = zip(returns, part).filter(\.1).map(\.0)
        guard !picked.isEmpty else { return nil }
        var path = [1.0]
        path.reserveCapacity(picked.count + 1)
        for value in picked { path.append((path.last ?? 1) * (1 + value)) }
        let chosen = zip(trades, tradeIn).filter(\.1).map(\.0)
        let wins = chosen.filter { $0.pnl > 0 }.count
        return BacktestSegment(
            candles: picked.count,
            share: Double(picked.count) / Double(max(curve.count, 1)),
            totalReturn: (path.last ?? 1) - 1,
            sharpe: sharpe(picked, periodsPerYear: periodsPerYear),
            maxDrawdown: maxDrawdown(path),
            trades: chosen.count,
            wins: wins,
            winRate: chosen.isEmpty ? nil : Double(wins) / Double(chosen.count),
            pnl: chosen.reduce(Decimal(0)) { $0 + $1.pnl }
        )
    }

    /// What a run leaves for its report.
    struct Run {
        var symbol: String
        var curve: [EquitySample]
        var intervalMs: Int64
        var startingEquity: Decimal
        var finalEquity: Decimal
        var realised: Decimal
        var fees: Decimal
        var trades: [BacktestTrade]
        /// The open times of the candles each trade entered and ended in.
        var tradeCandles: [(entry: Int64, exit: Int64)]
        var openTrade: BacktestTrade?
        var orders: Int
        var refusals: [String: Int]
        var blocked: [String: Int]
        var locksSet: Int
        var execution: BacktestExecution
        var models: [BacktestModel]
    }

    static func report(_ run: Run) -> BacktestReport {
        let curve = run.curve
        let startingEquity = run.startingEquity
        let finalEquity = run.finalEquity
        let trades = run.trades
        let equity = [startingEquity.doubleValue] + curve.map(\.equity)
        let returns = returns(equity)
        let periods = periodsPerYear(intervalMs: run.intervalMs)
        let wins = trades.filter { $0.pnl > 0 }.count
        let firstClose = curve.first?.close ?? 1
        let lastClose = curve.last?.close ?? firstClose
        let firstCandle = curve.first?.openTime ?? 0
        let lastCandle = curve.last?.openTime ?? 0
        let drawdown = maxDrawdown(equity)
        let cagr = cagr(
            startingEquity: equity.first ?? 0,
            finalEquity: finalEquity.doubleValue,
            spanMs: curve.isEmpty ? 0 : lastCandle + run.intervalMs - firstCandle
        )
        let durations = drawdownDurations(
            start: (firstCandle, equity.first ?? 0),
            samples: curve.map { ($0.openTime + run.intervalMs, $0.equity) }
        )
        var exits: [String: Int] = [:]
        for trade in trades { exits[trade.exitReason.rawValue, default: 0] += 1 }
        if let open = run.openTrade { exits[open.exitReason.rawValue, default: 0] += 1 }

        // Months: the equity before each month's first candle and at its last close.
        var months: [BacktestMonth] = []
        // The month is looked up once a day, not once a candle.
        var previous = equity.first ?? 0
        var day = Int64.min
        for sample in curve {
            let today = sample.openTime >= 0 ? sample.openTime / 86_400_000 : (sample.openTime - 86_399_999) / 86_400_000
            if today != day {
                day = today
                let name = month(of: sample.openTime)
                if months.last?.month != name {
                    if let last = months.last { previous = last.endEquity }
                    months.append(
                        BacktestMonth(month: name, candles: 0, startEquity: previous, endEquity: previous, totalReturn: 0, trades: 0, pnl: 0)
                    )
                }
            }
            months[months.count - 1].candles += 1
            months[months.count - 1].endEquity = sample.equity
        }
        for (trade, candles) in zip(trades, run.tradeCandles) {
            let name = month(of: candles.exit)
            if let row = months.lastIndex(where: { $0.month == name }) {
                months[row].trades += 1
                months[row].pnl += trade.pnl
            }
        }
        for row in months.indices where months[row].startEquity > 0 {
            months[row].totalReturn = months[row].endEquity / months[row].startEquity - 1
        }

        // In-sample: the candles inside any model's trained range.
        var ranges: [String: TrainedRange] = [:]
        var warnings: [String] = []
        for model in run.models {
            if let trained = model.trained {
                ranges[model.id] = trained
            } else {
                warnings.append("model \(model.id) names no trained range (trainedFrom, trainedTo): its in-sample candles are unknown")
            }
        }
        let known = Array(ranges.values)
        var share: Double?
        var inSample: BacktestSegment?
        var outOfSample: BacktestSegment?
        if !known.isEmpty, !curve.isEmpty {
            let part = curve.map { sample in known.contains { $0.contains(sample.openTime) } }
            let tradeIn = run.tradeCandles.map { candles in known.contains { $0.contains(candles.entry) } }
            let inside = part.filter { $0 }.count
            share = Double(inside) / Double(curve.count)
            let periodReturns = Array(returns)
            inSample = segment(curve: curve, returns: periodReturns, part: part, trades: trades, tradeIn: tradeIn, periodsPerYear: periods)
            outOfSample = segment(
                curve: curve,
                returns: periodReturns,
                part: part.map { !$0 },
                trades: trades,
                tradeIn: tradeIn.map { !$0 },
                periodsPerYear: periods
            )
            if inside * 2 > curve.count {
                warnings.insert(
                    "most candles (\(inside) of \(curve.count)) are inside the models' training range: the overall figures are mostly in-sample; "
                        + "read outOfSample",
                    at: 0
                )
            }
        }
        return BacktestReport(
            symbol: run.symbol,
            firstCandle: firstCandle,
            lastCandle: lastCandle,
            candles: curve.count,
            intervalMs: run.intervalMs,
            startingEquity: startingEquity,
            finalEquity: finalEquity.rounded(scale: 8),
            totalReturn: startingEquity > 0 ? ((finalEquity - startingEquity) / startingEquity).doubleValue : 0,
            realisedPnl: run.realised.rounded(scale: 8),
            fees: run.fees,
            trades: trades.count,
            wins: wins,
            losses: trades.count - wins,
            winRate: trades.isEmpty ? nil : Double(wins) / Double(trades.count),
            maxDrawdown: drawdown,
            sharpe: sharpe(returns, periodsPerYear: periods),
            sortino: sortino(returns, periodsPerYear: periods),
            timeInMarket: curve.isEmpty ? 0 : Double(curve.filter { $0.position != 0 }.count) / Double(curve.count),
            buyAndHoldReturn: firstClose > 0 ? lastClose / firstClose - 1 : 0,
            orders: run.orders,
            refusals: run.refusals,
            blockedSignals: run.blocked,
            locksSet: run.locksSet,
            tradeList: trades,
            execution: run.execution,
            cagr: cagr,
            calmar: calmar(cagr: cagr, maxDrawdown: drawdown),
            profitFactor: profitFactor(trades.map(\.pnl)),
            expectancy: expectancy(trades.map(\.pnl)),
            averageDrawdownDurationMs: durations.isEmpty ? nil : durations.reduce(0, +) / Int64(durations.count),
            longestDrawdownDurationMs: durations.max() ?? 0,
            exitsByReason: exits,
            openTrade: run.openTrade,
            months: months,
            trainedRanges: ranges,
            inSampleShare: share,
            inSample: inSample,
            outOfSample: outOfSample,
            warnings: warnings
        )
    }
}
