import Foundation
import Testing

/// Live orders checked against the exchange's own filters (exchangeInfo) before they are sent,
/// and dollar amounts never sent as another quote asset.
@Suite("exchange filters and quote assets, live against the stand-in", .serialized)
struct ExchangeFilterTests {
    let live = LiveTradingTests()

    func order(_ id: String, symbol: String = "BTCUSDT", qty: Int) -> String {
        #"{"symbol": "\#(symbol)", "side": "buy", "qtyUsd": \#(qty), "confidence": 0.9, "clientOrderId": "\#(id)"}"#
    }

    /// Three candles of `symbol` closing at `close`, the newest opened a minute ago.
    func feedRecent(_ stack: Stack, _ symbol: String, close: Double) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let candles: [[String: Any]] = (0..<3).map { index in
            ["openTime": now - 60_000 - Int64(2 - index) * 300_000, "open": close, "high": close, "low": close, "close": close, "volume": 1]
        }
        let answer = try await stack.post("/api/market/candles", json: ["symbol": symbol, "candles": candles])
        #expect(answer.status == 200, "\(answer.text)")
    }

    /// A live stack whose BTCUSDT trades in steps of 0.001 BTC, marked at the stand-in's price.
    func stepStack(_ exchange: FakeExchange) async throws -> Stack {
        exchange.state.withLock {
            $0.symbols["BTCUSDT"]?.stepSize = Decimal(string: "0.001")!
            $0.symbols["BTCUSDT"]?.minQty = Decimal(string: "0.001")!
        }
        let stack = try await live.liveStack(exchange)
        try await feedRecent(stack, "BTCUSDT", close: 100)
        return stack
    }

    @Test("an order under the stand-in's NOTIONAL filter answers 422 exchange_filter and the stand-in saw no order")
    func notionalRefusedBeforeSending() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        exchange.state.withLock { $0.symbols["BTCUSDT"]?.minNotional = 50 }
        let stack = try await live.liveStack(exchange)
        let small = try await stack.post("/api/trade/execute", order("small-1", qty: 20))
        #expect(small.status == 422, "\(small.text)")
        #expect(small.json["error"] as? String == "exchange_filter")
        #expect((small.json["detail"] as? String)?.contains("NOTIONAL: at least 50 USDT (asked 20)") == true, "\(small.text)")
        #expect(small.json["clientOrderId"] as? String == "small-1")
        #expect(exchange.state.withLock { $0.orderCalls } == 0, "refused before sending, not by the exchange")
        #expect(try await live.status(stack, "small-1") == "rejected")
        #expect(exchange.state.withLock { $0.exchangeInfoCalls } >= 1)

        let large = try await stack.post("/api/trade/execute", order("large-1", qty: 200))
        #expect(large.status == 200, "\(large.text)")
        #expect(exchange.placedCount("large-1") == 1)
        #expect(exchange.state.withLock { $0.exchangeInfoCalls } == 1, "one exchangeInfo request (weight 20) served both orders")
    }

    @Test("ETHBTC with qtyUsd 100 in live mode is refused, with or without a fresh BTC mark, and never sent as 100 BTC")
    func quoteAssetRefusedLive() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        exchange.state.withLock { $0.prices["ETHBTC"] = Decimal(string: "0.05")! }
        // The stale-data guard on: the 2018 BTCUSDT candles the live stack feeds are no fresh mark.
        let stack = try await live.liveStack(exchange, ["MAX_CANDLE_AGE": "3"])
        try await feedRecent(stack, "ETHBTC", close: 0.05)
        let refused = try await stack.post("/api/trade/execute", order("eth-1", symbol: "ETHBTC", qty: 100))
        #expect(refused.status == 422, "\(refused.text)")
        #expect(["no_quote_mark", "symbol_not_live"].contains(refused.json["error"] as? String ?? ""), "\(refused.text)")

        // With a fresh BTC mark the amount could be converted, but the live book keeps only USD-like
        // quotes as cash: refused before anything is sent (the conversion is QuoteAssetTests').
        try await feedRecent(stack, "BTCUSDT", close: 50_000)
        let again = try await stack.post("/api/trade/execute", order("eth-2", symbol: "ETHBTC", qty: 100))
        #expect(again.status == 422, "\(again.text)")
        #expect(again.json["error"] as? String == "symbol_not_live", "\(again.text)")
        #expect(exchange.state.withLock { $0.orderCalls } == 0, "never sent as 100 BTC")
    }

    @Test("a sell that closes a position is sent as its base quantity rounded down to the step; the rest is shown as dust, not as a position")
    func closingSellLeavesDust() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await stepStack(exchange)
        func trade(_ id: String, _ side: String, _ usd: String) async throws -> Stack.Answer {
            try await stack.post(
                "/api/trade/execute",
                #"{"symbol": "BTCUSDT", "side": "\#(side)", "qtyUsd": \#(usd), "confidence": 0.9, "clientOrderId": "\#(id)"}"#
            )
        }
        func position() async throws -> [String: Any]? {
            (try await stack.account()["positions"] as? [[String: Any]])?.first { $0["symbol"] as? String == "BTCUSDT" }
        }
        let buy = try await trade("open-1", "buy", "200.05")
        #expect(buy.status == 200, "\(buy.text)")
        #expect(try await position()?["quantity"] as? Double == 2.0005)

        // 199.99 USD would leave 0.0006 BTC (6 cents): below the step and NOTIONAL, it could never be sold.
        let sell = try await trade("close-1", "sell", "199.99")
        #expect(sell.status == 200, "\(sell.text)")
        #expect(exchange.state.withLock { $0.sizedBy["close-1"] } == "quantity")
        #expect(exchange.state.withLock { $0.placed["close-1"]?.quantity } == 2, "2.0005 rounded down to the 0.001 step")
        let left = try #require(try await position())
        #expect(left["quantity"] as? Double == 0, "not an open position: \(left)")
        #expect(left["dust"] as? Double == 0.0005, "\(left)")

        let calls = exchange.state.withLock { $0.orderCalls }
        // 1 USD is 0.01 BTC, beyond the 0.0005 the account holds: refused before the filters are asked.
        let dustSale = try await trade("dust-1", "sell", "1")
        #expect(dustSale.status == 422, "\(dustSale.text)")
        #expect(dustSale.json["error"] as? String == "insufficient_balance", "\(dustSale.text)")
        #expect(exchange.state.withLock { $0.orderCalls } == calls)
    }

    @Test("a closing sell whose answer was lost is reconciled by query with the same dust")
    func closingSellReconciled() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await stepStack(exchange)
        let buy = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 200.05, "confidence": 0.9}"#)
        #expect(buy.status == 200, "\(buy.text)")
        exchange.fault = .outage
        let sell = try await stack.post(
            "/api/trade/execute",
            #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 199.99, "confidence": 0.9, "clientOrderId": "lost-1"}"#
        )
        #expect(sell.json["error"] as? String == "order_state_unknown", "\(sell.text)")
        exchange.fault = .none
        try await waitUntil("reconciliation fills it") { try await live.status(stack, "lost-1") == "filled" }
        let left = (try await stack.account()["positions"] as? [[String: Any]])?.first { $0["symbol"] as? String == "BTCUSDT" }
        #expect(left?["quantity"] as? Double == 0, "\(left ?? [:])")
        #expect(left?["dust"] as? Double == 0.0005, "\(left ?? [:])")
    }

    @Test("a malformed exchangeInfo fails closed: no live order, the reason in the error, the worker alive; it trades once the answer is good")
    func malformedExchangeInfo() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        exchange.state.withLock { $0.exchangeInfoBody = #"{"timezone":"UTC","symbols":[{"symbol":"BTCUSDT","status":"TRAD"# }
        let stack = try await live.liveStack(exchange)
        let refused = try await stack.post("/api/trade/execute", order("blind-1", qty: 200))
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.json["error"] as? String == "exchange_filters_unknown")
        #expect((refused.json["detail"] as? String)?.contains("unreadable") == true, "\(refused.text)")
        #expect(exchange.state.withLock { $0.orderCalls } == 0)
        #expect(try await live.status(stack, "blind-1") == "rejected")

        // Strings where decimals are due: still unknown, still nothing sent.
        exchange.state.withLock {
            $0.exchangeInfoBody = String(
                decoding: try! JSONSerialization.data(withJSONObject: [
                    "symbols": [
                        FakeExchange.symbolJSON("BTCUSDT", FakeExchange.SymbolRules(base: "BTC", quote: "USDT", minQty: 0))
                            .merging(["filters": [["filterType": "LOT_SIZE", "minQty": "zero", "maxQty": "9", "stepSize": "0.1"]]]) { _, new in new }
                    ]
                ]),
                as: UTF8.self
            )
        }
        try await Task.sleep(for: .seconds(5.2))
        let stillRefused = try await stack.post("/api/trade/execute", order("blind-2", qty: 200))
        #expect(stillRefused.json["error"] as? String == "exchange_filters_unknown", "\(stillRefused.text)")
        #expect((stillRefused.json["detail"] as? String)?.contains("minQty is not a decimal") == true, "\(stillRefused.text)")
        #expect(exchange.state.withLock { $0.orderCalls } == 0)

        exchange.state.withLock { $0.exchangeInfoBody = nil }
        try await Task.sleep(for: .seconds(5.2))
        let traded = try await stack.post("/api/trade/execute", order("seen-1", qty: 200))
        #expect(traded.status == 200, "\(traded.text)")
        #expect(exchange.placedCount("seen-1") == 1)
    }

    @Test("EXCHANGE_INFO_REFRESH_MS out of range stops the execution worker at start, naming the key and its range")
    func refreshSettingRefused() throws {
        let exchange = FakeExchange()
        for value in ["5", "86400001", "hourly"] {
            let (status, log) = try Stack([
                "EXCHANGE_API_KEY": exchange.apiKey, "EXCHANGE_API_SECRET": exchange.secret, "EXCHANGE_INFO_REFRESH_MS": value,
            ]).runOnce("execution-worker")
            #expect(status != 0)
            #expect(log.contains("EXCHANGE_INFO_REFRESH_MS"), "\(log)")
            #expect(log.contains("10000...86400000"), "\(log)")
        }
    }
}
