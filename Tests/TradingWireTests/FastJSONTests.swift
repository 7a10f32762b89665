import Foundation
import Testing
@testable import TradingWire

@Suite("fast JSON for the hot wire messages")
struct FastJSONTests {
    let features = FeatureVector(mom20: -3.125, rv5: 0.2, rsi14: 65)

    @Test("what the fast writer writes, Foundation reads back unchanged")
    func writerAgreesWithFoundation() throws {
        let predict = WireRequest(op: "predict", requestId: "r-1", payload: PredictRequest(features: features))
        let bytes = try #require(predict.fastJSON())
        let decoded = try JSONDecoder().decode(WireRequest<PredictRequest>.self, from: Data(bytes))
        #expect(decoded.payload.features == features && decoded.op == "predict" && decoded.requestId == "r-1" && decoded.v == 1)

        let featureRequest = WireRequest(
            op: "features", requestId: "q\"uo\\te\u{1}", payload: FeatureRequest(symbol: "BTCUSDT", features: ["mom_20": 1e-7, "rsi_14": 99.5], candles: nil))
        let decodedFeature = try JSONDecoder().decode(WireRequest<FeatureRequest>.self, from: Data(try #require(featureRequest.fastJSON())))
        #expect(decodedFeature.requestId == "q\"uo\\te\u{1}")
        #expect(decodedFeature.payload.features == ["mom_20": 1e-7, "rsi_14": 99.5])

        let vote = WireReply(result: ModelVote(modelId: "xgb", version: "v-ü", probabilityUp: 0.123456789012345))
        let decodedVote = try JSONDecoder().decode(WireReply<ModelVote>.self, from: Data(try #require(vote.fastJSON())))
        #expect(decodedVote.result == vote.result)

        let result = WireReply(result: FeatureResult(features: features, price: 0.0913, source: "mixed"))
        let decodedResult = try JSONDecoder().decode(WireReply<FeatureResult>.self, from: Data(try #require(result.fastJSON())))
        #expect(decodedResult.result?.features == features && decodedResult.result?.price == 0.0913)
    }

    @Test("what Foundation writes, the fast reader reads the same")
    func readerAgreesWithFoundation() throws {
        let vote = ModelVote(modelId: "logit", version: "eth-btc-5m-v1", probabilityUp: 0.61)
        let bytes = Array(try JSONEncoder().encode(WireReply(result: vote)))
        let parsed = try #require(FastJSON.parse(bytes))
        #expect(WireReply<ModelVote>.fromFastJSON(parsed)?.result == vote)
        let request = Array(try JSONEncoder().encode(WireRequest(op: "predict", requestId: "x", payload: PredictRequest(features: features))))
        #expect(WireRequest<PredictRequest>.fromFastJSON(try #require(FastJSON.parse(request)))?.payload.features == features)
    }

    @Test("malformed or unusual documents are declined, never half-read", arguments: [
        "{", "[1,", #"{"a":1,}"#, "01", "1.", ".5", "+1", "-", "1e", #"{"a":1 "b":2}"#, #"{"a":1,"a":2}"#, "nul", "[1] x",
        #""esc\"aped""#, "\"tab\t\"", "NaN", "1e999",
    ])
    func declines(text: String) {
        #expect(FastJSON.parse(Array(text.utf8)) == nil)
    }

    @Test("valid numbers parse as JSON defines them", arguments: [("0", 0.0), ("-0.5", -0.5), ("12e3", 12000.0), ("1E-2", 0.01), ("-10.25e+1", -102.5)])
    func numbers(text: String, expected: Double) {
        #expect(FastJSON.parse(Array(text.utf8)) == .number(expected))
    }

    @Test("the codec falls back to Foundation for everything the fast path declines")
    func fallback() throws {
        // An escaped string: the fast reader declines, Foundation reads it.
        let text = #"{"v":1,"result":{"modelId":"a\"b","version":"1","probabilityUp":0.5}}"#
        let reply = try WireCodec.decode(WireReply<ModelVote>.self, from: Array(text.utf8))
        #expect(reply.result?.modelId == "a\"b")
        // An error reply: Foundation reads it.
        let error = try WireCodec.decode(WireReply<ModelVote>.self, from: WireCodec.encode(WireReply<ModelVote>(error: .invalid("x"))))
        #expect(error.error?.code == "invalid_request")
        // A non-finite number cannot be written fast; Foundation refuses it.
        #expect(WireReply(result: ModelVote(modelId: "a", version: "1", probabilityUp: .nan)).fastJSON() == nil)
        #expect(throws: (any Error).self) { try WireCodec.encode(WireReply(result: ModelVote(modelId: "a", version: "1", probabilityUp: .infinity))) }
        // Candles go through Foundation in both directions.
        let candle = Candle(openTime: 1_515_560_100_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10)
        let withCandles = WireRequest(op: "features", requestId: "c", payload: FeatureRequest(symbol: "ETHBTC", features: nil, candles: [candle]))
        #expect(withCandles.fastJSON() == nil)
        let back = try WireCodec.decodeRequest(FeatureRequest.self, from: WireCodec.encode(withCandles))
        #expect(back.payload.candles == [candle])
    }
}
