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
    func fills() throws {
        let fill = try PaperFill.fill(side: .buy, notional: 100, markPrice: 50_000, slippageBps: 5, feeBps: 10, at: 0)
        #expect(ReplyChecks.fillProblem(fill, for: order) == nil)
        func make(price: Decimal? = nil, quantity: Decimal? = nil, notional: Decimal? = nil, fee: Decimal? = nil) throws -> Fill {
            try Fill(
                price: price ?? fill.price,
                quantity: quantity ?? fill.quantity,
                notional: notional ?? fill.notional,
                fee: fee ?? fill.fee,
                dryRun: true,
                filledAt: 0
            )
        }
        #expect(ReplyChecks.fillProblem(try make(quantity: fill.quantity * 1_000), for: order) != nil)
        #expect(
            ReplyChecks.fillProblem(try make(price: 60_000, quantity: (fill.notional / 60_000).rounded(scale: 8)), for: order) != nil,
            "a paper price far from the mark"
        )
        #expect(
            ReplyChecks.fillProblem(try make(quantity: (5_000 / fill.price).rounded(scale: 8), notional: 5_000), for: order) != nil,
            "more than was asked"
        )
        // Impossible fills cannot be made at all.
        #expect(throws: WireError.self) { try make(quantity: -fill.quantity) }
        #expect(throws: WireError.self) { try make(quantity: 0) }
        #expect(throws: WireError.self) { try make(price: 0) }
        #expect(throws: WireError.self) { try make(fee: -1) }
        #expect(throws: WireError.self) { try make(price: Decimal.nan) }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(
                Fill.self,
                from: Data(#"{"price": 1, "quantity": 0, "notional": 0, "fee": 0, "dryRun": true, "filledAt": 0}"#.utf8)
            )
        }
    }

    @Test("a vote counts only from the model asked, with a probability in [0, 1]")
    func votes() {
        #expect(ReplyChecks.voteProblem(ModelVote(modelId: "xgb", version: "1", probabilityUp: 0.3), askedModelID: "xgb") == nil)
        #expect(ReplyChecks.voteProblem(ModelVote(modelId: "logit", version: "1", probabilityUp: 0.3), askedModelID: "xgb") != nil)
        for probability in [1.7, -0.1, .nan, .infinity] {
            #expect(ReplyChecks.voteProblem(ModelVote(modelId: "xgb", version: "1", probabilityUp: probability), askedModelID: "xgb") != nil)
        }
    }

    @Test("a bundle's votes count only whole: one per model id asked, in the order asked")
    func bundleVotes() {
        func vote(_ id: String, _ probability: Double = 0.3) -> ModelVote { ModelVote(modelId: id, version: "1", probabilityUp: probability) }
        #expect(ReplyChecks.bundleProblem([vote("a"), vote("b")], askedModelIDs: ["a", "b"]) == nil)
        #expect(ReplyChecks.bundleProblem([vote("a")], askedModelIDs: ["a", "b"]) != nil)
        #expect(ReplyChecks.bundleProblem([vote("a"), vote("b"), vote("c")], askedModelIDs: ["a", "b"]) != nil)
        #expect(ReplyChecks.bundleProblem([vote("b"), vote("a")], askedModelIDs: ["a", "b"]) != nil)
        #expect(ReplyChecks.bundleProblem([vote("a"), vote("a")], askedModelIDs: ["a", "b"]) != nil)
        #expect(ReplyChecks.bundleProblem([vote("a"), vote("b", .nan)], askedModelIDs: ["a", "b"]) != nil)
        #expect(ReplyChecks.bundleProblem([], askedModelIDs: ["a"]) != nil)
    }
}
