import Foundation
import Testing
import TradingDomain
import TradingWire

/// The paper reservation price: the book's ask for a buy and bid for a sell when the gateway
/// sends a fresh book, else the last close; the fill names which.
@Suite("paper fills at the book")
struct BookPriceTests {
    let t0: Int64 = 1_700_000_000_000

    func engine(slippage: Decimal = 10) -> RiskEngine {
        var engine = RiskEngine(
            limits: RiskLimits(
                confidenceThreshold: 0.6,
                maxOrderNotionalUsd: 10_000,
                maxPositionUsd: 50_000,
                maxDrawdown: 0.5,
                startingEquityUsd: 100_000,
                slippageBps: slippage,
                feeBps: 0
            )
        )
        engine.mark(symbol: "BTCUSDT", price: 100, now: t0)
        return engine
    }

    func request(_ id: String, _ side: Side, book: BookQuote?) -> ReserveRequest {
        ReserveRequest(intent: OrderIntent(clientOrderId: id, symbol: "BTCUSDT", side: side, qtyUsd: 100, confidence: 0.9), mode: .paper, book: book)
    }

    @Test("a buy reserves and fills at the ask, a sell at the bid, each with the slippage; without a book at the close")
    func askBidOrClose() throws {
        var risk = engine()
        let book = BookQuote(bid: Decimal(string: "99.5")!, ask: Decimal(string: "100.5")!, ageMs: 120)
        let buy = try risk.reserve(request("b-1", .buy, book: book), now: t0).order
        let buyTerms = try #require(buy.terms)
        #expect(buyTerms.markPrice == Decimal(string: "100.5") && buyTerms.priceSource == .bookAsk && buyTerms.bookAgeMs == 120)
        let buyFill = try RiskEngine.paperFill(buy, terms: buyTerms)
        #expect(buyFill.price == Decimal(string: "100.6005") && buyFill.priceSource == .bookAsk)
        #expect(ReplyChecks.fillProblem(buyFill, for: buy) == nil)

        let sell = try risk.reserve(request("s-1", .sell, book: book), now: t0).order
        let sellFill = try RiskEngine.paperFill(sell, terms: try #require(sell.terms))
        #expect(sellFill.price == Decimal(string: "99.4005") && sellFill.priceSource == .bookBid)

        let close = try risk.reserve(request("c-1", .buy, book: nil), now: t0).order
        let closeFill = try RiskEngine.paperFill(close, terms: try #require(close.terms))
        #expect(closeFill.price == Decimal(string: "100.1") && closeFill.priceSource == .lastClose)
    }

    @Test("an unusable book (bid above ask, a zero bid, a negative age) is not a price: the close")
    func unusable() throws {
        var risk = engine()
        for (index, book) in [
            BookQuote(bid: 101, ask: 100, ageMs: 1), BookQuote(bid: 0, ask: 100, ageMs: 1), BookQuote(bid: 99, ask: 100, ageMs: -5),
        ]
        .enumerated() {
            let order = try risk.reserve(request("u-\(index)", .buy, book: book), now: t0).order
            #expect(order.terms?.markPrice == 100 && order.terms?.priceSource == .lastClose, "\(book)")
        }
    }
}
