import Foundation
import Testing
import TradingDomain
import TradingWire

/// The shipped artifacts against the training libraries' own predictions, and the indicators
/// against TA-Lib, from fixtures that `scripts/train_models.py` wrote.
@Suite("shipped models and reference values")
struct ArtifactTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func artifact(_ name: String) throws -> ModelArtifact {
        try ModelArtifact.load(from: Data(contentsOf: root.appendingPathComponent("deploy/models/\(name).json")))
    }

    static func fixture(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/\(name).json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("each artifact predicts what its training library predicted, to 1e-6", arguments: ["logit", "xgb", "rsi"])
    func predictionsMatch(model name: String) throws {
        let model = try Self.artifact(name)
        let cases = try #require(try Self.fixture("model_reference")["cases"] as? [[String: Any]])
        #expect(cases.count >= 30)
        var worst = 0.0
        for entry in cases {
            let features = try #require(entry["features"] as? [String: Double])
            let vector = FeatureVector(
                mom20: try #require(features["mom_20"]),
                rv5: try #require(features["rv_5"]),
                rsi14: try #require(features["rsi_14"])
            )
            let expected = try #require(entry[name] as? Double)
            worst = max(worst, abs(model.probabilityUp(vector) - expected))
        }
        #expect(worst < 1e-6, "largest difference \(worst)")
    }

    @Test("the XGBoost model is bit-exact with XGBoost's own predictions")
    func xgboostBitExact() throws {
        let model = try Self.artifact("xgb")
        let cases = try #require(try Self.fixture("model_reference")["cases"] as? [[String: Any]])
        for entry in cases {
            let features = try #require(entry["features"] as? [String: Double])
            let vector = FeatureVector(mom20: features["mom_20"] ?? .nan, rv5: features["rv_5"] ?? .nan, rsi14: features["rsi_14"] ?? .nan)
            let expected = try #require(entry["xgb"] as? Double)
            #expect(Float(model.probabilityUp(vector)) == Float(expected), "\(entry["name"] ?? "")")
        }
    }

    @Test("the artifacts are of the kinds they claim")
    func kinds() throws {
        #expect(try Self.artifact("logit").kind == "logistic")
        #expect(try Self.artifact("rsi").kind == "logistic")
        #expect(try Self.artifact("xgb").kind == "xgboost")
    }

    @Test("broken XGBoost models are refused with the reason")
    func brokenXGBoost() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/models/xgb.json"), encoding: .utf8)
        let wrongObjective = text.replacingOccurrences(of: "binary:logistic", with: "reg:squarederror")
        #expect(throws: ModelArtifactError.self) { try ModelArtifact.load(from: Data(wrongObjective.utf8)) }
        let wrongFeature = text.replacingOccurrences(of: "\"rv_5\"", with: "\"volume\"")
        #expect(throws: ModelArtifactError.featureMismatch(["mom_20", "volume", "rsi_14"])) { try ModelArtifact.load(from: Data(wrongFeature.utf8)) }
        #expect(throws: ModelArtifactError.self) { try ModelArtifact.load(from: Data(#"{"learner": {}}"#.utf8)) }
        #expect(throws: ModelArtifactError.self) { try ModelArtifact.load(from: Data("[1, 2]".utf8)) }
        #expect(throws: ModelArtifactError.wrongKind("forest")) { try ModelArtifact.load(from: Data(#"{"kind": "forest"}"#.utf8)) }
    }

    @Test("indicators match TA-Lib and numpy on the first 200 real candles of each file")
    func indicatorsMatchReference() throws {
        let files = try #require(try Self.fixture("indicator_reference")["files"] as? [[String: Any]])
        #expect(files.count == 2)
        for file in files {
            let name = try #require(file["file"] as? String)
            let closes = try sharedCloses(name, count: try #require(file["count"] as? Int))
            #expect(abs(try #require(Indicators.rsi(closes)) - (try #require(file["rsi_14"] as? Double))) < 1e-9, "\(name) rsi_14")
            #expect(abs(try #require(Indicators.momentum(closes)) - (try #require(file["mom_20"] as? Double))) < 1e-9, "\(name) mom_20")
            #expect(abs(try #require(Indicators.realizedVolatility(closes)) - (try #require(file["rv_5"] as? Double))) < 1e-9, "\(name) rv_5")
        }
    }
}
