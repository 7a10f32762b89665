import TradingWire

/// How votes become a decision.
public struct ConsensusPolicy: Sendable, Equatable {
    /// Least number of votes for a decision.
    public var quorum: Int
    /// Least share of votes that must agree with the combined side, 0...1.
    public var minAgreement: Double
    /// Weight per model id; a model id not listed weighs 1.
    public var weights: [String: Double]

    public init(quorum: Int = 1, minAgreement: Double = 0.5, weights: [String: Double] = [:]) {
        self.quorum = quorum
        self.minAgreement = minAgreement
        self.weights = weights
    }
}

/// The combined signal of the votes, before the risk gate.
public struct ConsensusSignal: Sendable, Equatable {
    /// Weighted mean probability of up.
    public var probabilityUp: Double
    /// Probability of the chosen side, 0.5...1 (0 without votes).
    public var confidence: Double
    public var side: Side
    /// Share of votes on the chosen side.
    public var agreement: Double
    /// Why the signal alone does not allow trading (empty when it does).
    public var blockers: [String]
}

extension ConsensusPolicy {
    /// Combines votes: weighted mean probability of up, the side it points to, how many agree.
    public func combine(_ votes: [ModelVote]) -> ConsensusSignal {
        guard !votes.isEmpty else {
            return ConsensusSignal(probabilityUp: 0.5, confidence: 0, side: .buy, agreement: 0, blockers: ["no model votes"])
        }
        var weighted = 0.0
        var total = 0.0
        for vote in votes {
            let weight = max(weights[vote.modelId] ?? 1, 0)
            weighted += weight * vote.probabilityUp
            total += weight
        }
        let probabilityUp = total > 0 ? weighted / total : 0.5
        let side: Side = probabilityUp >= 0.5 ? .buy : .sell
        let agreeing = votes.filter { ($0.probabilityUp >= 0.5) == (side == .buy) }.count
        let agreement = Double(agreeing) / Double(votes.count)
        var blockers: [String] = []
        if votes.count < quorum { blockers.append("only \(votes.count) of the \(quorum) votes needed for quorum") }
        if agreement < minAgreement {
            blockers.append("agreement \(agreement) is below \(minAgreement)")
        }
        return ConsensusSignal(
            probabilityUp: probabilityUp,
            confidence: max(probabilityUp, 1 - probabilityUp),
            side: side,
            agreement: agreement,
            blockers: blockers
        )
    }
}
