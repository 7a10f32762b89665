import Foundation
import Testing
import TradingDomain
import TradingWire

@Suite("price collar")
struct PriceCollarTests {
    @Test("a price more than the collar from the mark, either way, is a breach naming both prices; at the collar it is not")
    func check() throws {
        #expect(PriceCollar.check(side: .buy, price: 105, mark: 100, maxDeviationBps: 500) == nil)
        #expect(PriceCollar.check(side: .sell, price: 95, mark: 100, maxDeviationBps: 500) == nil)
        let above = try #require(PriceCollar.check(side: .buy, price: 105.01, mark: 100, maxDeviationBps: 500))
        #expect(abs(above.deviationBps - 501) < 1e-6)
        #expect(above.detail.contains("105.01") && above.detail.contains("100.0") && above.detail.contains("500 bps"), "\(above.detail)")
        #expect(PriceCollar.check(side: .sell, price: 94.9, mark: 100, maxDeviationBps: 500) != nil)
        #expect(PriceCollar.check(side: .buy, price: 1, mark: 0, maxDeviationBps: 500) != nil, "no usable mark: refused")
        #expect(PriceCollar.check(side: .buy, price: .nan, mark: 100, maxDeviationBps: 500) != nil)
    }

    @Test("a market order's expected price is the ask (buy) or bid (sell) of a fresh book, else the last close; the mark the last close")
    func marketPrices() throws {
        let book = (bid: 99.0, ask: 102.0)
        let buy = try #require(PriceCollar.marketPrices(side: .buy, lastClose: 100, book: book))
        #expect(buy.expected == 102 && buy.mark == 100)
        let sell = try #require(PriceCollar.marketPrices(side: .sell, lastClose: 100, book: book))
        #expect(sell.expected == 99 && sell.mark == 100)
        let noBook = try #require(PriceCollar.marketPrices(side: .buy, lastClose: 100, book: nil))
        #expect(noBook.expected == 100 && noBook.mark == 100)
        let noCandle = try #require(PriceCollar.marketPrices(side: .buy, lastClose: nil, book: book))
        #expect(noCandle.mark == 100.5 && noCandle.expected == 102)
        #expect(PriceCollar.marketPrices(side: .buy, lastClose: nil, book: nil) == nil)
    }
}

@Suite("closing a position in the risk engine")
struct CloseReserveTests {
    let limits = RiskLimits(
        confidenceThreshold: 0.6,
        maxOrderNotionalUsd: 5_000,
        maxPositionUsd: 8_000,
        maxDrawdown: 0.1,
        startingEquityUsd: 100_000,
        slippageBps: 10,
        feeBps: 10
    )

    func bought() throws -> RiskEngine {
        var engine = RiskEngine(limits: limits)
        engine.mark(symbol: "BTCUSDT", price: 100)
        let order = try engine.reserve(
            ReserveRequest(intent: OrderIntent(clientOrderId: "buy", symbol: "BTCUSDT", side: .buy, qtyUsd: 1_000, confidence: 0.9), mode: .paper),
            now: 0
        ).order
        let terms = try #require(order.terms)
        _ = try engine.settle(SettleRequest(clientOrderId: "buy", fill: try RiskEngine.paperFill(order, terms: terms), rejectReason: nil))
        return engine
    }

    func close(_ id: String, side: Side = .sell, qty: Decimal = 1_000, force: Bool = false) -> ReserveRequest {
        ReserveRequest(
            intent: OrderIntent(clientOrderId: id, symbol: "BTCUSDT", side: side, qtyUsd: qty, confidence: 1),
            mode: .paper,
            close: CloseOrder(force: force, reason: "test", requestedBy: "tester")
        )
    }

    @Test("a close reserves the whole quantity held and its paper fill is exactly that quantity, slippage and all")
    func wholeQuantity() throws {
        var engine = try bought()
        let held = try #require(engine.portfolio.positions["BTCUSDT"]?.quantity)
        let order = try engine.reserve(close("c1", qty: 999.01), now: 0).order
        let terms = try #require(order.terms)
        #expect(terms.closeQuantity == held)
        let fill = try RiskEngine.paperFill(order, terms: terms)
        #expect(fill.quantity == held)
        #expect(fill.price == Decimal(string: "99.9"))
        #expect(ReplyChecks.fillProblem(fill, for: order) == nil)
        _ = try engine.settle(SettleRequest(clientOrderId: "c1", fill: fill, rejectReason: nil))
        #expect(engine.portfolio.positions["BTCUSDT"]?.quantity ?? 0 == 0)
    }

    @Test("halted: a close is refused unless forced; a forced close is marked so for the execution worker")
    func halted() throws {
        var engine = try bought()
        engine.halt(reason: "incident")
        #expect(throws: WireError.self) { _ = try engine.reserve(close("c1"), now: 0) }
        let forced = try engine.reserve(close("c2", force: true), now: 0).order
        #expect(forced.terms?.forcedClose == true)
        var other = try bought()
        other.halt(reason: "incident")
        let growing = ReserveRequest(
            intent: OrderIntent(clientOrderId: "g", symbol: "BTCUSDT", side: .buy, qtyUsd: 100, confidence: 0.9),
            mode: .paper
        )
        #expect(throws: WireError.self) { _ = try other.reserve(growing, now: 0) }
    }

    @Test("nothing to close on the order's side, or another order of the symbol pending: 409")
    func refusals() throws {
        var engine = try bought()
        do {
            _ = try engine.reserve(close("wrong-side", side: .buy), now: 0)
            Issue.record("a buy cannot close a long")
        } catch {
            #expect(error.code == "nothing_to_close" && error.status == 409)
        }
        _ = try engine.reserve(
            ReserveRequest(intent: OrderIntent(clientOrderId: "p", symbol: "BTCUSDT", side: .sell, qtyUsd: 100, confidence: 0.9), mode: .paper),
            now: 0
        )
        do {
            _ = try engine.reserve(close("while-pending"), now: 0)
            Issue.record("a close while an order is pending")
        } catch {
            #expect(error.code == "order_pending" && error.status == 409)
        }
    }
}
