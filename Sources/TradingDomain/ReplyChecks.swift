import Foundation
import TradingWire

/// Checks of what a worker answered against what it was asked. A worker is another process:
/// its answer is trusted only once it fits the request.
public enum ReplyChecks {
    /// Why the risk worker's reservation is not the order that was asked for, or nil if it is.
    /// A duplicate echoes the order first recorded under the id, so only the id is compared then.
    public static func reservationMismatch(_ reserved: Order, duplicate: Bool, asked intent: OrderIntent) -> String? {
        let echoed = reserved.intent
        if echoed.clientOrderId != intent.clientOrderId {
            return "the risk worker answered for order \(echoed.clientOrderId.prefix(64)), not \(intent.clientOrderId)"
        }
        guard !duplicate else { return nil }
        var differences: [String] = []
        if echoed.symbol != intent.symbol { differences.append("symbol \(echoed.symbol.prefix(32)) ≠ \(intent.symbol)") }
        if echoed.side != intent.side { differences.append("side \(echoed.side.rawValue) ≠ \(intent.side.rawValue)") }
        if echoed.qtyUsd != intent.qtyUsd { differences.append("notional \(echoed.qtyUsd) ≠ \(intent.qtyUsd)") }
        return differences.isEmpty ? nil : "the risk worker reserved another order: " + differences.joined(separator: ", ")
    }

    /// Why `fill` cannot be the execution of `order`, or nil if it can: every amount positive,
    /// quantity × price equal to the notional, the notional no more than was asked, and a paper
    /// price within the slippage of the mark it was reserved at. The bounds are the order's
    /// slippage and fee (at least 10 bps), plus the rounding of an 8-place quantity.
    public static func fillProblem(_ fill: Fill, for order: Order) -> String? {
        let amounts: [(String, Decimal)] = [("price", fill.price), ("quantity", fill.quantity), ("notional", fill.notional)]
        for (name, value) in amounts where value.isNaN || value <= 0 {
            return "the fill's \(name) \(value) is not positive"
        }
        if fill.fee.isNaN || fill.fee < 0 { return "the fill's fee \(fill.fee) is negative" }
        let terms = order.terms
        let boundBps = max((terms?.slippageBps ?? 0) + (terms?.feeBps ?? 0), 10)
        let bound = boundBps * .basisPoint
        let rounding = fill.price * Decimal(sign: .plus, exponent: -8, significand: 1) + Decimal(sign: .plus, exponent: -8, significand: 1)
        let product = fill.quantity * fill.price
        if abs(product - fill.notional) > fill.notional * bound + rounding {
            return "quantity × price (\(fill.quantity) × \(fill.price) = \(product.rounded(scale: 8))) does not match the notional \(fill.notional)"
        }
        if fill.notional > order.intent.qtyUsd * (1 + bound) + rounding {
            return "the fill's notional \(fill.notional) exceeds the order's \(order.intent.qtyUsd) beyond slippage and fees"
        }
        if order.mode == .paper, let terms, terms.markPrice > 0 {
            let slip = terms.markPrice * (terms.slippageBps + 1) * .basisPoint
            if abs(fill.price - terms.markPrice) > slip + rounding {
                return "the paper fill price \(fill.price) is beyond the slippage from the mark \(terms.markPrice)"
            }
        }
        return nil
    }

    /// Why a bundle's answer cannot count, or nil if it can: exactly one vote per model id
    /// asked, in the order asked, each one that `voteProblem` accepts.
    public static func bundleProblem(_ votes: [ModelVote], askedModelIDs: [String]) -> String? {
        guard votes.count == askedModelIDs.count else {
            return "the bundle answered \(votes.count) votes for \(askedModelIDs.count) model ids asked"
        }
        for (vote, asked) in zip(votes, askedModelIDs) {
            if let problem = voteProblem(vote, askedModelID: asked) { return problem }
        }
        return nil
    }

    /// Why a model's vote cannot count, or nil if it can: it must come from the model asked and
    /// give a finite probability within [0, 1].
    public static func voteProblem(_ vote: ModelVote, askedModelID: String) -> String? {
        if vote.modelId != askedModelID { return "the vote names model \(vote.modelId.prefix(64)), not \(askedModelID)" }
        guard vote.probabilityUp.isFinite, (0...1).contains(vote.probabilityUp) else {
            return "the vote's probability \(vote.probabilityUp) is not within [0, 1]"
        }
        return nil
    }
}
