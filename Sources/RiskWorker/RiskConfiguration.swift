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
            feeBps: try reader.decimal("FEE_BPS", default: 10, in: 0...1_000))
        limits.liveMaxOrderUsd = try reader.decimal("LIVE_MAX_ORDER_USD", default: 100, in: 0...1_000_000_000)
        limits.minOrderUsd = try reader.decimal("MIN_ORDER_USD", default: 1, in: 0...1_000_000)
        limits.liveMaxDailyUsd = try reader.decimal("LIVE_MAX_DAILY_USD", default: 1_000, in: 0...1_000_000_000_000)
        dataDirectory = reader.string("DATA_DIR", default: "data")
        busyTimeoutMilliseconds = try reader.int("LEDGER_BUSY_TIMEOUT_MS", default: 30_000, in: 0...600_000)
    }
}
