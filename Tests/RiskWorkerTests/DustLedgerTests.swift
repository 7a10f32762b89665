import Foundation
import Testing
import TradingDomain
import TradingWire

@testable import RiskWorker

@Suite("dust in the ledger")
struct DustLedgerTests {
    @Test("a closing sell's remainder is dust: shown apart from the position, valued in equity, kept across a restart, merged by the next fill")
    func dustRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let limits = RiskLimits(
            confidenceThreshold: 0.5,
            maxOrderNotionalUsd: 1_000,
            maxPositionUsd: 1_000,
            maxDrawdown: 0.5,
            startingEquityUsd: 1_000,
            slippageBps: 0,
            feeBps: 0
        )
        var portfolio = Portfolio(startingCash: 1_000)
        let buy = try Fill(price: 100, quantity: Decimal(string: "2.0005")!, notional: Decimal(string: "200.05")!, fee: 0, dryRun: false, filledAt: 1)
        portfolio.apply(symbol: "BTCUSDT", side: .buy, fill: buy)
        var sell = try Fill(price: 100, quantity: 2, notional: 200, fee: 0, dryRun: false, filledAt: 2)
        sell.dust = Decimal(string: "0.0005")
        portfolio.apply(symbol: "BTCUSDT", side: .sell, fill: sell)
        let shown = try #require(portfolio.snapshot.positions.first)
        #expect(shown.quantity == 0)
        #expect(shown.dust == Decimal(string: "0.0005"))
        #expect(portfolio.equity == Decimal(string: "1000.0"), "the dust is still worth 5 cents")

        let store = try LedgerStore(directory: path)
        try store.save(RiskEngine(limits: limits, portfolio: portfolio), symbols: ["BTCUSDT"])
        var loaded = try LedgerStore(directory: path).load(limits: limits, recentOrders: 10).portfolio
        #expect(loaded.positions["BTCUSDT"]?.dust == Decimal(string: "0.0005"))
        #expect(loaded.snapshot.positions.first?.quantity == 0)

        loaded.apply(symbol: "BTCUSDT", side: .buy, fill: try Fill(price: 100, quantity: 1, notional: 100, fee: 0, dryRun: false, filledAt: 3))
        #expect(loaded.snapshot.positions.first?.quantity == Decimal(string: "1.0005"), "held again with more: sellable as a whole")
        #expect(loaded.snapshot.positions.first?.dust == nil)
    }
}
