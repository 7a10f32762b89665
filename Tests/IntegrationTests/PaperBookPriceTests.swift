import Foundation
import Testing

/// Paper fills at the book ticker: the real gateway, risk, execution and feature workers; the
/// best bid and ask reach the gateway as a market feed reports them (`POST /api/market/feeds`),
/// or from the real market-feed against the Binance stand-in.
@Suite("paper fills at the best bid and ask", .serialized)
struct PaperBookPriceTests {
    static let slippage = 0.001  // SLIPPAGE_BPS=10

    static func report(feed: String = "book-test", source: String = "binance", bid: Double, ask: Double, at: Int64) -> [String: Any] {
        [
            "feed": feed, "source": source, "connected": 1, "connections": 1, "reconnects": 0, "gapCandles": 0, "refusedFrames": 0,
            "messagesPerSecond": 1.0, "books": [["symbol": "BTCUSDT", "bid": bid, "ask": ask, "at": at]],
        ]
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    static func execute(_ stack: Stack, _ side: String, _ id: String) async throws -> (price: Double, source: String?, answer: Stack.Answer) {
        let answer = try await stack.post(
            "/api/trade/execute",
            json: ["symbol": "BTCUSDT", "side": side, "qtyUsd": 100, "confidence": 0.9, "clientOrderId": id]
        )
        let fill = answer.json["fill"] as? [String: Any] ?? [:]
        return ((fill["price"] as? Double) ?? .nan, fill["priceSource"] as? String, answer)
    }

    @Test(
        "a paper buy fills at ask × (1 + slippage) and a sell at bid × (1 − slippage) while the book is fresh, at the last close once it is stale or not Binance's; the fill, the order list and the ledger name the price"
    )
    func fillsAtTheBookWhileFresh() async throws {
        let stack = try Stack(["SLIPPAGE_BPS": "10", "BOOK_TICKER_MAX_AGE_MS": "2000"])
        try await stack.startAll()
        // Candles closing at 100, the newest a minute old.
        let newest = Self.now() / 60_000 * 60_000 - 60_000
        let candles = (0..<30).map { index -> [String: Any] in
            ["openTime": newest - Int64(29 - index) * 60_000, "open": 100.0, "high": 100.2, "low": 99.8, "close": 100.0, "volume": 1.0]
        }
        let posted = try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": candles])
        #expect(posted.status == 200, "\(posted.text)")

        // A book ten seconds old: stale, so the last close.
        #expect(try await stack.post("/api/market/feeds", json: Self.report(bid: 99.5, ask: 100.5, at: Self.now() - 10_000)).status == 200)
        let staleBuy = try await Self.execute(stack, "buy", "book-stale-1")
        #expect(staleBuy.answer.status == 200, "\(staleBuy.answer.text)")
        #expect(abs(staleBuy.price - 100 * (1 + Self.slippage)) < 1e-9 && staleBuy.source == "last_close", "\(staleBuy.answer.text)")

        // A fresh book: a buy at the ask, a sell at the bid, each moved by the slippage.
        #expect(try await stack.post("/api/market/feeds", json: Self.report(bid: 99.5, ask: 100.5, at: Self.now())).status == 200)
        let buy = try await Self.execute(stack, "buy", "book-fresh-buy")
        #expect(abs(buy.price - 100.5 * (1 + Self.slippage)) < 1e-9 && buy.source == "book_ask", "\(buy.answer.text)")
        #expect(try await stack.post("/api/market/feeds", json: Self.report(bid: 99.25, ask: 99.75, at: Self.now())).status == 200)
        let sell = try await Self.execute(stack, "sell", "book-fresh-sell")
        #expect(abs(sell.price - 99.25 * (1 - Self.slippage)) < 1e-9 && sell.source == "book_bid", "\(sell.answer.text)")

        // No newer report: once the book is older than BOOK_TICKER_MAX_AGE_MS, the close again.
        try await Task.sleep(for: .milliseconds(2_300))
        let aged = try await Self.execute(stack, "buy", "book-aged-1")
        #expect(abs(aged.price - 100 * (1 + Self.slippage)) < 1e-9 && aged.source == "last_close", "\(aged.answer.text)")

        // A replay feed's book (not Binance's) is shown but never a fill price.
        #expect(
            try await stack.post("/api/market/feeds", json: Self.report(feed: "replayer", source: "replay", bid: 90, ask: 91, at: Self.now())).status
                == 200
        )
        let replayed = try await Self.execute(stack, "buy", "book-replay-1")
        #expect(abs(replayed.price - 100 * (1 + Self.slippage)) < 1e-9 && replayed.source == "last_close", "\(replayed.answer.text)")

        // The order list: each order's fill and terms say where its price came from.
        let orders = try await stack.get("/api/orders?limit=10").json["orders"] as? [[String: Any]] ?? []
        var sources: [String: (fill: String?, terms: String?)] = [:]
        for order in orders {
            let id = (order["intent"] as? [String: Any])?["clientOrderId"] as? String ?? ""
            sources[id] = (
                (order["fill"] as? [String: Any])?["priceSource"] as? String, (order["terms"] as? [String: Any])?["priceSource"] as? String
            )
        }
        let expected = [
            "book-stale-1": "last_close", "book-fresh-buy": "book_ask", "book-fresh-sell": "book_bid", "book-aged-1": "last_close",
            "book-replay-1": "last_close",
        ]
        for (id, source) in expected {
            #expect(sources[id]?.fill == source && sources[id]?.terms == source, "\(id): \(String(describing: sources[id]))")
        }
        let one = try await stack.get("/api/orders/book-fresh-buy").json
        #expect(((one["terms"] as? [String: Any])?["bookAgeMs"] as? Int).map { $0 >= 0 && $0 <= 2_000 } == true, "\(one)")

        // The ledger's own column, written with each order.
        let ledger = stack.directory.appendingPathComponent("data/ledger.sqlite").path
        let rows = try runTool("sqlite3", [ledger, "SELECT client_order_id || '=' || price_source FROM orders ORDER BY client_order_id"])
        for (id, source) in expected { #expect(rows.output.contains("\(id)=\(source)"), "\(rows.output)") }
    }

    @Test("BOOK_TICKER_MAX_AGE_MS out of 0...60000 stops the gateway at start, naming the key")
    func maxAgeOutOfRangeRefused() throws {
        let stack = try Stack()
        for value in ["60001", "-1", "soon"] {
            let run = try stack.runOnce("gateway", ["BOOK_TICKER_MAX_AGE_MS": value], timeoutSeconds: 10)
            #expect(run.status != 0 && run.output.contains("BOOK_TICKER_MAX_AGE_MS"), "\(value): \(run.output)")
        }
    }

    @Test("with the real market-feed on the Binance stand-in, a paper buy fills at the stand-in's ask (close + 0.01) plus slippage")
    func fillsAtTheFeedsAsk() async throws {
        let (market, stack, _) = try await MarketFeedTests.running(["BTCUSDT"], full: true, ["SLIPPAGE_BPS": "10"])
        defer { market.stop() }
        try await waitUntil("the feed reported a book") {
            let symbols = try await stack.get("/api/market/status").json["symbols"] as? [[String: Any]]
            return symbols?.first?["ask"] as? Double != nil
        }
        let buy = try await Self.execute(stack, "buy", "feed-ask-1")
        #expect(buy.answer.status == 200 && buy.source == "book_ask", "\(buy.answer.text)")
        // The stand-in's ask is a recent candle's close plus 0.01.
        let ask = buy.price / (1 + Self.slippage)
        let now = Self.now() / 1_000 * 1_000
        let matches = (0..<30).contains { back in abs(market.candle("BTCUSDT", now - Int64(back) * 1_000).close + 0.01 - ask) < 1e-6 }
        #expect(matches, "ask \(ask) is no recent close + 0.01")
    }
}
