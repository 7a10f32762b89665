import Foundation
import Synchronization
import TradingWire

/// One model of the backtest: the artifact the model worker would serve, under its id.
public struct BacktestModel: Sendable {
    public var id: String
    public var version: String
    public var artifact: ModelArtifact

    public init(id: String, version: String, artifact: ModelArtifact) {
        self.id = id
        self.version = version
        self.artifact = artifact
    }
}

/// What a backtest runs with: the risk worker's limits and protections, the gateway's consensus
/// policy and candle window, and the stake of one entry.
public struct BacktestSettings: Sendable {
    public var symbol: String
    public var limits: RiskLimits
    public var consensus: ConsensusPolicy
    /// Quote currency per entry (Freqtrade's `stake_amount`); exits sell the position, in orders
    /// of at most `MAX_ORDER_USD`.
    public var stakeUsd: Decimal
    /// Candles handed to the features, as the gateway keeps them (`CANDLE_WINDOW`).
    public var window: Int
    /// Trade from this open time on (Unix ms); earlier candles only warm the features up.
    public var from: Int64?
    /// Trade up to this open time (Unix ms), inclusive.
    public var to: Int64?

    public init(
        symbol: String,
        limits: RiskLimits,
        consensus: ConsensusPolicy,
        stakeUsd: Decimal,
        window: Int = 200,
        from: Int64? = nil,
        to: Int64? = nil
    ) {
        self.symbol = symbol
        self.limits = limits
        self.consensus = consensus
        self.stakeUsd = stakeUsd
        self.window = window
        self.from = from
        self.to = to
    }
}

/// A round trip: from a flat position to a long one and back to flat.
public struct BacktestTrade: Codable, Sendable, Equatable {
    public var entryTime: Int64
    public var exitTime: Int64
    public var entryPrice: Decimal
    public var exitPrice: Decimal
    /// Realised PnL of the round trip, both fees included.
    public var pnl: Decimal
    public var fees: Decimal
}

/// The account at the close of one candle.
public struct EquitySample: Sendable, Equatable {
    public var openTime: Int64
    public var close: Double
    public var equity: Double
    /// Position quantity (0: out of the market), converted only when written out.
    public var position: Decimal
}

/// A backtest's result: the report and the equity curve it was computed from.
public struct BacktestResult: Sendable {
    public var report: BacktestReport
    public var curve: [EquitySample]
    /// Fills in order, for the chart's markers: time, side.
    public var fills: [(time: Int64, side: Side)]
}

/// The figures a backtest reports. Ratios are fractions (0.1 = 10 %).
public struct BacktestReport: Codable, Sendable, Equatable {
    public var symbol: String
    public var firstCandle: Int64
    public var lastCandle: Int64
    public var candles: Int
    public var intervalMs: Int64
    public var startingEquity: Decimal
    public var finalEquity: Decimal
    public var totalReturn: Double
    public var realisedPnl: Decimal
    public var fees: Decimal
    public var trades: Int
    public var wins: Int
    public var losses: Int
    /// Wins over trades; nil without trades.
    public var winRate: Double?
    public var maxDrawdown: Double
    /// Annualised from the candle interval (365 days a year: crypto trades every day); nil when
    /// the equity never moved.
    public var sharpe: Double?
    public var sortino: Double?
    /// Share of candles closed with a position open.
    public var timeInMarket: Double
    /// Buying at the first close with the whole starting equity and holding to the last.
    public var buyAndHoldReturn: Double
    public var orders: Int
    /// Orders the risk engine refused, by error code.
    public var refusals: [String: Int]
    /// Consensus answers that allowed nothing, by the first reason's code.
    public var blockedSignals: [String: Int]
    /// Protection locks set during the run.
    public var locksSet: Int
    public var tradeList: [BacktestTrade]
}

/// Runs the pipeline's domain code over a candle series: features as the feature worker builds
/// them, each model's vote, the gateway's consensus and risk gate, the risk engine's reservation
/// (every limit, the trading state, the protections, the stale-data guard), the paper fill and its
/// settlement. Time is the candles' own (a decision is made at a candle's close), so a run is
/// deterministic: the same file gives the same report, byte for byte.
public enum Backtester {
    /// Strategy: long only, as on a spot account. A buy signal the gate allows enters with the
    /// stake when flat; a sell signal the gate allows sells the position.
    public static func run(candles all: [Candle], models: [BacktestModel], settings: BacktestSettings) throws(WireError) -> BacktestResult {
        let candles = all.filter { settings.to == nil || $0.openTime <= settings.to ?? 0 }
        guard let start = candles.firstIndex(where: { $0.openTime >= (settings.from ?? Int64.min) }), candles.count - start >= 2 else {
            throw WireError(code: "too_few_candles", detail: "fewer than two candles between --from and --to", status: 422)
        }
        for (previous, next) in zip(candles, candles.dropFirst()) where next.openTime <= previous.openTime {
            throw WireError(
                code: "candles_out_of_order",
                detail: "open times must increase (\(next.openTime) after \(previous.openTime))",
                status: 422
            )
        }
        let gaps = zip(candles, candles.dropFirst()).prefix(1_000).map { $1.openTime - $0.openTime }
        let interval = gaps.min() ?? 60_000
        let symbol = settings.symbol
        var engine = RiskEngine(limits: settings.limits)
        // One symbol, the account in its quote (ETHBTC: in BTC): prices as given, not converted to USD.
        engine.convertsQuotes = false
        let startingEquity = engine.portfolio.equity
        var curve: [EquitySample] = []
        curve.reserveCapacity(candles.count - start)
        var fills: [(time: Int64, side: Side)] = []
        var refusals: [String: Int] = [:]
        var blocked: [String: Int] = [:]
        var trades: [BacktestTrade] = []
        var orderCount = 0
        var locksSet = 0
        var entry: (time: Int64, price: Decimal, realised: Decimal, fees: Decimal)?
        var fees: Decimal = 0
        // The signals depend on the candles alone: computed on every core, chunk by chunk, while
        // this thread runs the account through the chunks already done.
        let signals = SignalStream(candles: candles, range: start..<candles.count, models: models, settings: settings)
        var chunk: (number: Int, signals: [(Decimal, ConsensusSignal?)?]) = (-1, [])

        for index in start..<candles.count {
            let candle = candles[index]
            let now = candle.openTime + interval
            let (number, offset) = signals.position(of: index)
            if number != chunk.number { chunk = (number, signals.chunk(number)) }
            guard let (price, signal) = chunk.signals[offset] else { continue }
            engine.mark(symbol: symbol, price: price, now: now, clock: CandleClock(newestOpenTime: candle.openTime, intervalMilliseconds: interval))
            if let signal {
                // The first reason not to trade: the signal's own, else the gate's (a pure
                // function of the engine, asked only then, its refusal worded only if needed).
                let held = engine.portfolio.positions[symbol]?.quantity ?? 0
                if let blocker = signal.blockers.first {
                    blocked[code(of: blocker), default: 0] += 1
                } else if let refusal = engine.gateRefusals(GateRequest(symbol: symbol, side: signal.side, confidence: signal.confidence), now: now)
                    .first
                {
                    blocked[code(of: refusal), default: 0] += 1
                } else if signal.side == .buy ? held == 0 : held > 0 {
                    let notional: Decimal
                    if signal.side == .buy {
                        notional = settings.stakeUsd
                    } else {
                        let slip = price * settings.limits.slippageBps / 10_000
                        notional = min(held * (price - slip).rounded(scale: 8), settings.limits.maxOrderNotionalUsd)
                    }
                    orderCount += 1
                    let before = engine.portfolio.positions[symbol] ?? Portfolio.Position()
                    let locksBefore = engine.protections.locks.count
                    do {
                        let intent = OrderIntent(
                            clientOrderId: "bt-\(orderCount)",
                            symbol: symbol,
                            side: signal.side,
                            qtyUsd: notional,
                            confidence: signal.confidence
                        )
                        let reserved = try engine.reserve(ReserveRequest(intent: intent, mode: .paper), now: now)
                        guard let terms = reserved.order.terms else { continue }
                        let fill = try RiskEngine.paperFill(reserved.order, terms: terms)
                        _ = try engine.settle(SettleRequest(clientOrderId: intent.clientOrderId, fill: fill, rejectReason: nil))
                        fills.append((now, signal.side))
                        fees += fill.fee
                        locksSet += max(0, engine.protections.locks.count - locksBefore)
                        let after = engine.portfolio.positions[symbol] ?? Portfolio.Position()
                        if before.quantity == 0 {
                            entry = (now, fill.price, before.realizedPnl, 0)
                        }
                        entry?.fees += fill.fee
                        if after.quantity == 0, let open = entry {
                            trades.append(
                                BacktestTrade(
                                    entryTime: open.time,
                                    exitTime: now,
                                    entryPrice: open.price,
                                    exitPrice: fill.price,
                                    pnl: after.realizedPnl - open.realised,
                                    fees: open.fees
                                )
                            )
                            entry = nil
                        }
                    } catch {
                        refusals[error.code, default: 0] += 1
                    }
                    if orderCount % 1_000 == 0 { engine.pruneSettled(keep: 100) }
                }
            } else {
                blocked["missing_features", default: 0] += 1
            }
            curve.append(
                EquitySample(
                    openTime: candle.openTime,
                    close: candle.close,
                    equity: engine.portfolio.equityValue,
                    position: engine.portfolio.positions[symbol]?.quantity ?? 0
                )
            )
        }
        let report = BacktestMetrics.report(
            symbol: symbol,
            curve: curve,
            intervalMs: interval,
            startingEquity: startingEquity,
            finalEquity: engine.portfolio.equity,
            realised: engine.status.account.realizedPnl,
            fees: fees,
            trades: trades,
            orders: orderCount,
            refusals: refusals,
            blocked: blocked,
            locksSet: locksSet
        )
        return BacktestResult(report: report, curve: curve, fills: fills)
    }

    /// The price the gateway marks at each candle of `indices` (its close as a decimal of 8 places;
    /// nil for a close that is not a usable price) and the consensus signal there (nil where the
    /// features cannot be computed): the features the feature worker would build from the window
    /// the gateway holds, every model's vote, and their combination. The features are kept current
    /// candle by candle (`IncrementalFeatures`, equal bit for bit to the batch computation over the
    /// window, warmed up with the window before the first index), not recomputed over a copy of the
    /// window: the result does not depend on where a chunk starts.
    static func signals(candles: [Candle], indices: Range<Int>, models: [BacktestModel], settings: BacktestSettings) -> [(Decimal, ConsensusSignal?)?]
    {
        var signals: [(Decimal, ConsensusSignal?)?] = []
        signals.reserveCapacity(indices.count)
        var indicators = IncrementalFeatures(window: settings.window)
        let first = max(0, indices.lowerBound - settings.window + 1)
        for candle in candles[first..<indices.lowerBound] { indicators.append(candle) }
        // Once the window slides (from `first + window` on), the RSI is recomputed over the whole
        // window for every candle: those windows are computed here four at a time.
        let slidFrom = min(max(first + settings.window, indices.lowerBound), indices.upperBound)
        let closes = candles[max(0, slidFrom - settings.window + 1)..<indices.upperBound].map(\.close)
        let closesOffset = max(0, slidFrom - settings.window + 1)
        let windowRSIs = Indicators.rsi(
            windowsOf: settings.window,
            endingAt: (slidFrom - closesOffset)..<(indices.upperBound - closesOffset),
            in: closes,
            period: IncrementalFeatures.rsiPeriod
        )
        // Each model's parts taken out once, not copied out of `models` for every candle.
        let artifacts = models.map(\.artifact)
        let names = models.map { (id: $0.id, version: $0.version) }
        var votes: [ModelVote] = []
        votes.reserveCapacity(models.count)
        for index in indices {
            indicators.append(candles[index], windowRSI: index >= slidFrom ? windowRSIs[index - slidFrom] : nil)
            guard let price = Decimal(exactly: candles[index].close, scale: 8), price > 0 else {
                signals.append(nil)
                continue
            }
            guard let features = FeatureBuilder.computed(from: indicators) else {
                signals.append((price, nil))
                continue
            }
            votes.removeAll(keepingCapacity: true)
            for (artifact, name) in zip(artifacts, names) {
                votes.append(ModelVote(modelId: name.id, version: name.version, probabilityUp: artifact.probabilityUp(features)))
            }
            signals.append((price, settings.consensus.combine(votes)))
        }
        return signals
    }

    /// `code(of: refusal.reason)`, without wording the refusal a signal most often meets.
    static func code(of refusal: RiskEngine.GateRefusal) -> String {
        switch refusal {
        case .confidenceBelowThreshold: "confidence_below_threshold"
        default: code(of: refusal.reason)
        }
    }

    /// `reducing_only: ...` → `reducing_only`; a sentence without a code → its first words.
    static func code(of reason: String) -> String {
        let bytes = reason.utf8.prefix(40)
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")), !bytes[..<colon].contains(UInt8(ascii: " ")) {
            return String(decoding: bytes[..<colon], as: UTF8.self)
        }
        if reason.hasPrefix("confidence") { return "confidence_below_threshold" }
        if reason.hasPrefix("trading halted") { return "trading_halted" }
        if reason.hasPrefix("agreement") { return "agreement_below_minimum" }
        if reason.hasPrefix("only") { return "no_quorum" }
        return String(reason.prefix(40))
    }
}

/// A backtest's signals (`Backtester.signals`) computed in chunks on every core, in the background,
/// in candle order as far as the cores allow; the reader takes each chunk when it is done.
final class SignalStream: Sendable {
    typealias Signal = (Decimal, ConsensusSignal?)?
    let range: Range<Int>
    let chunkSize: Int
    private let results = Mutex<[Int: [Signal]]>([:])
    private let done: [DispatchSemaphore]

    init(candles: [Candle], range: Range<Int>, models: [BacktestModel], settings: BacktestSettings) {
        let chunkSize = max(256, range.count / (ProcessInfo.processInfo.activeProcessorCount * 8) + 1)
        let chunks = stride(from: range.lowerBound, to: range.upperBound, by: chunkSize).map { $0..<min($0 + chunkSize, range.upperBound) }
        self.range = range
        self.chunkSize = chunkSize
        done = chunks.map { _ in DispatchSemaphore(value: 0) }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            DispatchQueue.concurrentPerform(iterations: chunks.count) { number in
                let signals = Backtester.signals(candles: candles, indices: chunks[number], models: models, settings: settings)
                results.withLock { $0[number] = signals }
                done[number].signal()
            }
        }
    }

    /// The chunk and the offset in it of a candle's index.
    func position(of index: Int) -> (chunk: Int, offset: Int) {
        ((index - range.lowerBound) / chunkSize, (index - range.lowerBound) % chunkSize)
    }

    /// Chunk `number`'s signals, once computed (waits until then); taken once.
    func chunk(_ number: Int) -> [Signal] {
        done[number].wait()
        return results.withLock { $0.removeValue(forKey: number) ?? [] }
    }
}

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

    static func report(
        symbol: String,
        curve: [EquitySample],
        intervalMs: Int64,
        startingEquity: Decimal,
        finalEquity: Decimal,
        realised: Decimal,
        fees: Decimal,
        trades: [BacktestTrade],
        orders: Int,
        refusals: [String: Int],
        blocked: [String: Int],
        locksSet: Int
    ) -> BacktestReport {
        let equity = [startingEquity.doubleValue] + curve.map(\.equity)
        let returns = returns(equity)
        let periods = periodsPerYear(intervalMs: intervalMs)
        let wins = trades.filter { $0.pnl > 0 }.count
        let firstClose = curve.first?.close ?? 1
        let lastClose = curve.last?.close ?? firstClose
        return BacktestReport(
            symbol: symbol,
            firstCandle: curve.first?.openTime ?? 0,
            lastCandle: curve.last?.openTime ?? 0,
            candles: curve.count,
            intervalMs: intervalMs,
            startingEquity: startingEquity,
            finalEquity: finalEquity.rounded(scale: 8),
            totalReturn: startingEquity > 0 ? ((finalEquity - startingEquity) / startingEquity).doubleValue : 0,
            realisedPnl: realised.rounded(scale: 8),
            fees: fees,
            trades: trades.count,
            wins: wins,
            losses: trades.count - wins,
            winRate: trades.isEmpty ? nil : Double(wins) / Double(trades.count),
            maxDrawdown: maxDrawdown(equity),
            sharpe: sharpe(returns, periodsPerYear: periods),
            sortino: sortino(returns, periodsPerYear: periods),
            timeInMarket: curve.isEmpty ? 0 : Double(curve.filter { $0.position != 0 }.count) / Double(curve.count),
            buyAndHoldReturn: firstClose > 0 ? lastClose / firstClose - 1 : 0,
            orders: orders,
            refusals: refusals,
            blockedSignals: blocked,
            locksSet: locksSet,
            tradeList: trades
        )
    }
}
