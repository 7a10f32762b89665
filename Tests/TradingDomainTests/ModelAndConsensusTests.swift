import Foundation
import Testing
import TradingDomain
import TradingWire

@Suite("logistic model")
struct LogisticModelTests {
    let model = LogisticModel(
        version: "t1",
        features: ["mom_20", "rv_5", "rsi_14"],
        means: [0, 1, 50],
        scales: [2, 1, 10],
        weights: [0.5, -1, 0.2],
        bias: 0.1
    )

    @Test("probability is the logistic of the standardised linear score")
    func probability() {
        let features = FeatureVector(mom20: 2, rv5: 0.5, rsi14: 60)
        let terms: [Double] = [0.1, 0.5 * (2.0 - 0.0) / 2.0, -1.0 * (0.5 - 1.0) / 1.0, 0.2 * (60.0 - 50.0) / 10.0]
        let z = terms.reduce(0, +)
        let expected = 1.0 / (1.0 + exp(-z))
        #expect(abs(model.probabilityUp(features) - expected) < 1e-12)
    }

    @Test("artifacts that cannot serve are refused")
    func badArtifacts() throws {
        #expect(throws: ModelArtifactError.self) { try LogisticModel.load(from: Data("not json".utf8)) }
        var wrongKind = model
        wrongKind.kind = "tree"
        #expect(throws: ModelArtifactError.wrongKind("tree")) { try LogisticModel.load(from: JSONEncoder().encode(wrongKind)) }
        var unknownFeature = model
        unknownFeature.features = ["mom_20", "rv_5", "volume"]
        #expect(throws: ModelArtifactError.self) { try LogisticModel.load(from: JSONEncoder().encode(unknownFeature)) }
        var short = model
        short.weights = [1]
        #expect(throws: ModelArtifactError.self) { try LogisticModel.load(from: JSONEncoder().encode(short)) }
        var zeroScale = model
        zeroScale.scales = [0, 1, 1]
        #expect(throws: ModelArtifactError.self) { try LogisticModel.load(from: JSONEncoder().encode(zeroScale)) }
    }

    @Test("the shipped artifact loads and its confidence varies with the input")
    func shippedArtifact() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try LogisticModel.load(from: Data(contentsOf: root.appendingPathComponent("deploy/models/logit.json")))
        let low = shipped.probabilityUp(FeatureVector(mom20: -2, rv5: 0.5, rsi14: 30))
        let high = shipped.probabilityUp(FeatureVector(mom20: 2, rv5: 0.5, rsi14: 70))
        #expect(low != high)
        #expect((0...1).contains(low) && (0...1).contains(high))
    }
}

@Suite("consensus")
struct ConsensusTests {
    func vote(_ id: String, _ p: Double) -> ModelVote { ModelVote(modelId: id, version: "v", probabilityUp: p) }

    @Test("weighted mean, side, agreement")
    func combine() {
        let policy = ConsensusPolicy(quorum: 2, minAgreement: 0.6, weights: ["a": 3])
        let signal = policy.combine([vote("a", 0.8), vote("b", 0.4)])
        #expect(abs(signal.probabilityUp - (3 * 0.8 + 0.4) / 4) < 1e-12)
        #expect(signal.side == .buy)
        #expect(abs(signal.confidence - 0.7) < 1e-12)
        #expect(signal.agreement == 0.5)
        #expect(signal.blockers.count == 1)  // agreement 0.5 < 0.6
    }

    @Test("below quorum blocks; no votes block")
    func quorum() {
        let policy = ConsensusPolicy(quorum: 3)
        #expect(!policy.combine([vote("a", 0.9), vote("b", 0.9)]).blockers.isEmpty)
        #expect(policy.combine([]).blockers == ["no model votes"])
        #expect(ConsensusPolicy(quorum: 2).combine([vote("a", 0.9), vote("b", 0.9)]).blockers.isEmpty)
    }

    @Test("a sell signal's confidence is the probability of down")
    func sell() {
        let signal = ConsensusPolicy().combine([vote("a", 0.2)])
        #expect(signal.side == .sell)
        #expect(abs(signal.confidence - 0.8) < 1e-12)
    }
}
