import Foundation
import Testing
import TradingDomain
import TradingWire

/// A model that follows momentum hard: up when the 20-candle momentum is positive, down when
/// negative, undecided (0.5) when flat, so every decision of a simple series is known.
private let momentum = BacktestModel(
    id: "mom",
    version: "test",
    artifact: .logistic(LogisticModel(version: "test", features: ["mom_20"], means: [0], scales: [1], weights: [50], bias: 0))
)

private func settings(_ configure: (inout RiskLimits) -> Void = { _ in }) -> BacktestSettings {
    var limits = RiskLimits(
        confidenceThreshold: 0.6,
        maxOrderNotionalUsd: 10_000,
        maxPositionUsd: 50_000,
        maxDrawdown: 0.5,
        startingEquityUsd: 100_000,
        slippageBps: 0,
        feeBps: 0
    )
    configure(&limits)
    return BacktestSettings(symbol: "TEST", limits: limits, consensus: ConsensusPolicy(), stakeUsd: 1_000)
}

/// `count` closes from `start`, moving by `step` each candle.
private func ramp(_ start: Double, _ step: Double, _ count: Int) -> [Double] {
    (0..<count).map { start + step * Double($0) }
}

private func series(_ closes: [Double]) -> [Candle] {
    closes.enumerated().map { index, close in
        Candle(openTime: 1_600_000_000_000 + Int64(index) * 60_000, open: close, high: close, low: close, close: close, volume: 1)
    }
}

private var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

@Suite("backtest on hand-checkable series")
struct BacktestSeriesTests {
    @Test("a price that only rises: one entry at the 21st close, held to the end, no drawdown")
    func rising() throws {
        let result = try Backtester.run(candles: series(ramp(100, 1, 121)), models: [momentum], settings: settings())
        let report = result.report
        #expect(report.orders == 1)
        #expect(report.trades == 0)
        #expect(report.winRate == nil)
        // 1,000 at 120 buys 8.33333333 for 999.9999996; at 220 they are worth 1,833.3333326.
        #expect(report.finalEquity == Decimal(string: "100833.333333"))
        #expect(report.maxDrawdown == 0)
        #expect(report.sortino == nil)
        #expect((report.sharpe ?? 0) > 0)
        #expect(abs(report.buyAndHoldReturn - 1.2) < 1e-12)
        #expect(abs(report.timeInMarket - 101.0 / 121.0) < 1e-12)
        #expect(report.blockedSignals["missing_features"] == 20)
    }

    @Test("a price that only falls: sell signals with nothing to sell, the equity never moves")
    func falling() throws {
        let result = try Backtester.run(candles: series(ramp(200, -1, 121)), models: [momentum], settings: settings())
        let report = result.report
        #expect(report.orders == 0)
        #expect(report.finalEquity == 100_000)
        #expect(report.totalReturn == 0)
        #expect(report.maxDrawdown == 0)
        #expect(report.sharpe == nil)
        #expect(report.timeInMarket == 0)
        #expect(abs(report.buyAndHoldReturn - (80.0 / 200.0 - 1)) < 1e-12)
    }

    @Test("a flat price: every signal is below the confidence threshold, nothing trades")
    func flat() throws {
        let result = try Backtester.run(candles: series(Array(repeating: 100, count: 100)), models: [momentum], settings: settings())
        #expect(result.report.orders == 0)
        #expect(result.report.finalEquity == 100_000)
        #expect(result.report.blockedSignals["confidence_below_threshold"] == 80)
        #expect(result.report.buyAndHoldReturn == 0)
    }

    @Test("up then down: one winning round trip, bought at 120 and sold at 139")
    func roundTrip() throws {
        let closes = ramp(100, 1, 51) + ramp(149, -1, 30)
        let report = try Backtester.run(candles: series(closes), models: [momentum], settings: settings()).report
        #expect(report.trades == 1)
        #expect(report.wins == 1)
        #expect(report.winRate == 1)
        let trade = try #require(report.tradeList.first)
        #expect(trade.entryPrice == 120)
        #expect(trade.exitPrice == 139)
        #expect(trade.pnl == Decimal(string: "158.33333327"))  // 8.33333333 × 19
        #expect(report.realisedPnl == trade.pnl)
    }

    @Test("fees and slippage are paid on both legs, as the paper fill computes them")
    func costs() throws {
        let closes = ramp(100, 1, 51) + ramp(149, -1, 30)
        let report = try Backtester.run(
            candles: series(closes),
            models: [momentum],
            settings: settings {
                $0.feeBps = 10
                $0.slippageBps = 10
            }
        ).report
        let trade = try #require(report.tradeList.first)
        #expect(trade.entryPrice == Decimal(string: "120.12"))
        #expect(trade.exitPrice == Decimal(string: "138.861"))
        #expect(trade.fees > 0)
        #expect(report.fees == trade.fees)
        #expect(trade.pnl < Decimal(string: "158.33333327")!)
    }

    @Test("a losing trade sets the cooldown lock, as in paper trading")
    func protections() throws {
        // Up to 125, then down: bought at 120, sold at 114 when the momentum turns.
        let closes = ramp(100, 1, 26) + ramp(124, -1, 40)
        let report = try Backtester.run(candles: series(closes), models: [momentum], settings: settings { $0.protections.cooldownMinutes = 60 })
            .report
        #expect(report.trades == 1)
        #expect(report.losses == 1)
        #expect(report.tradeList.first?.exitPrice == 114)
        #expect(report.locksSet == 1)
    }

    @Test("DRAWDOWN_ACTION=reduce: after the brake, buy signals are refused as reducing_only")
    func reducing() throws {
        // 10,000 bought at 120 (83.33333333); from the peak at 125 (equity 100,416.67) the fall to
        // 120 is 0.41 %, past a 0.4 % brake. The sale at 114 reduces (accepted); the buy signals of
        // the rise from 85 are refused.
        let closes = ramp(100, 1, 26) + ramp(124, -1, 40) + ramp(86, 1, 40)
        var configured = settings {
            $0.maxDrawdown = 0.004
            $0.drawdownAction = .reduce
        }
        configured.stakeUsd = 10_000
        let report = try Backtester.run(candles: series(closes), models: [momentum], settings: configured).report
        #expect(report.blockedSignals["reducing_only", default: 0] > 0)
        #expect(report.orders == 2)
    }
}

@Suite("backtest metrics")
struct BacktestMetricTests {
    @Test("maximum drawdown, Sharpe and Sortino on hand-computed numbers")
    func metrics() throws {
        #expect(BacktestMetrics.maxDrawdown([100, 120, 90, 130]) == 0.25)
        let returns = [0.02, -0.01, 0.02, -0.01]
        #expect(abs(try #require(BacktestMetrics.sharpe(returns, periodsPerYear: 1)) - 0.005 / 0.0003.squareRoot()) < 1e-12)
        #expect(abs(try #require(BacktestMetrics.sortino(returns, periodsPerYear: 4)) - 0.005 / 0.00005.squareRoot() * 2) < 1e-12)
        #expect(BacktestMetrics.sharpe([0.01, 0.01, 0.01], periodsPerYear: 1) == nil)
        #expect(BacktestMetrics.periodsPerYear(intervalMs: 86_400_000) == 365)
        #expect(BacktestMetrics.periodsPerYear(intervalMs: 300_000) == 105_120)
    }
}

@Suite("backtest on the repository's candle files")
struct BacktestFileTests {
    static func load(_ name: String) throws -> [Candle] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("market-data/candles/\(name)"), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let f = line.split(separator: ",").compactMap { Double($0) }
            return f.count == 6 ? Candle(openTime: Int64(f[0]), open: f[1], high: f[2], low: f[3], close: f[4], volume: f[5]) : nil
        }
    }

    static func shippedModels() throws -> [BacktestModel] {
        try ["logit", "rsi", "xgb"].map { id in
            let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("deploy/models/\(id).json"))
            return BacktestModel(id: id, version: id, artifact: try ModelArtifact.load(from: data))
        }
    }

    @Test(
        "a repository candle file with the three shipped models: sane figures, the same report twice",
        arguments: ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]
    )
    func file(_ name: String) throws {
        let candles = try Self.load(name)
        let models = try Self.shippedModels()
        let configured = settings()
        let first = try Backtester.run(candles: candles, models: models, settings: configured)
        let second = try Backtester.run(candles: candles, models: models, settings: configured)
        #expect(first.report == second.report)
        #expect(first.report.candles == candles.count)
        #expect(first.curve.count == candles.count)
        #expect(first.report.maxDrawdown >= 0 && first.report.maxDrawdown < 1)
        #expect(first.report.timeInMarket >= 0 && first.report.timeInMarket <= 1)
        let csv = BacktestRendering.csv(first.curve)
        #expect(csv.split(separator: "\n").count == candles.count + 1)
        let svg = BacktestRendering.svg(first)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))
    }

    @Test("--from and --to select the candles traded")
    func range() throws {
        let candles = try Self.load("ETH_BTC-5m.csv")
        var configured = settings()
        configured.from = candles[1_000].openTime
        configured.to = candles[1_999].openTime
        let report = try Backtester.run(candles: candles, models: try Self.shippedModels(), settings: configured).report
        #expect(report.candles == 1_000)
        #expect(report.firstCandle == candles[1_000].openTime)
        #expect(report.blockedSignals["missing_features"] == nil)  // earlier candles warmed the features up
    }
}
