import Foundation
import Synchronization
import TradingWire

/// One model of the backtest: the artifact the model worker would serve, under its id.
public struct BacktestModel: Sendable {
    public var id: String
    public var version: String
    public var artifact: ModelArtifact
    /// The open times the model was trained on (its artifact's `trainedFrom`/`trainedTo`); nil
    /// when the artifact names none.
    public var trained: TrainedRange?

    public init(id: String, version: String, artifact: ModelArtifact, trained: TrainedRange? = nil) {
        self.id = id
        self.version = version
        self.artifact = artifact
        self.trained = trained
    }
}

/// What a backtest runs with: the risk worker's limits and protections, the gateway's consensus
/// policy and candle window, the stake of one entry, and how orders fill.
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
    public var execution: BacktestExecution

    public init(
        symbol: String,
        limits: RiskLimits,
        consensus: ConsensusPolicy,
        stakeUsd: Decimal,
        window: Int = 200,
        from: Int64? = nil,
        to: Int64? = nil,
        execution: BacktestExecution = BacktestExecution()
    ) {
        self.symbol = symbol
        self.limits = limits
        self.consensus = consensus
        self.stakeUsd = stakeUsd
        self.window = window
        self.from = from
        self.to = to
        self.execution = execution
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
    public var exitReason: BacktestExitReason
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

    // Added with the realistic fills; every field above keeps its meaning.

    /// How the orders filled.
    public var execution: BacktestExecution
    /// Compound annual growth of the equity over the candles' span (365-day years); nil when
    /// undefined (no span, an equity at or below zero).
    public var cagr: Double?
    /// CAGR over the maximum drawdown; nil without a drawdown.
    public var calmar: Double?
    /// Gross profit over gross loss of the closed trades; nil without a losing trade.
    public var profitFactor: Double?
    /// Mean PnL of a closed trade (quote currency); nil without trades.
    public var expectancy: Decimal?
    /// Mean and longest time under a running peak, in milliseconds: from the close that set the
    /// peak (the first candle's open for the starting equity) to the close that gets back to it,
    /// or to the last close for a drawdown not recovered. Nil and 0 without a drawdown.
    public var averageDrawdownDurationMs: Int64?
    public var longestDrawdownDurationMs: Int64
    /// Closed trades by the reason they ended, and `end_of_data` for the one still open.
    public var exitsByReason: [String: Int]
    /// The position still open at the last candle, valued at its close (not sold, so no exit
    /// fee or slippage), with `exitReason` `end_of_data`; nil when flat. Not in `trades`.
    public var openTrade: BacktestTrade?
    /// One row per UTC month of candles.
    public var months: [BacktestMonth]
    /// The open-time range each model was trained on, by model id (models that name none are
    /// absent).
    public var trainedRanges: [String: TrainedRange]
    /// Share of candles inside any model's trained range; nil when no model names one.
    public var inSampleShare: Double?
    /// The figures over the candles inside (`inSample`) and outside (`outOfSample`) the trained
    /// ranges; nil when no model names a range or the part has no candle.
    public var inSample: BacktestSegment?
    public var outOfSample: BacktestSegment?
    /// What a reader of the figures must know: most candles in-sample, models without a range.
    public var warnings: [String]
}

/// A month of the backtest.
public struct BacktestMonth: Codable, Sendable, Equatable {
    /// `2018-01`.
    public var month: String
    public var candles: Int
    /// The equity before the month's first candle and at its last close.
    public var startEquity: Double
    public var endEquity: Double
    public var totalReturn: Double
    /// Closed trades that ended in the month, and their PnL.
    public var trades: Int
    public var pnl: Decimal
}

/// The backtest's figures over a part of its candles (in-sample or out-of-sample).
public struct BacktestSegment: Codable, Sendable, Equatable {
    public var candles: Int
    /// The part's candles over all candles.
    public var share: Double
    /// The per-candle returns of the part's candles compounded.
    public var totalReturn: Double
    /// Of those returns, annualised as the report's.
    public var sharpe: Double?
    /// Of the part's candles strung together.
    public var maxDrawdown: Double
    /// Closed trades entered in the part.
    public var trades: Int
    public var wins: Int
    public var winRate: Double?
    public var pnl: Decimal
}

/// Runs the pipeline's domain code over a candle series: features as the feature worker builds
/// them, each model's vote, the gateway's consensus and risk gate, the risk engine's reservation
/// (every limit, the trading state, the protections, the stale-data guard), the fill and its
/// settlement. Time is the candles' own (a decision is made at a candle's close), so a run is
/// deterministic: the same file gives the same report, byte for byte.
public enum Backtester {
    /// Strategy: long only, as on a spot account. A buy signal the gate allows enters with the
    /// stake when flat; a sell signal the gate allows sells the position; the optional stop-loss,
    /// take-profit and trailing stop sell it inside a candle (`BacktestExecution`). An order fills
    /// at the next candle's open (`BacktestFillTiming.nextOpen`) or at the decision's close.
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
        let execution = settings.execution
        var account = BacktestAccount(settings: settings)
        let startingEquity = account.engine.portfolio.equity
        var curve: [EquitySample] = []
        curve.reserveCapacity(candles.count - start)
        var blocked: [String: Int] = [:]
        // A decision waiting for the next candle's open (next-open fills).
        var pending: (side: Side, confidence: Double)?
        var lastPrice: Decimal?
        // The signals depend on the candles alone: computed on every core, chunk by chunk, while
        // this thread runs the account through the chunks already done.
        let signals = SignalStream(candles: candles, range: start..<candles.count, models: models, settings: settings)
        var chunk: (number: Int, signals: [(Decimal, ConsensusSignal?)?]) = (-1, [])

        for index in start..<candles.count {
            let candle = candles[index]
            let now = candle.openTime + interval
            // At the open: what the previous close decided, then the stops and the target inside
            // the candle. The newest closed candle is then the previous one.
            if index > start, pending != nil || (account.entry != nil && execution.hasExits) {
                let clock = CandleClock(newestOpenTime: candles[index - 1].openTime, intervalMilliseconds: interval)
                if let decided = pending {
                    pending = nil
                    if let open = Decimal(exactly: candle.open, scale: 8), open > 0 {
                        account.engine.mark(symbol: symbol, price: open, now: candle.openTime, clock: clock)
                        account.signalOrder(decided.side, confidence: decided.confidence, at: open, candle: candle, now: candle.openTime)
                    } else {
                        account.refusals["unusable_open", default: 0] += 1
                    }
                }
                if execution.hasExits { account.protectiveExit(in: candle, clock: clock) }
            }
            let (number, offset) = signals.position(of: index)
            if number != chunk.number { chunk = (number, signals.chunk(number)) }
            guard let (price, signal) = chunk.signals[offset] else { continue }
            lastPrice = price
            account.engine.mark(
                symbol: symbol,
                price: price,
                now: now,
                clock: CandleClock(newestOpenTime: candle.openTime, intervalMilliseconds: interval)
            )
            if let signal {
                // The first reason not to trade: the signal's own, else the gate's (a pure
                // function of the engine, asked only then, its refusal worded only if needed).
                let held = account.held
                if let blocker = signal.blockers.first {
                    blocked[code(of: blocker), default: 0] += 1
                } else if let refusal = account.engine.gateRefusals(
                    GateRequest(symbol: symbol, side: signal.side, confidence: signal.confidence),
                    now: now
                )
                .first {
                    blocked[code(of: refusal), default: 0] += 1
                } else if signal.side == .buy ? held == 0 : held > 0 {
                    switch execution.fill {
                    case .close: account.signalOrder(signal.side, confidence: signal.confidence, at: price, candle: candle, now: now)
                    case .nextOpen: pending = (signal.side, signal.confidence)
                    }
                }
            } else {
                blocked["missing_features", default: 0] += 1
            }
            curve.append(
                EquitySample(
                    openTime: candle.openTime,
                    close: candle.close,
                    equity: account.engine.portfolio.equityValue,
                    position: account.engine.portfolio.positions[symbol]?.quantity ?? 0
                )
            )
        }
        var openTrade: BacktestTrade?
        if let open = account.entry, let position = account.engine.portfolio.positions[symbol], position.quantity > 0, let lastPrice,
            let last = curve.last
        {
            let unrealised = (position.quantity * (lastPrice - position.averagePrice)).rounded(scale: 8)
            openTrade = BacktestTrade(
                entryTime: open.time,
                exitTime: last.openTime + interval,
                entryPrice: open.price,
                exitPrice: lastPrice,
                pnl: position.realizedPnl - open.realised + unrealised,
                fees: open.fees,
                exitReason: .endOfData
            )
        }
        let report = BacktestMetrics.report(
            BacktestMetrics.Run(
                symbol: symbol,
                curve: curve,
                intervalMs: interval,
                startingEquity: startingEquity,
                finalEquity: account.engine.portfolio.equity,
                realised: account.engine.status.account.realizedPnl,
                fees: account.fees,
                trades: account.trades,
                tradeCandles: account.tradeCandles,
                openTrade: openTrade,
                orders: account.orderCount,
                refusals: account.refusals,
                blocked: blocked,
                locksSet: account.locksSet,
                execution: execution,
                models: models
            )
        )
        return BacktestResult(report: report, curve: curve, fills: account.fills)
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

/// The account a backtest runs: the risk engine, and what the report counts of its orders.
struct BacktestAccount {
    var engine: RiskEngine
    let symbol: String
    let settings: BacktestSettings
    var fills: [(time: Int64, side: Side)] = []
    var refusals: [String: Int] = [:]
    var trades: [BacktestTrade] = []
    /// The open times of the candles each trade entered and ended in.
    var tradeCandles: [(entry: Int64, exit: Int64)] = []
    var orderCount = 0
    var locksSet = 0
    var fees: Decimal = 0
    /// The round trip under way: its first fill's time, candle and price, the realised PnL
    /// before it, its fees so far, and the highest price since it opened (the trailing stop's).
    var entry: (time: Int64, candle: Int64, price: Decimal, realised: Decimal, fees: Decimal, level: Double, peak: Double)?

    init(settings: BacktestSettings) {
        var engine = RiskEngine(limits: settings.limits)
        // One symbol, the account in its quote (ETHBTC: in BTC): prices as given, not converted to USD.
        engine.convertsQuotes = false
        self.engine = engine
        symbol = settings.symbol
        self.settings = settings
    }

    var held: Decimal { engine.portfolio.positions[symbol]?.quantity ?? 0 }

    /// The notional that sells `held` at `price` moved by `slippageBps`, at most `MAX_ORDER_USD`.
    func sellNotional(at price: Decimal, slippageBps: Decimal) -> Decimal {
        let slip = price * slippageBps / 10_000
        return min(held * (price - slip).rounded(scale: 8), settings.limits.maxOrderNotionalUsd)
    }

    /// The models' decision, filled at `price` in `candle`: the stake when flat and buying, the
    /// position (up to `MAX_ORDER_USD`) when selling; nothing otherwise.
    mutating func signalOrder(_ side: Side, confidence: Double, at price: Decimal, candle: Candle, now: Int64) {
        let held = self.held
        guard side == .buy ? held == 0 : held > 0 else { return }
        let base = settings.limits.slippageBps
        let notional: Decimal
        let slippage: Decimal
        if side == .buy {
            notional = settings.stakeUsd
            slippage = settings.execution.slippageBps(base: base, notional: notional, volume: candle.volume, price: price)
        } else {
            let size = min(held * price, settings.limits.maxOrderNotionalUsd)
            slippage = settings.execution.slippageBps(base: base, notional: size, volume: candle.volume, price: price)
            notional = sellNotional(at: price, slippageBps: slippage)
        }
        order(side, notional: notional, confidence: confidence, at: price, slippageBps: slippage, candle: candle, now: now, reason: .signal)
    }

    /// The stop-loss, trailing stop and take-profit inside `candle`, in the conservative order
    /// (`BacktestExecution`): the open, then the stop, then the target. A triggered exit marks
    /// the account at its price and sells the whole position.
    mutating func protectiveExit(in candle: Candle, clock: CandleClock) {
        guard var open = entry, held > 0 else { return }
        let execution = settings.execution
        open.peak = max(open.peak, candle.open)
        let fixed = execution.stopLossBps.map { open.level * (1 - $0 / 10_000) }
        let trailing = execution.trailingStopBps.map { open.peak * (1 - $0 / 10_000) }
        let stop: (level: Double, reason: BacktestExitReason)? =
            switch (fixed, trailing) {
            case (let fixed?, let trailing?): trailing > fixed ? (trailing, .trailingStop) : (fixed, .stopLoss)
            case (let fixed?, nil): (fixed, .stopLoss)
            case (nil, let trailing?): (trailing, .trailingStop)
            case (nil, nil): nil
            }
        let target = execution.takeProfitBps.map { open.level * (1 + $0 / 10_000) }
        var trigger: (price: Double, reason: BacktestExitReason)?
        if let stop, candle.open <= stop.level {
            trigger = (candle.open, stop.reason)
        } else if let target, candle.open >= target {
            trigger = (target, .takeProfit)
        } else if let stop, candle.low <= stop.level {
            trigger = (stop.level, stop.reason)
        } else if let target, candle.high >= target {
            trigger = (target, .takeProfit)
        }
        guard let trigger else {
            open.peak = max(open.peak, candle.high)
            entry = open
            return
        }
        entry = open
        guard let price = Decimal(exactly: trigger.price, scale: 8), price > 0 else {
            refusals["unusable_exit_price", default: 0] += 1
            return
        }
        engine.mark(symbol: symbol, price: price, now: candle.openTime, clock: clock)
        // A take-profit is a resting limit order: no slippage. A stop is a market order.
        // Orders of at most MAX_ORDER_USD until flat (or refused).
        for _ in 0..<64 where held > 0 {
            let slippage =
                trigger.reason == .takeProfit
                ? 0
                : settings.execution.slippageBps(
                    base: settings.limits.slippageBps,
                    notional: min(held * price, settings.limits.maxOrderNotionalUsd),
                    volume: candle.volume,
                    price: price
                )
            let filled = order(
                .sell,
                notional: sellNotional(at: price, slippageBps: slippage),
                confidence: 1,
                at: price,
                slippageBps: slippage,
                candle: candle,
                now: candle.openTime,
                reason: trigger.reason
            )
            if !filled { break }
        }
    }

    /// One order through the risk engine's reservation (every limit, the trading state, the
    /// protections), filled as the paper fill computes it at `price` moved by `slippageBps`,
    /// with `FEE_BPS`, and settled. True when it filled.
    @discardableResult
    mutating func order(
        _ side: Side,
        notional: Decimal,
        confidence: Double,
        at price: Decimal,
        slippageBps: Decimal,
        candle: Candle,
        now: Int64,
        reason: BacktestExitReason
    ) -> Bool {
        orderCount += 1
        defer { if orderCount % 1_000 == 0 { engine.pruneSettled(keep: 100) } }
        let before = engine.portfolio.positions[symbol] ?? Portfolio.Position()
        let locksBefore = engine.protections.locks.count
        do {
            let intent = OrderIntent(clientOrderId: "bt-\(orderCount)", symbol: symbol, side: side, qtyUsd: notional, confidence: confidence)
            let reserved = try engine.reserve(ReserveRequest(intent: intent, mode: .paper), now: now)
            guard let terms = reserved.order.terms else { return false }
            let fill = try PaperFill.fill(
                side: side,
                notional: intent.qtyUsd,
                markPrice: price,
                slippageBps: slippageBps,
                feeBps: terms.feeBps,
                at: reserved.order.createdAt
            )
            _ = try engine.settle(SettleRequest(clientOrderId: intent.clientOrderId, fill: fill, rejectReason: nil))
            fills.append((now, side))
            fees += fill.fee
            locksSet += max(0, engine.protections.locks.count - locksBefore)
            let after = engine.portfolio.positions[symbol] ?? Portfolio.Position()
            if before.quantity == 0 {
                let level = fill.price.doubleValue
                entry = (now, candle.openTime, fill.price, before.realizedPnl, 0, level, level)
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
                        fees: open.fees,
                        exitReason: reason
                    )
                )
                tradeCandles.append((open.candle, candle.openTime))
                entry = nil
            }
            return true
        } catch {
            refusals[error.code, default: 0] += 1
            return false
        }
    }
}
