import Foundation
import Testing
import TradingDomain
import TradingWire

@Suite("replies checked against what was asked")
struct ReplyCheckTests {
    let intent = OrderIntent(clientOrderId: "o-1", symbol: "BTCUSDT", side: .buy, qtyUsd: 100, confidence: 0.9)
    var order: Order {
        Order(intent: intent, status: .pending, mode: .paper, createdAt: 0, terms: ExecutionTerms(markPrice: 50_000, slippageBps: 5, feeBps: 10))
    }

    @Test("a reservation must echo the id, symbol, side and notional asked for")
    func reservations() {
        #expect(ReplyChecks.reservationMismatch(order, duplicate: false, asked: intent) == nil)
        var other = order
        other.intent.qtyUsd = 999_999_999
        #expect(ReplyChecks.reservationMismatch(other, duplicate: false, asked: intent)?.contains("notional") == true)
        other = order
        other.intent.clientOrderId = "someone-else"
        #expect(ReplyChecks.reservationMismatch(other, duplicate: true, asked: intent)?.contains("someone-else") == true)
        other = order
        other.intent.side = .sell
        #expect(ReplyChecks.reservationMismatch(other, duplicate: true, asked: intent) == nil, "a duplicate echoes the first order")
        #expect(ReplyChecks.reservationMismatch(other, duplicate: false, asked: intent) != nil)
    }

    @Test("the paper fill of an order passes; wrong quantities, signs and prices do not")
    func fills() {
        let fill = PaperFill.fill(side: .buy, notional: 100, markPrice: 50_000, slippageBps: 5, feeBps: 10, at: 0)
        #expect(ReplyChecks.fillProblem(fill, for: order) == nil)
        var wrong = fill
        wrong.quantity *= 1_000
        #expect(ReplyChecks.fillProblem(wrong, for: order) != nil)
        wrong = fill
        wrong.quantity = -fill.quantity
        #expect(ReplyChecks.fillProblem(wrong, for: order) != nil)
        wrong = fill
        wrong.price = 60_000
        wrong.quantity = (wrong.notional / wrong.price).rounded(scale: 8)
        #expect(ReplyChecks.fillProblem(wrong, for: order) != nil, "a paper price far from the mark")
        wrong = fill
        wrong.notional = 5_000
        wrong.quantity = (5_000 / fill.price).rounded(scale: 8)
        #expect(ReplyChecks.fillProblem(wrong, for: order) != nil, "more than was asked")
        wrong = fill
        wrong.fee = -1
        #expect(ReplyChecks.fillProblem(wrong, for: order) != nil)
    }

    @Test("a vote counts only from the model asked, with a probability in [0, 1]")
    func votes() {
        #expect(ReplyChecks.voteProblem(ModelVote(modelId: "xgb", version: "1", probabilityUp: 0.3), askedModelID: "xgb") == nil)
        #expect(ReplyChecks.voteProblem(ModelVote(modelId: "logit", version: "1", probabilityUp: 0.3), askedModelID: "xgb") != nil)
        for probability in [1.7, -0.1, .nan, .infinity] {
            #expect(ReplyChecks.voteProblem(ModelVote(modelId: "xgb", version: "1", probabilityUp: probability), askedModelID: "xgb") != nil)
        }
    }
}
