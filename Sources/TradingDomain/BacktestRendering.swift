import Foundation
import TradingWire

/// The backtest's outputs as text: the equity curve as CSV, the chart as SVG, the summary a
/// terminal shows. Pure functions; the caller writes the files.
public enum BacktestRendering {
    /// `open_time,time,close,equity,drawdown,position`, one line per candle.
    public static func csv(_ curve: [EquitySample]) -> String {
        var text = TextBytes(capacity: 96 * (curve.count + 1))
        text.append("open_time,time,close,equity,drawdown,position\n")
        var peak = -Double.infinity
        // The position changes only with a fill: its text is made once per change.
        var position: (value: Decimal, text: String) = (0, "\(Decimal(0))")
        for sample in curve {
            peak = max(peak, sample.equity)
            let drawdown = peak > 0 ? (peak - sample.equity) / peak : 0
            if !sample.position.isIdentical(to: position.value) { position = (sample.position, "\(sample.position)") }
            text.append(sample.openTime)
            text.append(byte: UInt8(ascii: ","))
            text.appendISO8601(sample.openTime)
            text.append(byte: UInt8(ascii: ","))
            text.append(sample.close.description)
            text.append(byte: UInt8(ascii: ","))
            text.appendFixed(sample.equity, places: 8)
            text.append(byte: UInt8(ascii: ","))
            text.appendFixed(drawdown, places: 6)
            text.append(byte: UInt8(ascii: ","))
            text.append(position.text)
            text.append(byte: UInt8(ascii: "\n"))
        }
        return text.string
    }

    /// The equity curve against buy-and-hold (both from the starting equity), the drawdown below,
    /// and every fill as a marker: an SVG a browser opens.
    public static func svg(_ result: BacktestResult, width: Int = 1_000, height: Int = 560) -> String {
        let curve = result.curve
        let report = result.report
        guard let first = curve.first, let last = curve.last, last.openTime > first.openTime else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"80\"><text x=\"10\" y=\"40\">no candles</text></svg>\n"
        }
        let start = report.startingEquity.doubleValue
        let hold = curve.map { start * $0.close / first.close }
        let step = max(1, curve.count / 1_500)
        let indices = Array(stride(from: 0, to: curve.count, by: step)) + (curve.count % step == 1 || step == 1 ? [] : [curve.count - 1])
        let values = indices.flatMap { [curve[$0].equity, hold[$0]] }
        let low = (values.min() ?? start) * 0.995
        let high = (values.max() ?? start) * 1.005
        let left = 90.0
        let right = Double(width) - 20
        let top = 50.0
        let bottom = Double(height) - 170
        let ddTop = bottom + 40
        let ddBottom = Double(height) - 40
        let span = Double(last.openTime - first.openTime)
        func x(_ time: Int64) -> Double { left + (right - left) * Double(time - first.openTime) / span }
        func y(_ value: Double) -> Double { high > low ? bottom - (bottom - top) * (value - low) / (high - low) : (top + bottom) / 2 }
        func path(_ series: (Int) -> Double) -> String {
            indices.map { "\(fixed(x(curve[$0].openTime), 1)),\(fixed(y(series($0)), 1))" }.joined(separator: " ")
        }
        var peak = -Double.infinity
        var drawdowns: [Double] = []
        drawdowns.reserveCapacity(curve.count)
        for sample in curve {
            peak = max(peak, sample.equity)
            drawdowns.append(peak > 0 ? (peak - sample.equity) / peak : 0)
        }
        let worst = max(drawdowns.max() ?? 0, 0.0001)
        let ddPoints = indices.map { "\(fixed(x(curve[$0].openTime), 1)),\(fixed(ddTop + (ddBottom - ddTop) * drawdowns[$0] / worst, 1))" }
        let area = "\(fixed(left, 1)),\(fixed(ddTop, 1)) " + ddPoints.joined(separator: " ") + " \(fixed(right, 1)),\(fixed(ddTop, 1))"
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="16" font-weight="bold">\(escape(report.symbol)) backtest: \(percent(report.totalReturn)) vs buy and hold \(percent(report.buyAndHoldReturn))</text>
            <text x="\(left)" y="40" fill="#555">\(report.trades) trades, win rate \(report.winRate.map(percent) ?? "n/a"), max drawdown \(percent(report.maxDrawdown)), Sharpe \(report.sharpe.map { fixed($0, 2) } ?? "n/a"), Sortino \(report.sortino.map { fixed($0, 2) } ?? "n/a"), in market \(percent(report.timeInMarket))</text>
            <line x1="\(left)" y1="\(bottom)" x2="\(right)" y2="\(bottom)" stroke="#999"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="#999"/>
            <text x="\(left - 6)" y="\(top + 4)" text-anchor="end">\(fixed(high, 2))</text>
            <text x="\(left - 6)" y="\(bottom)" text-anchor="end">\(fixed(low, 2))</text>
            <text x="\(left)" y="\(bottom + 16)">\(ISO8601Millis.format(first.openTime).prefix(16))</text>
            <text x="\(right)" y="\(bottom + 16)" text-anchor="end">\(ISO8601Millis.format(last.openTime).prefix(16))</text>
            <line x1="\(left)" y1="\(fixed(y(start), 1))" x2="\(right)" y2="\(fixed(y(start), 1))" stroke="#ccc" stroke-dasharray="4 4"/>
            <polyline fill="none" stroke="#999" stroke-width="1.2" points="\(path { hold[$0] })"/>
            <polyline fill="none" stroke="#1565c0" stroke-width="1.8" points="\(path { curve[$0].equity })"/>

            """
        for fill in result.fills.prefix(2_000) {
            let index = min(curve.count - 1, max(0, firstSample(in: curve) { $0.openTime + report.intervalMs >= fill.time } ?? 0))
            let px = x(curve[index].openTime)
            let py = y(curve[index].equity)
            let shape =
                fill.side == .buy
                ? "\(fixed(px, 1)),\(fixed(py + 9, 1)) \(fixed(px - 5, 1)),\(fixed(py + 17, 1)) \(fixed(px + 5, 1)),\(fixed(py + 17, 1))"
                : "\(fixed(px, 1)),\(fixed(py - 9, 1)) \(fixed(px - 5, 1)),\(fixed(py - 17, 1)) \(fixed(px + 5, 1)),\(fixed(py - 17, 1))"
            svg += "<polygon points=\"\(shape)\" fill=\"\(fill.side == .buy ? "#2e7d32" : "#c62828")\"/>\n"
        }
        svg += """
            <polygon fill="#ef9a9a" stroke="#c62828" stroke-width="0.8" points="\(area)"/>
            <text x="\(left)" y="\(ddTop - 8)">drawdown (deepest \(percent(report.maxDrawdown)))</text>
            <rect x="\(right - 250)" y="\(top)" width="12" height="3" fill="#1565c0"/><text x="\(right - 232)" y="\(top + 5)">strategy equity</text>
            <rect x="\(right - 130)" y="\(top)" width="12" height="3" fill="#999"/><text x="\(right - 112)" y="\(top + 5)">buy and hold</text>
            </svg>

            """
        return svg
    }

    /// The lines a terminal shows.
    public static func summary(_ report: BacktestReport) -> String {
        let refusals = report.refusals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let blocked = report.blockedSignals.sorted { $0.value > $1.value }.prefix(6).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let exits = BacktestExitReason.allCases.compactMap { reason in report.exitsByReason[reason.rawValue].map { "\(reason.rawValue) \($0)" } }
        let execution = report.execution
        let protective = [
            execution.stopLossBps.map { "stop-loss \(fixed($0, 1)) bps" }, execution.takeProfitBps.map { "take-profit \(fixed($0, 1)) bps" },
            execution.trailingStopBps.map { "trailing stop \(fixed($0, 1)) bps" },
        ].compactMap { $0 }
        let slippage =
            execution.slippageModel == .fixed
            ? "slippage fixed (SLIPPAGE_BPS)"
            : "slippage by volume (k \(fixed(execution.slippageK, 3)), cap \(fixed(execution.slippageCapBps, 1)) bps)"
        var lines = [
            "backtest \(report.symbol): \(report.candles) candles \(ISO8601Millis.format(report.firstCandle)) .. \(ISO8601Millis.format(report.lastCandle)), interval \(report.intervalMs / 1_000) s",
            "  fills        at the \(execution.fill == .nextOpen ? "next candle's open" : "decision's close"), \(slippage)"
                + (protective.isEmpty ? "" : "; " + protective.joined(separator: ", ")),
            "  equity       \(report.startingEquity) -> \(report.finalEquity) (\(percent(report.totalReturn))); buy and hold \(percent(report.buyAndHoldReturn))",
            "  realised PnL \(report.realisedPnl), fees \(report.fees)",
            "  trades       \(report.trades) (\(report.wins) won, \(report.losses) lost), win rate \(report.winRate.map(percent) ?? "n/a")",
            "  per trade    profit factor \(report.profitFactor.map { fixed($0, 3) } ?? "n/a"), expectancy \(report.expectancy.map { "\($0)" } ?? "n/a")",
            "  exits        \(exits.isEmpty ? "none" : exits.joined(separator: ", "))",
            "  risk         max drawdown \(percent(report.maxDrawdown)), Sharpe \(report.sharpe.map { fixed($0, 3) } ?? "n/a"), Sortino \(report.sortino.map { fixed($0, 3) } ?? "n/a") (annualised)",
            "  growth       CAGR \(report.cagr.map(percent) ?? "n/a"), Calmar \(report.calmar.map { fixed($0, 3) } ?? "n/a")",
            "  drawdowns    average \(report.averageDrawdownDurationMs.map(duration) ?? "n/a"), longest \(duration(report.longestDrawdownDurationMs))",
            "  market       \(percent(report.timeInMarket)) of candles in a position; \(report.orders) orders, \(report.locksSet) protection locks set",
            "  refused      \(refusals.isEmpty ? "none" : refusals)",
            "  no signal    \(blocked.isEmpty ? "none" : blocked)",
        ]
        for (name, segment) in [("in-sample", report.inSample), ("out-of-sample", report.outOfSample)] {
            guard let segment else { continue }
            lines.append(
                "  \((name + " ").padding(toLength: max(13, name.count + 1), withPad: " ", startingAt: 0))\(segment.candles) candles (\(percent(segment.share))): return \(percent(segment.totalReturn)), "
                    + "Sharpe \(segment.sharpe.map { fixed($0, 3) } ?? "n/a"), max drawdown \(percent(segment.maxDrawdown)), \(segment.trades) trades, "
                    + "win rate \(segment.winRate.map(percent) ?? "n/a")"
            )
        }
        for month in report.months {
            lines.append(
                "  month        \(month.month): \(percent(month.totalReturn)), \(month.trades) trades, PnL \(month.pnl), \(month.candles) candles"
            )
        }
        for warning in report.warnings { lines.append("  WARNING      \(warning)") }
        return lines.joined(separator: "\n")
    }

    /// `3 d 4 h 5 min` (whole minutes).
    static func duration(_ milliseconds: Int64) -> String {
        let minutes = milliseconds / 60_000
        let parts = [(minutes / 1_440, "d"), (minutes / 60 % 24, "h"), (minutes % 60, "min")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? "0 min" : parts.joined(separator: " ")
    }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 2) + " %" }

    /// `String(format: "%.<places>f", value)`, without the formatter.
    static func fixed(_ value: Double, _ places: Int) -> String {
        var text = TextBytes(capacity: 24)
        text.appendFixed(value, places: places)
        return text.string
    }

    /// `curve.firstIndex(where: predicate)` for a predicate that, once true, stays true along the
    /// curve (a time bound): a binary search.
    static func firstSample(in curve: [EquitySample], where predicate: (EquitySample) -> Bool) -> Int? {
        var low = 0
        var high = curve.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(curve[middle]) { high = middle } else { low = middle + 1 }
        }
        return low < curve.count ? low : nil
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
