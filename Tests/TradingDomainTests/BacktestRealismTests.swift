import Foundation
import Testing
import TradingWire

@testable import TradingDomain

private let start: Int64 = 1_600_000_000_000

/// 21 candles rising from 100 to 120 (open = high = low = close) that only warm the features up,
/// then `traded` as (open, high, low, close), one a minute.
private func candles(_ traded: [(Double, Double, Double, Double)], volume: Double = 1) -> [Candle] {
    let warmUp: [(Double, Double, Double, Double)] = (0...20).map { (step: Int) -> (Double, Double, Double, Double) in
        let price = Double(100 + step)
        return (price, price, price, price)
    }
    let all: [(Double, Double, Double, Double)] = warmUp + traded
    return all.enumerated().map { (index: Int, ohlc: (Double, Double, Double, Double)) -> Candle in
        Candle(openTime: start + Int64(index) * 60_000, open: ohlc.0, high: ohlc.1, low: ohlc.2, close: ohlc.3, volume: volume)
    }
}

/// `backtestSettings`, trading from the first candle after the warm-up.
private func settings(_ execution: BacktestExecution, stake: Decimal = 1_000) -> BacktestSettings {
    var settings = backtestSettings(execution, stake: stake)
    settings.from = start + 21 * 60_000
    return settings
}

/// Five traded candles: the first close decides a buy (momentum up), the third a sell (a close
/// of 90 against 103 twenty candles before).
private let fiveCandles = candles([(121, 122, 121, 122), (123, 124, 123, 124), (125, 125, 90, 90), (95, 96, 95, 96), (97, 98, 97, 98)])

@Suite("backtest fills: next open or the decision's close")
struct BacktestFillTests {
    @Test("next-open fills at the following candle's open; close fills at the decision's close (today's behaviour)")
    func nextOpenAgainstClose() throws {
        let close = try Backtester.run(candles: fiveCandles, models: [momentum], settings: settings(BacktestExecution(fill: .close))).report
        let closeTrade = try #require(close.tradeList.first)
        #expect(close.trades == 1)
        #expect(closeTrade.entryPrice == 122 && closeTrade.exitPrice == 90)
        #expect(closeTrade.entryTime == start + 22 * 60_000)  // the close of candle 21
        #expect(closeTrade.pnl == Decimal(string: "-262.29508192"))  // 8.19672131 × (90 − 122)

        let open = try Backtester.run(candles: fiveCandles, models: [momentum], settings: settings(BacktestExecution(fill: .nextOpen))).report
        let openTrade = try #require(open.tradeList.first)
        #expect(open.trades == 1)
        #expect(openTrade.entryPrice == 123 && openTrade.exitPrice == 95)
        #expect(openTrade.entryTime == start + 22 * 60_000)  // the open of candle 22
        #expect(openTrade.exitTime == start + 24 * 60_000)
        #expect(openTrade.pnl == Decimal(string: "-227.6422764"))  // 8.13008130 × (95 − 123)
        #expect(openTrade.exitReason == .signal)
        #expect(open.exitsByReason == ["signal": 1])
        #expect(open.finalEquity == Decimal(string: "99772.3577236"))
        #expect(open.execution.fill == .nextOpen)
    }

    @Test("an order decided at the last close has no next open: it is not filled, and the position left is an end_of_data trade")
    func endOfData() throws {
        // Rising to the end: bought at the second traded candle's open, never sold.
        let rising = candles([(121, 122, 121, 122), (123, 124, 123, 124), (125, 126, 125, 126)])
        let report = try Backtester.run(candles: rising, models: [momentum], settings: settings(BacktestExecution())).report
        #expect(report.orders == 1)
        #expect(report.trades == 0)
        let open = try #require(report.openTrade)
        #expect(open.exitReason == .endOfData && open.entryPrice == 123 && open.exitPrice == 126)
        #expect(open.pnl == Decimal(string: "24.3902439"))  // 8.13008130 × (126 − 123)
        #expect(report.exitsByReason == ["end_of_data": 1])
    }
}

@Suite("backtest exits inside a candle")
struct BacktestIntraCandleTests {
    /// Bought at 123 (the open after the buy decision); the next candle is `candle`.
    func run(_ candle: (Double, Double, Double, Double), _ execution: BacktestExecution) throws -> BacktestReport {
        let series = candles([(121, 122, 121, 122), (123, 124, 122, 124), candle, (126, 127, 126, 127)])
        return try Backtester.run(candles: series, models: [momentum], settings: settings(execution)).report
    }

    @Test("a candle that touches both the stop and the target takes the stop")
    func bothTouched() throws {
        let report = try run((124, 135, 110, 125), BacktestExecution(stopLossBps: 500, takeProfitBps: 500))
        let trade = try #require(report.tradeList.first)
        #expect(trade.exitReason == .stopLoss)
        #expect(trade.exitPrice == Decimal(string: "116.85"))  // 123 × (1 − 5 %)
        #expect(trade.pnl == -50)  // 8.13008130 × (116.85 − 123)
        #expect(report.exitsByReason["stop_loss"] == 1 && report.exitsByReason["take_profit"] == nil)
    }

    @Test("the target alone: a limit fill at its level, without slippage")
    func targetOnly() throws {
        let report = try run((124, 135, 120, 125), BacktestExecution(stopLossBps: 500, takeProfitBps: 500))
        let trade = try #require(report.tradeList.first)
        #expect(trade.exitReason == .takeProfit)
        #expect(trade.exitPrice == Decimal(string: "129.15"))  // 123 × (1 + 5 %)
        #expect(trade.pnl == 50)
        // By volume (one unit a candle), the entry slips to the 200 bps cap; the limit exit does not slip.
        let slipped = try #require(
            try run((124, 135, 120, 125), BacktestExecution(slippageModel: .volume, stopLossBps: 500, takeProfitBps: 500)).tradeList.first
        )
        #expect(slipped.entryPrice == Decimal(string: "125.46"))
        #expect(slipped.exitReason == .takeProfit && slipped.exitPrice == Decimal(string: "131.733"))  // 125.46 × (1 + 5 %)
    }

    @Test("a gap through the stop fills at the open, not at the stop")
    func gap() throws {
        let trade = try #require(try run((100, 101, 99, 100), BacktestExecution(stopLossBps: 500)).tradeList.first)
        #expect(trade.exitReason == .stopLoss && trade.exitPrice == 100)
    }

    @Test("the trailing stop follows the highest price from the candle after it was reached")
    func trailing() throws {
        // The entry candle's high (124) counts from the next candle on: 124 × 95 % = 117.8;
        // the fixed stop (116.85) is below it, so the trailing stop is the one taken.
        let report = try run((123, 123, 117, 120), BacktestExecution(stopLossBps: 500, trailingStopBps: 500))
        let trade = try #require(report.tradeList.first)
        #expect(trade.exitReason == .trailingStop)
        #expect(trade.exitPrice == Decimal(string: "117.8"))
    }

    @Test("with --fill close the protective exits start at the candle after the entry")
    func closeFill() throws {
        let series = candles([(121, 122, 121, 122), (123, 124, 100, 124), (124, 135, 110, 125)])
        let report = try Backtester.run(
            candles: series,
            models: [momentum],
            settings: settings(BacktestExecution(fill: .close, stopLossBps: 500, takeProfitBps: 500))
        ).report
        // Bought at 122 at the first close; the low of 100 in the next candle stops it at 115.9.
        let trade = try #require(report.tradeList.first)
        #expect(trade.entryPrice == 122 && trade.exitReason == .stopLoss && trade.exitPrice == Decimal(string: "115.9"))
    }
}

@Suite("backtest slippage by volume")
struct BacktestSlippageTests {
    @Test("the volume model's slippage grows with the order's share of the candle's quote volume, up to the cap")
    func formula() {
        let model = BacktestExecution(slippageModel: .volume, slippageK: 0.1, slippageCapBps: 200)
        // 100 base units at 10: 1,000 of quote volume.
        #expect(model.slippageBps(base: 5, notional: 10, volume: 100, price: 10) == 15)  // 1 % of the volume: + 10 bps
        #expect(model.slippageBps(base: 5, notional: 100, volume: 100, price: 10) == 105)  // 10 %: + 100 bps
        #expect(model.slippageBps(base: 5, notional: 10_000, volume: 100, price: 10) == 200)  // capped
        #expect(model.slippageBps(base: 5, notional: 1, volume: 0, price: 10) == 200)  // nothing traded: the cap
        #expect(BacktestExecution().slippageBps(base: 5, notional: 10_000, volume: 100, price: 10) == 5)  // fixed
    }

    @Test("in a run, a larger stake fills further from the open")
    func bySize() throws {
        let series = candles([(121, 122, 121, 122), (123, 124, 123, 124), (125, 125, 90, 90), (95, 96, 95, 96)], volume: 100)
        func entry(_ stake: Decimal) throws -> Decimal {
            let report = try Backtester.run(
                candles: series,
                models: [momentum],
                settings: settings(BacktestExecution(slippageModel: .volume), stake: stake)
            ).report
            return try #require(report.tradeList.first).entryPrice
        }
        // 100 × 123 = 12,300 of quote volume: 123 is 1 % (+10 bps), 1,230 is 10 % (+100 bps).
        #expect(try entry(123) == Decimal(string: "123.123"))
        #expect(try entry(1_230) == Decimal(string: "124.23"))
        #expect(try entry(9_000) == Decimal(string: "125.46"))  // the 200 bps cap
    }
}

@Suite("backtest report: growth, per-trade and drawdown figures")
struct BacktestFigureTests {
    @Test("CAGR, Calmar, profit factor, expectancy and drawdown durations on hand-computed numbers")
    func figures() throws {
        let twoYears: Int64 = 2 * 365 * 86_400_000
        #expect(abs(try #require(BacktestMetrics.cagr(startingEquity: 100, finalEquity: 121, spanMs: twoYears)) - 0.1) < 1e-12)
        #expect(BacktestMetrics.cagr(startingEquity: 100, finalEquity: 121, spanMs: 0) == nil)
        #expect(BacktestMetrics.cagr(startingEquity: 100, finalEquity: 0, spanMs: twoYears) == nil)
        #expect(abs(try #require(BacktestMetrics.calmar(cagr: 0.1, maxDrawdown: 0.25)) - 0.4) < 1e-12)
        #expect(BacktestMetrics.calmar(cagr: 0.1, maxDrawdown: 0) == nil)
        #expect(BacktestMetrics.profitFactor([10, -5, 20, -10]) == 2)
        #expect(BacktestMetrics.profitFactor([10, 20]) == nil)
        #expect(BacktestMetrics.expectancy([10, -5, 20, -10]) == Decimal(string: "3.75"))
        #expect(BacktestMetrics.expectancy([]) == nil)
        // Peak 110 at t=1, back to it at t=4 (3); peak 111 at t=4, still under at the end, t=6 (2).
        let samples: [(time: Int64, equity: Double)] = [(1, 110), (2, 100), (3, 105), (4, 111), (5, 90), (6, 95)]
        #expect(BacktestMetrics.drawdownDurations(start: (0, 100), samples: samples) == [3, 2])
        #expect(BacktestMetrics.drawdownDurations(start: (0, 100), samples: [(1, 100), (2, 101)]).isEmpty)
        #expect(BacktestMetrics.month(of: 1_517_443_199_999) == "2018-01")
        #expect(BacktestMetrics.month(of: 1_517_443_200_000) == "2018-02")
    }

    @Test("the report of the five-candle series: drawdown durations, the month, per-trade figures")
    func reportFigures() throws {
        let report = try Backtester.run(candles: fiveCandles, models: [momentum], settings: settings(BacktestExecution())).report
        // In at 123 (candle 22's open), marked 124 at its close: the peak. Then 90 at candle 23's
        // close, sold at 95 at candle 24's open; never back up: one drawdown, from candle 22's
        // close to the last close (candle 25's), three minutes.
        #expect(report.longestDrawdownDurationMs == 180_000)
        #expect(report.averageDrawdownDurationMs == 180_000)
        #expect(report.profitFactor == 0)  // no winning trade
        #expect(report.expectancy == Decimal(string: "-227.6422764"))
        #expect(report.months.map(\.month) == ["2020-09"])
        #expect(report.months.first?.trades == 1)
        #expect(abs((report.months.first?.totalReturn ?? 0) - report.totalReturn) < 1e-12)
        let cagr = try #require(report.cagr)
        #expect(cagr < 0 && cagr >= -1)
        #expect(abs(try #require(report.calmar) - cagr / report.maxDrawdown) < 1e-12)
    }

    @Test("months: one row per UTC month, compounding to the whole return, trades counted where they end")
    func months() throws {
        // Daily candles from 10 January 2020: the warm-up, then a rise and a fall across 1 February.
        let first: Int64 = 1_578_614_400_000
        let warmUp: [Double] = (0...20).map { Double(100 + $0) }
        let rise: [Double] = (1...15).map { 120 + Double($0) }
        let fall: [Double] = (1...12).map { 135 - 4 * Double($0) }
        let series: [Candle] = (warmUp + rise + fall).enumerated().map { (index: Int, close: Double) -> Candle in
            Candle(openTime: first + Int64(index) * 86_400_000, open: close, high: close, low: close, close: close, volume: 1)
        }
        var configured = settings(BacktestExecution())
        configured.from = first + 21 * 86_400_000
        let report = try Backtester.run(candles: series, models: [momentum], settings: configured).report
        #expect(report.months.map(\.month) == ["2020-01", "2020-02"])
        #expect(report.months.map(\.candles).reduce(0, +) == report.candles)
        let compounded = report.months.reduce(1.0) { $0 * (1 + $1.totalReturn) } - 1
        #expect(abs(compounded - report.totalReturn) < 1e-9)
        #expect(report.months.map(\.trades).reduce(0, +) == report.trades)
        #expect(report.months[0].endEquity == report.months[1].startEquity)
    }
}

@Suite("backtest in-sample marking")
struct BacktestInSampleTests {
    func trained(_ range: TrainedRange?) -> BacktestModel {
        var model = momentum
        model.trained = range
        return model
    }

    @Test("candles inside a model's trained range are in-sample, apart from the rest; a warning when they are most")
    func split() throws {
        // Traded candles 21...25: a range over 21...23 makes three of five in-sample.
        let range = TrainedRange(from: start + 21 * 60_000, to: start + 23 * 60_000)
        let report = try Backtester.run(candles: fiveCandles, models: [trained(range)], settings: settings(BacktestExecution())).report
        #expect(report.inSampleShare == 0.6)
        let inside = try #require(report.inSample)
        let outside = try #require(report.outOfSample)
        #expect(inside.candles == 3 && outside.candles == 2)
        #expect(inside.trades == 1 && outside.trades == 0)  // entered at candle 22
        #expect(abs((1 + inside.totalReturn) * (1 + outside.totalReturn) - 1 - report.totalReturn) < 1e-12)
        #expect(report.trainedRanges == ["mom": range])
        #expect(report.warnings.first?.hasPrefix("most candles (3 of 5) are inside the models' training range") == true)

        let fewer = TrainedRange(from: 0, to: start + 22 * 60_000)
        let minority = try Backtester.run(candles: fiveCandles, models: [trained(fewer)], settings: settings(BacktestExecution())).report
        #expect(minority.inSampleShare == 0.4)
        #expect(minority.warnings.isEmpty)
    }

    @Test("a model without a trained range is named in a warning; with none, no split")
    func unknown() throws {
        let report = try Backtester.run(candles: fiveCandles, models: [momentum], settings: settings(BacktestExecution())).report
        #expect(report.inSampleShare == nil && report.inSample == nil && report.outOfSample == nil)
        #expect(report.warnings == ["model mom names no trained range (trainedFrom, trainedTo): its in-sample candles are unknown"])
    }

    @Test("the shipped artifacts name the rows scripts/train_models.py trained them on")
    func shippedRanges() throws {
        for name in ["logit", "rsi", "xgb"] {
            let data = try Data(contentsOf: BacktestEquivalenceTests.root.appendingPathComponent("deploy/models/\(name).json"))
            let loaded = try ModelArtifact.loadWithTrainedRange(from: data)
            // The first feature row of ETH_BTC-5m.csv (candle 20) to the last of its first 70 % (candle 4036).
            #expect(loaded.trained == TrainedRange(from: 1_515_566_100_000, to: 1_516_770_900_000), "\(name)")
            #expect(loaded.artifact == (try ModelArtifact.load(from: data)))
        }
    }

    @Test("a malformed trained range is refused; none is nil")
    func malformed() throws {
        let base = #"{"kind": "logistic", "version": "v", "features": ["rsi_14"], "means": [0], "scales": [1], "weights": [1], "bias": 0"#
        #expect(try ModelArtifact.loadWithTrainedRange(from: Data((base + "}").utf8)).trained == nil)
        #expect(
            try ModelArtifact.loadWithTrainedRange(from: Data((base + #", "trainedFrom": 5, "trainedTo": 9}"#).utf8)).trained
                == TrainedRange(from: 5, to: 9)
        )
        for bad in [
            #", "trainedFrom": 5}"#, #", "trainedFrom": 9, "trainedTo": 5}"#, #", "trainedFrom": 1.5, "trainedTo": 9}"#,
            #", "trainedFrom": "x", "trainedTo": 9}"#,
        ] {
            #expect(throws: ModelArtifactError.self, "\(bad)") { try ModelArtifact.loadWithTrainedRange(from: Data((base + bad + "}").utf8)) }
        }
        // Not ASCII: read by Foundation, the same answer.
        let accented = base.replacingOccurrences(of: #""v""#, with: #""vé""#)
        #expect(
            try ModelArtifact.loadWithTrainedRange(from: Data((accented + #", "trainedFrom": 5, "trainedTo": 9}"#).utf8)).trained
                == TrainedRange(from: 5, to: 9)
        )
        #expect(throws: ModelArtifactError.self) { try ModelArtifact.loadWithTrainedRange(from: Data((accented + #", "trainedTo": 9}"#).utf8)) }
    }
}

@Suite("backtest flags")
struct BacktestFlagTests {
    func parse(
        fill: String? = nil,
        model: String? = nil,
        k: String? = nil,
        cap: String? = nil,
        stop: String? = nil,
        target: String? = nil,
        trailing: String? = nil
    ) throws(WireError) -> BacktestExecution {
        try BacktestExecution.parse(
            fill: fill,
            slippageModel: model,
            slippageK: k,
            slippageCapBps: cap,
            stopLossBps: stop,
            takeProfitBps: target,
            trailingStopBps: trailing,
            baseSlippageBps: 5
        )
    }

    @Test("defaults: next-open fills, fixed slippage, no protective exits")
    func defaults() throws {
        #expect(try parse() == BacktestExecution(fill: .nextOpen, slippageModel: .fixed, slippageK: 0.1, slippageCapBps: 200))
        #expect(
            try parse(fill: "close", model: "volume", k: "0.5", cap: "50", stop: "100", target: "250", trailing: "75")
                == BacktestExecution(
                    fill: .close,
                    slippageModel: .volume,
                    slippageK: 0.5,
                    slippageCapBps: 50,
                    stopLossBps: 100,
                    takeProfitBps: 250,
                    trailingStopBps: 75
                )
        )
    }

    @Test("bad flags are refused with the flag, its range and the value")
    func refused() {
        func refusal(_ parse: () throws(WireError) -> BacktestExecution) -> WireError? {
            do {
                _ = try parse()
                return nil
            } catch {
                return error
            }
        }
        let fill = refusal { () throws(WireError) in try parse(fill: "bogus") }
        #expect(fill?.code == "invalid_fill" && fill?.detail == #"--fill must be next-open or close, not "bogus""#)
        #expect(refusal { () throws(WireError) in try parse(model: "sqrt") }?.code == "invalid_slippage_model")
        let stop = refusal { () throws(WireError) in try parse(stop: "-5") }
        #expect(stop?.code == "invalid_bps" && stop?.detail == #"--stop-loss-bps must be basis points in (0, 10000), not "-5""#)
        for (flag, value) in [
            ("--take-profit-bps", "0"), ("--trailing-stop-bps", "10000"), ("--slippage-k", "-0.1"), ("--slippage-cap-bps", "nan"),
            ("--stop-loss-bps", "1e9"),
        ] {
            let error = refusal { () throws(WireError) -> BacktestExecution in
                switch flag {
                case "--take-profit-bps": return try parse(target: value)
                case "--trailing-stop-bps": return try parse(trailing: value)
                case "--slippage-k": return try parse(k: value)
                case "--slippage-cap-bps": return try parse(cap: value)
                default: return try parse(stop: value)
                }
            }
            #expect(error?.code == "invalid_bps" && error?.detail.hasPrefix(flag) == true, "\(flag) \(value)")
        }
        let cap = refusal { () throws(WireError) in try parse(model: "volume", cap: "2") }
        #expect(cap?.detail.contains("below SLIPPAGE_BPS") == true)
    }
}
