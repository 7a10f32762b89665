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

    @Test("consensus from the held candles equals consensus with those candles given, on a replica that joined later too, and follows each new candle")
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

        // A replica that starts after the candles hears them when it subscribes; the first one goes.
        try stack.start("feature-worker#2")
        try await Task.sleep(for: .milliseconds(800))
        stack.kill("feature-worker")
        try await waitUntil("the late replica answers") { try await fromHeld().status == 200 }
        #expect(Self.features(try await fromHeld()) == Self.features(given))

        // A new candle moves the features at once, to what the batch over the new window says.
        #expect(try await stack.feedCandles(count: 1, from: 60).status == 200)
        let moved = try await fromHeld()
        #expect(moved.status == 200, "\(moved.text)")
        #expect(Self.features(moved) == Self.features(try await fromGiven(61)))
        #expect(Self.features(moved) != Self.features(given))
    }
}
