import Foundation
import ServiceSupport
import TradingWire

/// The live account's reconciliation settings.
///
/// | key | type | default | range | meaning |
/// |---|---|---|---|---|
/// | `ACCOUNT_RECONCILE_MS` | int | 30000 | 100...3600000 | live mode: how often the exchange's balances are compared with the live book |
/// | `ACCOUNT_TOLERANCE_BPS` | decimal | 10 | 0...1000 | a difference within this share of the larger amount (commission dust) is agreement |
/// | `LIVE_SYMBOLS` | comma list | `SYMBOL_ALLOWLIST`, else `BTCUSDT` | 1...200 symbols, USD-like quotes | traded live: their assets are compared |
/// | `FOREIGN_TRADES_LIMIT` | int | 100 | 1...1000 | trades read per symbol (`GET /api/v3/myTrades`) when a mismatch is found |
public struct AccountReconcileConfiguration: Sendable {
    public var intervalMilliseconds: Int
    public var toleranceBps: Decimal
    public var symbols: [String]
    public var foreignTradesLimit: Int

    public init(reader: EnvironmentReader) throws {
        intervalMilliseconds = try reader.int("ACCOUNT_RECONCILE_MS", default: 30_000, in: 100...3_600_000)
        toleranceBps = try reader.decimal("ACCOUNT_TOLERANCE_BPS", default: 10, in: 0...1_000)
        foreignTradesLimit = try reader.int("FOREIGN_TRADES_LIMIT", default: 100, in: 1...1_000)
        let text = reader.optionalString("LIVE_SYMBOLS") ?? reader.optionalString("SYMBOL_ALLOWLIST") ?? "BTCUSDT"
        let symbols = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        let quotes = TradingPair.usdQuotes.joined(separator: ", ")
        let expected = "1 to 200 comma-separated symbols, each a base asset and a USD-like quote (\(quotes)), e.g. BTCUSDT"
        guard (1...200).contains(symbols.count),
            symbols.allSatisfy({ TradingPair(symbol: $0) != nil && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        else {
            throw ConfigurationError(key: "LIVE_SYMBOLS", value: text, expected: expected)
        }
        self.symbols = Array(Set(symbols)).sorted()
    }

    /// The symbols compared: the configured ones and those the live book holds a position in.
    func symbols(holding status: RiskStatus) -> [String] {
        Array(Set(symbols).union(status.live?.account?.positions.map(\.symbol) ?? [])).sorted()
    }
}
