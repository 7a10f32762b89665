import Foundation
import ServiceSupport
import TradingWire

/// The risk worker's settings, read from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `CONFIDENCE_THRESHOLD` | 0...1 | 0.6 | least consensus confidence to allow a trade |
/// | `MAX_ORDER_USD` | decimal | 5000 | largest notional of one order |
/// | `MAX_POSITION_USD` | decimal | 20000 | largest absolute position value per symbol |
/// | `MAX_GROSS_EXPOSURE_USD` | decimal | 50000 | largest sum of absolute position values |
/// | `MAX_DAILY_LOSS_USD` | decimal | 5000 | equity loss since UTC midnight that stops new orders for the day |
/// | `MAX_DRAWDOWN` | 0...1 | 0.10 | drawdown from peak equity that locks trading (the brake) |
/// | `MAX_ORDERS_PER_MINUTE` | int | 60 | order rate limit (429 beyond) |
/// | `SYMBOL_ALLOWLIST` | comma list | empty (all) | symbols that may trade |
/// | `STARTING_EQUITY_USD` | decimal | 100000 | paper account's starting cash (first start only) |
/// | `SLIPPAGE_BPS` | decimal | 5 | paper fill slippage, basis points |
/// | `FEE_BPS` | decimal | 10 | paper fill fee, basis points of notional |
/// | `LIVE_MAX_ORDER_USD` | decimal | 100 | live mode: largest order notional |
/// | `MIN_ORDER_USD` | decimal | 1 | smallest order notional; below it, or when the quantity rounds to zero at 8 places, 422 `order_too_small` |
/// | `LIVE_MAX_DAILY_USD` | decimal | 1000 | live mode: most notional sent to the exchange per UTC day |
/// | `DATA_DIR` | path | `data` | where `ledger.sqlite` lives |
/// | `LEDGER_BUSY_TIMEOUT_MS` | int | 30000 | how long a ledger write waits for a lock another connection holds (then 503 `ledger_busy`) |
/// | `DRAWDOWN_ACTION` | `lock` or `reduce` | `lock` | what the drawdown brake does: lock everything (423 `risk_locked`) or go to REDUCING |
/// | `MAX_CANDLE_AGE` | 0...1000 candle intervals | 3 | a symbol whose newest candle is older takes no new order (409 `stale_market_data`); 0 turns it off |
/// | `COOLDOWN_MINUTES` | 0...10080 | 0 (off) | CooldownPeriod: minutes a symbol is locked after a losing trade in it closes |
/// | `STOPLOSS_GUARD_TRADES` | 0...1000 | 0 (off) | StoplossGuard `trade_limit`: losing trades within the lookback that set a lock |
/// | `STOPLOSS_GUARD_LOOKBACK_MINUTES` | 1...525600 | 60 | StoplossGuard `lookback_period` |
/// | `STOPLOSS_GUARD_LOCK_MINUTES` | 1...525600 | 60 | StoplossGuard `stop_duration` |
/// | `STOPLOSS_GUARD_PER_SYMBOL` | bool | false | StoplossGuard `only_per_pair`: lock the symbol instead of every symbol |
/// | `LOW_PROFIT_TRADES` | 0...1000 | 0 (off) | LowProfitPairs `trade_limit`: least trades in a symbol within the lookback to judge it |
/// | `LOW_PROFIT_LOOKBACK_MINUTES` | 1...525600 | 1440 | LowProfitPairs `lookback_period` |
/// | `LOW_PROFIT_LOCK_MINUTES` | 1...525600 | 60 | LowProfitPairs `stop_duration` |
/// | `LOW_PROFIT_MIN_USD` | decimal -1e9...1e9 | 0 | LowProfitPairs `required_profit`, in quote currency: realised PnL below it locks the symbol |
public struct RiskConfiguration: Sendable {
    public var limits: RiskLimits
    public var dataDirectory: String
    /// How long a ledger write waits for a lock held by another connection.
    public var busyTimeoutMilliseconds: Int

    public init(reader: EnvironmentReader) throws {
        limits = RiskLimits(
            confidenceThreshold: try reader.double("CONFIDENCE_THRESHOLD", default: 0.6, in: 0...1),
            maxOrderNotionalUsd: try reader.decimal("MAX_ORDER_USD", default: 5_000, in: 0...1_000_000_000),
            maxPositionUsd: try reader.decimal("MAX_POSITION_USD", default: 20_000, in: 0...1_000_000_000),
            maxGrossExposureUsd: try reader.decimal("MAX_GROSS_EXPOSURE_USD", default: 50_000, in: 0...1_000_000_000_000),
            maxDailyLossUsd: try reader.decimal("MAX_DAILY_LOSS_USD", default: 5_000, in: 0...1_000_000_000_000),
            maxDrawdown: try reader.double("MAX_DRAWDOWN", default: 0.10, in: 0.0001...1),
            maxOrdersPerMinute: try reader.int("MAX_ORDERS_PER_MINUTE", default: 60, in: 1...1_000_000),
            symbolAllowlist: (reader.optionalString("SYMBOL_ALLOWLIST") ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty },
            startingEquityUsd: try reader.decimal("STARTING_EQUITY_USD", default: 100_000, in: 1...1_000_000_000_000),
            slippageBps: try reader.decimal("SLIPPAGE_BPS", default: 5, in: 0...1_000),
            feeBps: try reader.decimal("FEE_BPS", default: 10, in: 0...1_000)
        )
        limits.liveMaxOrderUsd = try reader.decimal("LIVE_MAX_ORDER_USD", default: 100, in: 0...1_000_000_000)
        limits.minOrderUsd = try reader.decimal("MIN_ORDER_USD", default: 1, in: 0...1_000_000)
        limits.liveMaxDailyUsd = try reader.decimal("LIVE_MAX_DAILY_USD", default: 1_000, in: 0...1_000_000_000_000)
        let action = reader.string("DRAWDOWN_ACTION", default: "lock").lowercased()
        guard let drawdownAction = DrawdownAction(rawValue: action) else {
            throw ConfigurationError(key: "DRAWDOWN_ACTION", value: action, expected: "lock or reduce")
        }
        limits.drawdownAction = drawdownAction
        limits.maxCandleAge = try reader.double("MAX_CANDLE_AGE", default: 3, in: 0...1_000)
        limits.protections = ProtectionSettings(
            cooldownMinutes: try reader.int("COOLDOWN_MINUTES", default: 0, in: 0...10_080),
            stoplossGuardTrades: try reader.int("STOPLOSS_GUARD_TRADES", default: 0, in: 0...1_000),
            stoplossGuardLookbackMinutes: try reader.int("STOPLOSS_GUARD_LOOKBACK_MINUTES", default: 60, in: 1...525_600),
            stoplossGuardLockMinutes: try reader.int("STOPLOSS_GUARD_LOCK_MINUTES", default: 60, in: 1...525_600),
            stoplossGuardPerSymbol: try reader.bool("STOPLOSS_GUARD_PER_SYMBOL", default: false),
            lowProfitTrades: try reader.int("LOW_PROFIT_TRADES", default: 0, in: 0...1_000),
            lowProfitLookbackMinutes: try reader.int("LOW_PROFIT_LOOKBACK_MINUTES", default: 1_440, in: 1...525_600),
            lowProfitLockMinutes: try reader.int("LOW_PROFIT_LOCK_MINUTES", default: 60, in: 1...525_600),
            lowProfitMinUsd: try reader.decimal("LOW_PROFIT_MIN_USD", default: 0, in: -1_000_000_000...1_000_000_000)
        )
        dataDirectory = reader.string("DATA_DIR", default: "data")
        busyTimeoutMilliseconds = try reader.int("LEDGER_BUSY_TIMEOUT_MS", default: 30_000, in: 0...600_000)
    }
}
