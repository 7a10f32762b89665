import Foundation
import Testing
import TradingWire

@testable import TradingDomain

/// The model artifacts read through `FastJSON` give exactly what `JSONDecoder` gives, and what
/// the fast reader does not take goes to `JSONDecoder`, which refuses it with an error.
@Suite("model artifacts read without JSONDecoder")
struct ArtifactReaderTests {
    static func shipped(_ name: String) throws -> Data {
        try Data(contentsOf: ArtifactTests.root.appendingPathComponent("deploy/models/\(name).json"))
    }

    @Test("the shipped XGBoost artifact: the fast reader's layout and model equal JSONDecoder's")
    func xgboostEqualsDecoder() throws {
        let data = try Self.shipped("xgb")
        let parsed = try #require(ArtifactJSON.parse(data))
        let fast = try #require(XGBoostModel.File(fastJSON: parsed))
        #expect(fast == (try JSONDecoder().decode(XGBoostModel.File.self, from: data)))
        let fastModel = try XGBoostModel.load(from: data, parsed: parsed)
        let decodedModel = try XGBoostModel.load(from: data, parsed: nil)
        #expect(fastModel == decodedModel)
        #expect(fastModel.trees.count == 80 && fastModel.features == ["mom_20", "rv_5", "rsi_14"])
        #expect(fastModel.baseMargin.bitPattern == decodedModel.baseMargin.bitPattern)
        #expect(try ModelArtifact.load(from: data) == .xgboost(decodedModel))
        // Every split condition bit for bit (== would let -0 and 0 pass).
        for (left, right) in zip(fastModel.trees, decodedModel.trees) {
            #expect(left.condition.map(\.bitPattern) == right.condition.map(\.bitPattern))
        }
    }

    @Test("the shipped logistic artifacts: the fast reader's model equals JSONDecoder's", arguments: ["logit", "rsi"])
    func logisticEqualsDecoder(_ name: String) throws {
        let data = try Self.shipped(name)
        let parsed = try #require(ArtifactJSON.parse(data))
        let fast = try #require(LogisticModel(fastJSON: parsed))
        let decoded = try JSONDecoder().decode(LogisticModel.self, from: data)
        #expect(fast == decoded)
        #expect(
            (fast.means + fast.scales + fast.weights + [fast.bias]).map(\.bitPattern)
                == (decoded.means + decoded.scales + decoded.weights + [decoded.bias]).map(\.bitPattern)
        )
        #expect(try ModelArtifact.load(from: data) == .logistic(decoded))
    }

    @Test("default_left as booleans reads as the 0/1 integers do")
    func booleanFlags() throws {
        let booleans = try #require(FastJSON.parse(Array(#"[true,false,true]"#.utf8)))
        let flags = try #require(XGBoostModel.Flags(fastJSON: booleans))
        #expect(flags.values == [true, false, true])
        #expect(flags == (try JSONDecoder().decode(XGBoostModel.Flags.self, from: Data("[true,false,true]".utf8))))
        let numbers = try #require(FastJSON.parse(Array("[1,0,2]".utf8)))
        let integers = try #require(XGBoostModel.Flags(fastJSON: numbers))
        #expect(integers.values == [true, false, true])
        #expect(integers == (try JSONDecoder().decode(XGBoostModel.Flags.self, from: Data("[1,0,2]".utf8))))
        for mixed in ["[true,0]", "[1.5]", "[null]"] {
            let parsed = try #require(FastJSON.parse(Array(mixed.utf8)))
            #expect(XGBoostModel.Flags(fastJSON: parsed) == nil, "\(mixed)")
            #expect(throws: (any Error).self) { try JSONDecoder().decode(XGBoostModel.Flags.self, from: Data(mixed.utf8)) }
        }
    }

    @Test("malformed artifacts: the fast reader declines, and loading throws ModelArtifactError, never crashes")
    func malformedRefused() throws {
        let data = try Self.shipped("xgb")
        let text = String(decoding: data, as: UTF8.self)
        let logistic = String(decoding: try Self.shipped("logit"), as: UTF8.self)
        let broken: [String] = [
            String(text.prefix(text.count / 2)),  // truncated
            text.replacingOccurrences(of: #""left_children":[1,"#, with: #""left_children":[1.5,"#),  // not an integer
            text.replacingOccurrences(of: #""left_children":[1,"#, with: #""left_children":[4294967296,"#),  // beyond Int32
            text.replacingOccurrences(of: #""split_indices":["#, with: #""split_indices":["x","#),  // a string among numbers
            text.replacingOccurrences(of: #""trees":["#, with: #""trees":[7,"#),  // a tree that is not an object
            text.replacingOccurrences(of: #""split_conditions":["#, with: #""split_conditions":[1e999,"#),  // not finite
            text.replacingOccurrences(of: #""feature_names":["#, with: #""feature_names":[1,"#),
            text.replacingOccurrences(of: #""tree_info":["#, with: #""tree_info":[true,"#),
            text.replacingOccurrences(of: #""base_score":""#, with: #""base_score":5,"ignored":""#),
            text.replacingOccurrences(of: #""mom_20""#, with: "\"mom_20\u{FFFD}\""),  // not ASCII
            text + "}",  // trailing bytes
            #"{"learner": {"objective": {"name": "binary:logistic"}}}"#,
            #"{"learner": []}"#,
            logistic.replacingOccurrences(of: #""bias": "#, with: #""bias": "x", "was": "#),
            logistic.replacingOccurrences(of: #""means": ["#, with: #""means": [null, "#),
            #"{"kind": "logistic"}"#,
            "",
            "{",
            "[1, 2]",
            "\u{FEFF}{}",
        ]
        for (index, artifact) in broken.enumerated() {
            let bytes = Data(artifact.utf8)
            if let parsed = ArtifactJSON.parse(bytes) {
                #expect(XGBoostModel.File(fastJSON: parsed) == nil, "case \(index)")
                #expect(LogisticModel(fastJSON: parsed) == nil, "case \(index)")
            }
            #expect(throws: ModelArtifactError.self, "case \(index)") { try ModelArtifact.load(from: bytes) }
        }
    }

    @Test("what the fast reader declines but JSONDecoder reads (an escape, a key twice, 1e0 for 1) loads through JSONDecoder, unchanged")
    func declinedButReadable() throws {
        let xgboost = String(decoding: try Self.shipped("xgb"), as: UTF8.self)
        let escaped = xgboost.replacingOccurrences(of: #""gradient_booster""#, with: #""gradient_\u0062ooster""#)
        #expect(escaped != xgboost && ArtifactJSON.parse(Data(escaped.utf8)) == nil)
        #expect(try ModelArtifact.load(from: Data(escaped.utf8)) == (try ModelArtifact.load(from: Self.shipped("xgb"))))
        // JSONDecoder takes an integral number written as a float for an integer; the fast reader leaves it to it.
        let float = xgboost.replacingOccurrences(of: #""left_children":[1,"#, with: #""left_children":[1e0,"#)
        let parsedFloat = try #require(ArtifactJSON.parse(Data(float.utf8)))
        #expect(float != xgboost && XGBoostModel.File(fastJSON: parsedFloat) == nil)
        #expect(try ModelArtifact.load(from: Data(float.utf8)) == (try ModelArtifact.load(from: Self.shipped("xgb"))))
        let logistic = String(decoding: try Self.shipped("logit"), as: UTF8.self)
        let twice = logistic.replacingOccurrences(of: #""kind": "logistic","#, with: #""kind": "logistic", "kind": "logistic","#)
        #expect(twice != logistic && ArtifactJSON.parse(Data(twice.utf8)) == nil)
        #expect(try ModelArtifact.load(from: Data(twice.utf8)) == (try ModelArtifact.load(from: Self.shipped("logit"))))
    }
}
