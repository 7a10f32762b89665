import Foundation
import TradingWire

/// Where an order decided at a candle's close fills.
public enum BacktestFillTiming: String, Codable, Sendable, CaseIterable {
    /// At the next candle's open, as Freqtrade's backtest fills: a decision cannot trade at the
    /// close it was made from.
    case nextOpen = "next-open"
    /// At the close of the candle that made the decision: what paper trading books for it.
    case close
}

/// How much a fill slips against the taker.
public enum BacktestSlippageModel: String, Codable, Sendable, CaseIterable {
    /// `SLIPPAGE_BPS` for every fill, whatever its size.
    case fixed
    /// `SLIPPAGE_BPS` plus a part growing with the order's share of the candle's volume, capped
    /// (`BacktestExecution.slippageBps`).
    case volume
}

/// Why a round trip ended.
public enum BacktestExitReason: String, Codable, Sendable, CaseIterable {
    /// A sell the models' consensus decided.
    case signal
    case stopLoss = "stop_loss"
    case takeProfit = "take_profit"
    case trailingStop = "trailing_stop"
    /// Still open at the last candle: valued at its close, not sold.
    case endOfData = "end_of_data"
}

/// How a backtest's orders fill: when, with what slippage, and the optional protective exits
/// (stop-loss, take-profit, trailing stop) simulated inside each candle.
///
/// Inside a candle the order of events is the conservative one: the open first (a gap through a
/// stop fills at the open), then the stop, then the target, so a candle whose range touches both
/// the stop and the target takes the stop. A stop (fixed or trailing) is a market order when
/// touched: it fills at its level, moved by the slippage; the take-profit is a resting limit
/// order: it fills at its level, without slippage. Both are measured from the entry's fill price;
/// the trailing stop from the highest price since the entry, where a candle's high counts only
/// from the next candle on (its order inside the candle is unknown).
public struct BacktestExecution: Codable, Sendable, Equatable {
    public var fill: BacktestFillTiming
    public var slippageModel: BacktestSlippageModel
    /// The volume model's k: basis points of slippage added per basis point of the candle's quote
    /// volume the order takes.
    public var slippageK: Double
    /// The volume model's cap on the whole slippage, in basis points.
    public var slippageCapBps: Double
    /// Below the entry's fill price, in basis points; nil: no stop-loss.
    public var stopLossBps: Double?
    /// Above the entry's fill price, in basis points; nil: no take-profit.
    public var takeProfitBps: Double?
    /// Below the highest price since the entry, in basis points; nil: no trailing stop.
    public var trailingStopBps: Double?

    public static let slippageKRange: ClosedRange<Double> = 0...10
    public static let slippageCapRange: ClosedRange<Double> = 0...5_000
    /// A stop 10,000 bps (100 %) below would sell at zero.
    public static let stopRange: Range<Double> = 0.0.nextUp..<10_000
    public static let takeProfitRange: ClosedRange<Double> = 0.0.nextUp...100_000

    public init(
        fill: BacktestFillTiming = .nextOpen,
        slippageModel: BacktestSlippageModel = .fixed,
        slippageK: Double = 0.1,
        slippageCapBps: Double = 200,
        stopLossBps: Double? = nil,
        takeProfitBps: Double? = nil,
        trailingStopBps: Double? = nil
    ) {
        self.fill = fill
        self.slippageModel = slippageModel
        self.slippageK = slippageK
        self.slippageCapBps = slippageCapBps
        self.stopLossBps = stopLossBps
        self.takeProfitBps = takeProfitBps
        self.trailingStopBps = trailingStopBps
    }

    /// Any protective exit set.
    public var hasExits: Bool { stopLossBps != nil || takeProfitBps != nil || trailingStopBps != nil }

    /// The command's flags, as given (nil: not given), each checked: `invalid_fill`,
    /// `invalid_slippage_model`, or `invalid_bps` naming the flag, its range and the value.
    /// `baseSlippageBps` is `SLIPPAGE_BPS`, which the volume model's cap may not be below.
    public static func parse(
        fill: String?,
        slippageModel: String?,
        slippageK: String?,
        slippageCapBps: String?,
        stopLossBps: String?,
        takeProfitBps: String?,
        trailingStopBps: String?,
        baseSlippageBps: Decimal
    ) throws(WireError) -> BacktestExecution {
        var execution = BacktestExecution()
        if let fill {
            guard let timing = BacktestFillTiming(rawValue: fill) else {
                throw WireError(code: "invalid_fill", detail: "--fill must be next-open or close, not \"\(fill.prefix(40))\"", status: 422)
            }
            execution.fill = timing
        }
        if let slippageModel {
            guard let model = BacktestSlippageModel(rawValue: slippageModel) else {
                throw WireError(
                    code: "invalid_slippage_model",
                    detail: "--slippage-model must be fixed or volume, not \"\(slippageModel.prefix(40))\"",
                    status: 422
                )
            }
            execution.slippageModel = model
        }
        execution.slippageK = try number(slippageK, "--slippage-k", "a number in [0, 10]", { slippageKRange.contains($0) }) ?? execution.slippageK
        execution.slippageCapBps =
            try number(slippageCapBps, "--slippage-cap-bps", "basis points in [0, 5000]", { slippageCapRange.contains($0) })
            ?? execution.slippageCapBps
        if execution.slippageModel == .volume, Decimal(execution.slippageCapBps) < baseSlippageBps {
            throw WireError(
                code: "invalid_bps",
                detail: "--slippage-cap-bps \(execution.slippageCapBps) is below SLIPPAGE_BPS \(baseSlippageBps): the cap includes it",
                status: 422
            )
        }
        execution.stopLossBps = try number(stopLossBps, "--stop-loss-bps", "basis points in (0, 10000)", { stopRange.contains($0) })
        execution.takeProfitBps = try number(takeProfitBps, "--take-profit-bps", "basis points in (0, 100000]", { takeProfitRange.contains($0) })
        execution.trailingStopBps = try number(trailingStopBps, "--trailing-stop-bps", "basis points in (0, 10000)", { stopRange.contains($0) })
        return execution
    }

    private static func number(_ text: String?, _ flag: String, _ range: String, _ accepts: (Double) -> Bool) throws(WireError) -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value.isFinite, accepts(value) else {
            throw WireError(code: "invalid_bps", detail: "\(flag) must be \(range), not \"\(text.prefix(40))\"", status: 422)
        }
        return value
    }

    /// The slippage of a fill of `notional` (quote currency) at `price` in a candle that traded
    /// `volume` (base units). Fixed: `base`. Volume:
    /// `min(cap, base + k * notional / (volume * price) * 10_000)`, the cap when the candle traded
    /// nothing. To four decimal places of a basis point.
    public func slippageBps(base: Decimal, notional: Decimal, volume: Double, price: Decimal) -> Decimal {
        guard slippageModel == .volume else { return base }
        let quoteVolume = volume * price.doubleValue
        let impact = quoteVolume > 0 ? slippageK * notional.doubleValue / quoteVolume * 10_000 : .infinity
        let bps = min(slippageCapBps, base.doubleValue + impact)
        return Decimal(exactly: bps, scale: 4) ?? base
    }
}
