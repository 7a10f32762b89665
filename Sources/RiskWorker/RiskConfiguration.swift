import Foundation
import ServiceSupport
import TradingWire

/// The risk limits, read from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `CONFIDENCE_THRESHOLD` | 0...1 | 0.6 | least consensus confidence to allow a trade |
/// | `MAX_ORDER_USD` | decimal | 5000 | largest notional of one order |
/// | `MAX_POSITION_USD` | decimal | 20000 | largest absolute position value per symbol |
/// | `MAX_DRAWDOWN` | 0...1 | 0.10 | drawdown from peak equity that locks trading |
/// | `STARTING_EQUITY_USD` | decimal | 100000 | paper account's starting cash |
/// | `SLIPPAGE_BPS` | decimal | 5 | paper fill slippage, basis points |
/// | `FEE_BPS` | decimal | 10 | paper fill fee, basis points of notional |
public enum RiskConfiguration {
    public static func limits(reader: EnvironmentReader) throws -> RiskLimits {
        RiskLimits(
            confidenceThreshold: try reader.double("CONFIDENCE_THRESHOLD", default: 0.6, in: 0...1),
            maxOrderNotionalUsd: try reader.decimal("MAX_ORDER_USD", default: 5_000, in: 0...1_000_000_000),
            maxPositionUsd: try reader.decimal("MAX_POSITION_USD", default: 20_000, in: 0...1_000_000_000),
            maxDrawdown: try reader.double("MAX_DRAWDOWN", default: 0.10, in: 0.0001...1),
            startingEquityUsd: try reader.decimal("STARTING_EQUITY_USD", default: 100_000, in: 1...1_000_000_000_000),
            slippageBps: try reader.decimal("SLIPPAGE_BPS", default: 5, in: 0...1_000),
            feeBps: try reader.decimal("FEE_BPS", default: 10, in: 0...1_000))
    }
}
