import Foundation
import Testing

/// The market-feed process against the Binance stand-in (`FakeBinanceMarket`) and a real
/// gateway and risk worker: candles held contiguous, once each and in order through every fault.
@Suite("market feed against the Binance stand-in", .serialized)
struct MarketFeedTests {
    /// A gateway and risk worker (the whole stack with `full`), and the stand-in.
    static func stack(_ market: FakeBinanceMarket, full: Bool = false, _ overrides: [String: String] = [:]) async throws -> Stack {
        let stack = try Stack(overrides)
        if full {
            try await stack.startAll()
        } else {
            try stack.start("gateway")
            try stack.start("risk-worker")
            try await waitUntil("the risk worker is known") {
                (try await stack.get("/health").json["risk"] as? [String: Any])?["known"] as? Bool == true
            }
        }
        return stack
    }

    static func feedEnvironment(_ stack: Stack, _ market: FakeBinanceMarket, health: Int, name: String = "market-feed") -> [String: String] {
        [
            "MARKET_SOURCE": "binance", "MARKET_SYMBOLS": market.symbols.joined(separator: ","), "MARKET_INTERVAL": "1s",
            "BINANCE_MARKET_WS_URL": market.wsURL, "BINANCE_MARKET_REST_URL": market.restURL,
            "GATEWAY_URL": "http://127.0.0.1:\(stack.httpPort)", "MARKET_BACKFILL": "30", "MARKET_SILENCE_MS": "2500",
            "HEALTH_PORT": "\(health)", "MARKET_FEED_NAME": name,
        ]
    }

    /// The gateway's candles for `symbol`, oldest first.
    static func held(_ stack: Stack, _ symbol: String) async throws -> [[String: Any]] {
        try await stack.get("/api/market/candles?symbol=\(symbol)").json["candles"] as? [[String: Any]] ?? []
    }

    /// Every held candle is the stand-in's, one interval after the one before.
    static func expectContiguous(
        _ candles: [[String: Any]],
        _ symbol: String,
        _ market: FakeBinanceMarket,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let times = candles.compactMap { $0["openTime"] as? Int64 ?? ($0["openTime"] as? Int).map(Int64.init) }
        #expect(times.count == candles.count, sourceLocation: sourceLocation)
        for (previous, next) in zip(times, times.dropFirst()) where next - previous != 1_000 {
            Issue.record("\(symbol): \(previous) then \(next): not one interval apart", sourceLocation: sourceLocation)
        }
        for (candle, time) in zip(candles, times) {
            let expected = market.candle(symbol, time)
            if abs((candle["close"] as? Double ?? 0) - expected.close) > 1e-9 || abs((candle["volume"] as? Double ?? -1) - expected.volume) > 1e-9 {
                Issue.record("\(symbol) \(time): \(candle) is not the stand-in's \(expected)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The stand-in, a stack, and one feed whose window is backfilled; the caller stops the stand-in.
    static func running(
        _ symbols: [String],
        full: Bool = false,
        _ overrides: [String: String] = [:],
        feed: [String: String] = [:]
    ) async throws -> (market: FakeBinanceMarket, stack: Stack, health: Int) {
        let market = FakeBinanceMarket(symbols: symbols)
        try await market.start()
        let stack = try await Self.stack(market, full: full, overrides)
        let health = freePort()
        try stack.start("market-feed", Self.feedEnvironment(stack, market, health: health).merging(feed) { $1 })
        try await waitUntil("the window is backfilled", timeout: .seconds(20)) { try await Self.held(stack, symbols[symbols.count - 1]).count >= 30 }
        return (market, stack, health)
    }

    static func feedHealth(_ stack: Stack, _ port: Int) async throws -> [String: Any] {
        try await stack.get("/health", port: port).json
    }

    @Test(
        "gaps (skipped candles, dropped connections, a serverShutdown) are backfilled; repeats, reorders, unclosed klines never double a candle"
    )
    func gapsBackfilledNeverDoubled() async throws {
        let (market, stack, health) = try await Self.running(["BTCUSDT", "ETHUSDT"])
        defer { market.stop() }

        market.faults { $0.skip = 3 }
        try await Task.sleep(for: .seconds(5))
        market.faults { $0.repeatKlines = true }
        try await Task.sleep(for: .seconds(3))
        market.faults {
            $0.repeatKlines = false
            $0.reorder = true
        }
        try await Task.sleep(for: .seconds(4))
        market.faults {
            $0.reorder = false
            $0.drop = true
        }
        try await waitUntil("the feed reconnected", timeout: .seconds(20)) { market.connections >= 2 }
        market.faults { $0.serverShutdown = true }
        try await waitUntil("the feed connected anew on serverShutdown", timeout: .seconds(20)) { market.connections >= 3 }
        try await Task.sleep(for: .seconds(4))
        let healthNow = try await Self.feedHealth(stack, health)["feed"] as? [String: Any] ?? [:]
        #expect((healthNow["gapCandles"] as? Int ?? 0) >= 3, "\(healthNow)")
        #expect((healthNow["reconnects"] as? Int ?? 0) >= 1, "\(healthNow)")
        for symbol in market.symbols {
            let candles = try await Self.held(stack, symbol)
            #expect(candles.count >= 45, "\(symbol): \(candles.count)")
            Self.expectContiguous(candles, symbol, market)
        }
        let status = try await stack.get("/api/market/status").json["symbols"] as? [[String: Any]] ?? []
        #expect(status.count == 2)
        #expect(status.allSatisfy { $0["source"] as? String == "market-feed" && ($0["ageMs"] as? Int ?? .max) < 5_000 }, "\(status)")
        #expect(status.allSatisfy { ($0["bid"] as? Double ?? 0) > 0 && ($0["ask"] as? Double ?? 0) >= ($0["bid"] as? Double ?? 0) }, "\(status)")
        try await waitUntil("the feed reported its reconnect") {
            let feeds = try await stack.get("/api/market/status").json["feeds"] as? [[String: Any]] ?? []
            return feeds.count == 1 && feeds[0]["feed"] as? String == "market-feed" && feeds[0]["connected"] as? Int == 1
                && (feeds[0]["reconnects"] as? Int ?? 0) >= 1 && (feeds[0]["gapCandles"] as? Int ?? 0) >= 3
        }
        let metrics = try await stack.get("/metrics").text
        #expect(metrics.contains("market_data_age_seconds{symbol=\"BTCUSDT\"}"))
        let feedMetrics = try await stack.get("/metrics", port: health).text
        #expect(feedMetrics.contains("market_reconnects_total") && feedMetrics.contains("market_gap_candles_total"))
    }

    @Test("two feeds at once: the gateway keeps the first copy of each candle and refuses the second, so each candle is held once")
    func twoFeedsOneCopy() async throws {
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        let stack = try await Self.stack(market)
        try stack.start("market-feed", Self.feedEnvironment(stack, market, health: freePort(), name: "feed-a"))
        try stack.start("market-feed#2", Self.feedEnvironment(stack, market, health: freePort(), name: "feed-b"))
        try await waitUntil("the window is backfilled", timeout: .seconds(20)) { try await Self.held(stack, "BTCUSDT").count >= 30 }
        try await Task.sleep(for: .seconds(6))
        // A rolling restart: one goes, comes back (backfilling what the other already gave), the other goes.
        stack.kill("market-feed", signal: SIGTERM)
        try await Task.sleep(for: .seconds(2))
        try stack.start("market-feed", Self.feedEnvironment(stack, market, health: freePort(), name: "feed-a"))
        try await Task.sleep(for: .seconds(3))
        stack.kill("market-feed#2", signal: SIGTERM)
        try await Task.sleep(for: .seconds(3))
        let candles = try await Self.held(stack, "BTCUSDT")
        #expect(candles.count >= 40, "\(candles.count)")
        Self.expectContiguous(candles, "BTCUSDT", market)
        let newest = candles.last?["openTime"] as? Int64 ?? 0
        #expect(FakeBinanceMarket.now() - newest < 3_000, "the newest held candle is \(FakeBinanceMarket.now() - newest) ms old")
        #expect(!stack.log("market-feed").contains("\"ERROR\""))
        let feeds = try await stack.get("/api/market/status").json["feeds"] as? [[String: Any]] ?? []
        #expect(Set(feeds.compactMap { $0["feed"] as? String }) == ["feed-a", "feed-b"], "\(feeds)")
    }

    @Test(
        "hostile frames (NaN, text prices, negative volume, future open time, unsubscribed symbol, 10 MB) are refused and counted, never a candle"
    )
    func malformedFramesSkipped() async throws {
        let (market, stack, health) = try await Self.running(["BTCUSDT"])
        defer { market.stop() }
        market.faults { $0.malformed = true }
        try await Task.sleep(for: .seconds(6))
        let candles = try await Self.held(stack, "BTCUSDT")
        Self.expectContiguous(candles, "BTCUSDT", market)
        #expect((candles.last?["openTime"] as? Int64 ?? .max) <= FakeBinanceMarket.now(), "no future candle")
        let feed = try await Self.feedHealth(stack, health)["feed"] as? [String: Any] ?? [:]
        #expect((feed["refusedFrames"] as? Int ?? 0) >= 7, "\(feed)")
        let metrics = try await stack.get("/metrics", port: health).text
        for reason in ["malformed", "bad_number", "future_open_time", "unsubscribed_symbol"] {
            #expect(metrics.contains("market_refused_frames_total{reason=\"\(reason)\"}"), "\(reason)")
        }
        #expect(stack.log("market-feed").contains("market frame refused"))
        // The 10 MB frame closed the connection (the WebSocket library refuses it): made anew.
        #expect(market.connections >= 2)
        #expect(try await stack.get("/health", port: health).status == 200)
    }

    @Test(
        "the stale guard trips on silence (consensus and execute 409 stale_market_data naming the age) and clears by itself on recovery"
    )
    func staleGuardTripsAndClears() async throws {
        let (market, stack, _) = try await Self.running(["BTCUSDT"], full: true, ["MAX_CANDLE_AGE": "3"], feed: ["MARKET_SILENCE_MS": "600000"])
        defer { market.stop() }
        @Sendable func status() async throws -> [String: Any] {
            (try await stack.get("/api/market/status").json["symbols"] as? [[String: Any]])?.first ?? [:]
        }
        @Sendable func execute() async throws -> Stack.Answer {
            try await stack.post(
                "/api/trade/execute",
                json: ["symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "stale-\(UUID().uuidString.prefix(8))"]
            )
        }
        #expect(try await status()["stale"] as? Bool == false)
        market.faults { $0.silent = true }
        try await waitUntil("the symbol is stale", timeout: .seconds(10)) { try await status()["stale"] as? Bool == true }
        let refused = try await execute()
        #expect(refused.status == 409, "\(refused.text)")
        #expect(refused.json["error"] as? String == "stale_market_data")
        #expect((refused.json["detail"] as? String ?? "").contains("s ago"), "\(refused.text)")
        let consensus = try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT"}"#)
        #expect(consensus.status == 409 && consensus.json["error"] as? String == "stale_market_data", "\(consensus.text)")
        market.faults { $0.silent = false }
        try await waitUntil("the symbol is fresh again", timeout: .seconds(10)) { try await status()["stale"] as? Bool == false }
        let answer = try await execute()
        #expect(answer.json["error"] as? String != "stale_market_data", "\(answer.text)")
        Self.expectContiguous(try await Self.held(stack, "BTCUSDT"), "BTCUSDT", market)
    }

    @Test("MARKET_FEED_TOKEN posts candles and feed reports, and nothing else: halt, execute and reset refuse it 401")
    func feedTokenMayOnlyPostCandles() async throws {
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        let stack = try Stack(["API_TOKEN": "operator-token-1", "MARKET_FEED_TOKEN": "feed-token-1"])
        stack.token = "operator-token-1"
        try stack.start("gateway")
        try stack.start("risk-worker")
        try await waitUntil("the risk worker is known") {
            (try await stack.get("/health").json["risk"] as? [String: Any])?["known"] as? Bool == true
        }
        let health = freePort()
        // The feed holds only its own token (an empty API_TOKEN counts as unset).
        let feed = Self.feedEnvironment(stack, market, health: health).merging(["MARKET_FEED_TOKEN": "feed-token-1", "API_TOKEN": ""]) { $1 }
        try stack.start("market-feed", feed)
        try await waitUntil("the window is backfilled", timeout: .seconds(20)) { try await Self.held(stack, "BTCUSDT").count >= 30 }
        try await waitUntil("the feed's report arrived") {
            (try await stack.get("/api/market/status").json["feeds"] as? [[String: Any]])?.count == 1
        }
        stack.token = "feed-token-1"
        for (path, body) in [
            ("/api/halt", #"{"reason": "feed token"}"#), ("/api/risk/reset", #"{"reason": "feed token"}"#),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9}"#),
        ] {
            let answer = try await stack.post(path, body)
            #expect(answer.status == 401 && answer.json["error"] as? String == "unauthorized", "\(path): \(answer.text)")
        }
        stack.token = nil
        let anonymous = try await stack.post("/api/market/candles", #"{"symbol": "BTCUSDT", "candles": []}"#)
        #expect(anonymous.status == 401, "\(anonymous.text)")
    }

    @Test("live start-up without a market feed is refused: MARKET_SOURCE unset or replay; none starts with a WARN")
    func liveWithoutFeedRefused() throws {
        let stack = try Stack()
        let unset = try stack.runOnce("market-feed", ["TRADING_MODE": "live"], timeoutSeconds: 10)
        #expect(unset.status != 0)
        #expect(unset.output.contains("MARKET_SOURCE"), "\(unset.output)")
        let replay = try stack.runOnce("market-feed", ["TRADING_MODE": "live", "MARKET_SOURCE": "replay", "FEED_FILE": "x.csv"], timeoutSeconds: 10)
        #expect(replay.status != 0)
        #expect(replay.output.contains("binance in live"), "\(replay.output)")
        let none = try stack.runOnce("market-feed", ["TRADING_MODE": "live", "MARKET_SOURCE": "none", "HEALTH_PORT": "0"], timeoutSeconds: 2)
        #expect(none.output.contains("MARKET_SOURCE=none"), "\(none.output)")
        #expect(none.output.contains("\"WARN\""), "\(none.output)")
        let badInterval = try stack.runOnce("market-feed", ["MARKET_SOURCE": "binance", "MARKET_INTERVAL": "2m"], timeoutSeconds: 10)
        #expect(badInterval.status != 0 && badInterval.output.contains("MARKET_INTERVAL"), "\(badInterval.output)")
    }
}
