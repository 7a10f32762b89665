import Foundation
import Testing

/// Features once per candle against the real stack: the gateway publishes each symbol's candles
/// on the market channel, every feature worker keeps its features from them, and a consensus
/// on `{"symbol"}` answers exactly what the same candles sent with the request give.
@Suite("market channel against the real stack", .serialized)
struct MarketChannelTests {
    static func features(_ answer: Stack.Answer) -> [String: Double] {
        (answer.json["features"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Double }
    }

    @Test(
        "consensus from the held candles equals consensus with those candles given, on a replica that joined later too, and follows each new candle"
    )
    func featuresFollowTheCandles() async throws {
        let stack = try Stack()
        try await stack.startAll()
        #expect(try await stack.feedCandles(count: 60).status == 200)
        let candles = try JSONSerialization.data(withJSONObject: Array(try Stack.sharedCandles().prefix(61)))

        @Sendable func fromHeld() async throws -> Stack.Answer { try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT"}"#) }
        @Sendable func fromGiven(_ count: Int) async throws -> Stack.Answer {
            let all = try JSONSerialization.jsonObject(with: candles) as? [[String: Any]] ?? []
            return try await stack.post("/api/ai/consensus", json: ["symbol": "BTCUSDT", "candles": Array(all.prefix(count))])
        }
        let held = try await fromHeld()
        #expect(held.status == 200, "\(held.text)")
        #expect(held.json["featureSource"] as? String == "candles")
        let given = try await fromGiven(60)
        #expect(given.status == 200, "\(given.text)")
        #expect(Self.features(held) == Self.features(given))
        #expect(Self.features(held).count == 3)

        // A replica that starts after the candles hears them when it subscribes; the first one
        // goes. Asked with one feature given (so that the gateway cannot answer from what it
        // kept), the replica computes the other two from the candles it heard.
        try stack.start("feature-worker#2")
        try await Task.sleep(for: .milliseconds(800))
        stack.kill("feature-worker")
        @Sendable func partly() async throws -> Stack.Answer {
            try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0}}"#)
        }
        try await waitUntil("the late replica answers") { try await partly().status == 200 }
        let mixed = Self.features(try await partly())
        #expect(mixed["rv_5"] == Self.features(given)["rv_5"] && mixed["rsi_14"] == Self.features(given)["rsi_14"], "\(mixed)")

        // Features once per candle: with no feature worker left, a consensus on the same candle
        // is still answered, from the features computed for it; a new candle needs a worker.
        stack.kill("feature-worker#2")
        try await waitUntil("no feature worker is live") { (try await stack.get("/health").json["workers"] as? [String: Int])?["feature"] == nil }
        let kept = try await fromHeld()
        #expect(kept.status == 200, "\(kept.text)")
        #expect(Self.features(kept) == Self.features(given))
        #expect(try await stack.feedCandles(count: 1, from: 60).status == 200)
        #expect(try await fromHeld().status == 503)

        // A new candle moves the features at once, to what the batch over the new window says.
        try stack.start("feature-worker#3")
        try await waitUntil("a feature worker answers again") { try await fromHeld().status == 200 }
        let moved = try await fromHeld()
        #expect(moved.status == 200, "\(moved.text)")
        #expect(Self.features(moved) == Self.features(try await fromGiven(61)))
        #expect(Self.features(moved) != Self.features(given))
    }
}
