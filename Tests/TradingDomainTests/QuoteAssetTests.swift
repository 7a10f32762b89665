import Foundation
import Testing
import TradingDomain
import TradingWire

/// Symbols quoted in an asset that is not a dollar (`ETHBTC`): marked, capped and booked in USD
/// at the quote asset's USD mark, or refused while no fresh one exists.
@Suite("quote assets")
struct QuoteAssetTests {
    let t0: Int64 = 1_700_000_000_000
    let interval: Int64 = 300_000

    func engine() -> RiskEngine {
        RiskEngine(
            limits: RiskLimits(
                confidenceThreshold: 0.6,
                maxOrderNotionalUsd: 10_000,
                maxPositionUsd: 50_000,
                maxDrawdown: 0.5,
                startingEquityUsd: 100_000,
                slippageBps: 0,
                feeBps: 0
            )
        )
    }

    func reserve(_ engine: inout RiskEngine, _ id: String, _ symbol: String, usd: Decimal, at now: Int64) throws(WireError) -> Order {
        let intent = OrderIntent(clientOrderId: id, symbol: symbol, side: .buy, qtyUsd: usd, confidence: 0.9)
        return try engine.reserve(ReserveRequest(intent: intent, mode: .paper), now: now).order
    }

    func clock(_ now: Int64) -> CandleClock { CandleClock(newestOpenTime: now - 60_000, intervalMilliseconds: interval) }

    @Test("a symbol is split at a USD-like quote first, then at another known quote")
    func pairs() {
        #expect(TradingPair(anyQuote: "ETHBTC") == TradingPair(anyQuote: "ETHBTC"))
        #expect(TradingPair(anyQuote: "ETHBTC")?.base == "ETH")
        #expect(TradingPair(anyQuote: "ETHBTC")?.quote == "BTC")
        #expect(TradingPair(anyQuote: "ETHBTC")?.usdQuoted == false)
        #expect(TradingPair(anyQuote: "BTCFDUSD")?.quote == "FDUSD")
        #expect(TradingPair(anyQuote: "BTCUSDT")?.usdQuoted == true)
        #expect(TradingPair(anyQuote: "BTC") == nil)
        #expect(TradingPair(symbol: "ETHBTC") == nil, "the USD-only reading is unchanged")
    }

    @Test("qtyUsd on ETHBTC is refused without a fresh BTC mark, and priced and booked in USD at it")
    func convertedOrRefused() throws {
        var risk = engine()
        risk.mark(symbol: "ETHBTC", price: Decimal(string: "0.05")!, now: t0, clock: clock(t0))
        #expect(risk.portfolio.marks["ETHBTC"] == nil, "no USD price yet: not marked in BTC as if dollars")
        do {
            _ = try reserve(&risk, "no-mark", "ETHBTC", usd: 100, at: t0)
            Issue.record("no BTC mark: qtyUsd cannot be converted")
        } catch {
            #expect(error.code == "no_quote_mark")
            #expect(error.status == 422)
            #expect(error.detail.contains("BTCUSDT"), "\(error.detail)")
        }

        risk.mark(symbol: "BTCUSDT", price: 50_000, now: t0, clock: clock(t0))
        let order = try reserve(&risk, "eth-1", "ETHBTC", usd: 100, at: t0)
        let terms = try #require(order.terms)
        #expect(terms.quoteMarkUsd == 50_000)
        #expect(terms.markPrice == 2_500, "0.05 BTC at 50,000 USD")
        let fill = try RiskEngine.paperFill(order, terms: terms)
        #expect(fill.quantity == Decimal(string: "0.04"))
        _ = try risk.settle(SettleRequest(clientOrderId: "eth-1", fill: fill, rejectReason: nil))
        #expect(risk.portfolio.positionValue("ETHBTC") == 100)
        #expect(risk.portfolio.cash == 99_900)

        // A BTC mark older than MAX_CANDLE_AGE intervals is no fresh mark.
        let later = t0 + 4 * interval
        risk.mark(symbol: "ETHBTC", price: Decimal(string: "0.06")!, now: later, clock: clock(later))
        #expect(risk.portfolio.marks["ETHBTC"] == 2_500, "not re-marked at a stale BTC price")
        do {
            _ = try reserve(&risk, "stale-btc", "ETHBTC", usd: 100, at: later)
            Issue.record("a stale quote mark must refuse")
        } catch {
            #expect(error.code == "no_quote_mark")
        }
    }

    @Test("a commission in a non-USD quote is valued at that asset's USD mark, never as dollars")
    func quoteCommission() {
        var portfolio = Portfolio(startingCash: 1_000)
        #expect(portfolio.usdValue(ofCommission: Decimal(string: "0.001")!, in: "BTC", symbol: "ETHBTC", price: 2_500) == nil)
        portfolio.mark("BTCUSDT", price: 50_000)
        #expect(portfolio.usdValue(ofCommission: Decimal(string: "0.001")!, in: "BTC", symbol: "ETHBTC", price: 2_500) == 50)
        #expect(portfolio.usdValue(ofCommission: Decimal(string: "0.01")!, in: "ETH", symbol: "ETHBTC", price: 2_500) == 25)
        #expect(portfolio.usdValue(ofCommission: 2, in: "USDT", symbol: "BTCUSDT", price: 50_000) == 2)
    }
}
