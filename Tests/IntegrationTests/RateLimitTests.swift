import Foundation
import Testing
import TradingWire

/// Rate limits as a budget (docs/live-trading.md): new orders stop before the exchange's limit,
/// a 429/418 one replica meets stops every replica and survives a restart, and the
/// reconciliation's queries keep to their own share. The stand-in enforces Binance's documented
/// limits (`FakeExchange+RateLimits.swift`).
@Suite("exchange rate limits as a budget", .serialized)
struct RateLimitTests {
    let live = LiveTradingTests()

    /// Waits, if needed, until at least 25 s of the stand-in's current minute are left, so that a
    /// test's weight is not forgotten by a new window halfway.
    func awayFromTheMinuteEnd(_ exchange: FakeExchange) async throws {
        let into = exchange.serverNow() % 60_000
        if into > 35_000 { try await Task.sleep(for: .milliseconds(60_000 - into + 500)) }
    }

    @Test("weight near the limit refuses new orders with 429 exchange_rate_budget and Retry-After, before the stand-in's 429")
    func nearTheLimit() async throws {
        let exchange = FakeExchange()
        exchange.rate.limits.weightPerMinute = 300
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "600000", "SYMBOL_ALLOWLIST": "BTCUSDT"])
        #expect(try await stack.post("/api/trade/execute", live.order("budget-1")).status == 200)
        try await awayFromTheMinuteEnd(exchange)
        // Another client on the same IP has used all but 31 of the 300: the next order's answer
        // reports 270 used, which is the limit less the 10 % margin.
        exchange.setWeight(269)
        let second = try await stack.post("/api/trade/execute", live.order("budget-2"))
        #expect(second.status == 200, "\(second.text)")
        let calls = exchange.state.withLock { $0.orderCalls }
        let third = try await stack.post("/api/trade/execute", live.order("budget-3"))
        #expect(third.status == 429, "\(third.text)")
        #expect(third.json["error"] as? String == "exchange_rate_budget")
        let retry = try #require(third.retryAfter.flatMap(Int.init), "Retry-After missing")
        #expect((1...60).contains(retry), "\(retry)")
        #expect(exchange.state.withLock { $0.orderCalls } == calls, "nothing was sent")
        #expect(exchange.rate.answered429 == 0, "refused before the stand-in's 429")
        #expect(try await live.status(stack, "budget-3") == "rejected")
        let rate = try #require((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeRate"] as? [String: Any])
        #expect(rate["weightLimit"] as? Int == 300, "the limit is exchangeInfo's: \(rate)")
        print("near the limit: \(exchange.rate.weight) of 300 used at the stand-in, Retry-After \(retry) s")
    }

    @Test("a 429 with Retry-After seen by one replica stops the other too, and a restarted stack still waits")
    func sharedBan() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "600000"])
        try stack.start("execution-worker#2")
        try await waitUntil("two execution replicas serve") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?[ServiceName.execution] == 2
        }
        exchange.fault = .rateLimit(retryAfter: 45)
        let first = try await stack.post("/api/trade/execute", live.order("ban-1"))
        #expect(first.status == 429, "\(first.text)")
        #expect(first.json["error"] as? String == "exchange_rate_limited")
        #expect(first.retryAfter == "45")
        exchange.fault = .none
        let calls = exchange.state.withLock { $0.orderCalls }
        let line = "the exchange's rate-limit back-off holds every replica"
        var answers: [Stack.Answer] = []
        for index in 2...12 {
            answers.append(try await stack.post("/api/trade/execute", live.order("ban-\(index)")))
            if stack.log("execution-worker").contains(line) && stack.log("execution-worker#2").contains(line) { break }
        }
        #expect(stack.log("execution-worker").contains(line), "the first replica refused")
        #expect(stack.log("execution-worker#2").contains(line), "the second replica refused")
        for answer in answers {
            #expect(answer.status == 429, "\(answer.text)")
            #expect(answer.json["error"] as? String == "exchange_rate_budget")
            #expect(answer.retryAfter.flatMap(Int.init).map { (1...45).contains($0) } == true, "\(answer.retryAfter ?? "none")")
        }
        #expect(exchange.state.withLock { $0.orderCalls } == calls, "no replica sent an order during the ban")
        #expect(exchange.rate.answered429 == 1 && exchange.rate.answered418 == 0, "no request during Retry-After")

        // The ban is in the risk worker's ledger: a restarted stack (both replicas new, nothing
        // in memory) waits it out, asking the exchange nothing.
        exchange.resetRateCounts()
        // (Started by hand: `/health` is not ok while the ban keeps the account unread, so
        // `restartAll`'s wait for a healthy stack would not end.)
        stack.stopAll()
        for name in ["gateway", "risk-worker", "feature-worker", "execution-worker", "execution-worker#2"] { try stack.start(name) }
        try await waitUntil("the restarted stack shows the back-off") {
            ((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeBackoff"] as? [String: Any]) != nil
        }
        let after = try await stack.post("/api/trade/execute", live.order("ban-restart"))
        #expect(after.status == 429, "\(after.text)")
        #expect(after.json["error"] as? String == "exchange_rate_budget")
        #expect(after.retryAfter != nil)
        try await Task.sleep(for: .seconds(2))
        #expect(exchange.state.withLock { $0.orderCalls } == calls)
        #expect(exchange.rate.requests.isEmpty, "the restarted stack asked the exchange nothing: \(exchange.rate.requests)")
        #expect(exchange.rate.answered429 == 1 && exchange.rate.answered418 == 0)
    }

    @Test("malformed rate headers are ignored: orders still fill, and /health counts them")
    func malformedHeaders() async throws {
        let exchange = FakeExchange()
        try await exchange.start()
        defer { exchange.stop() }
        let stack = try await live.liveStack(exchange, ["ACCOUNT_RECONCILE_MS": "600000"])
        exchange.rate.headerOverrides = ["X-MBX-USED-WEIGHT-1M": "999999999999", "X-MBX-ORDER-COUNT-10S": "lots", "X-MBX-ORDER-COUNT-1D": "-1"]
        for index in 1...3 {
            let answer = try await stack.post("/api/trade/execute", live.order("headers-\(index)"))
            #expect(answer.status == 200, "\(answer.text)")
        }
        try await waitUntil("the poll shows the ignored headers") {
            let rate = (try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeRate"] as? [String: Any]
            return (rate?["ignoredHeaders"] as? Int ?? 0) >= 9
        }
        let rate = try #require((try await stack.get("/health").json["liveOrders"] as? [String: Any])?["exchangeRate"] as? [String: Any])
        #expect((rate["usedWeight"] as? Int ?? .max) < 6_000, "a bogus value is not taken: \(rate)")
    }

    @Test("the execution worker refuses a rate setting out of range at start, naming the key and its range")
    func settingsRefused() throws {
        let stack = try Stack()
        for (key, value, range) in [
            ("EXCHANGE_RATE_MARGIN_PCT", "0", "1...50"), ("EXCHANGE_RATE_MARGIN_PCT", "x", "1...50"),
            ("EXCHANGE_RECONCILE_WEIGHT_PCT", "85", "5...80"),
        ] {
            let (status, output) = try stack.runOnce("execution-worker", [key: value], timeoutSeconds: 20)
            #expect(status != 0)
            #expect(output.contains(key) && output.contains(range), "\(output)")
        }
    }

    /// Requests and weight per minute the reconciliation sends at the stand-in with the default
    /// intervals, at 1 and at 10 traded symbols: steady (the book agrees), and with one live
    /// order per symbol lost (the query and the allOrders/myTrades sweep every LIVE_RECONCILE_MS).
    @Test(
        "measure: the reconciliation's requests and weight per minute at 1 and 10 traded symbols",
        .enabled(if: ProcessInfo.processInfo.environment["MEASURE_RECONCILE"] != nil)
    )
    func measureReconciliation() async throws {
        let names = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT", "DOTUSDT", "LINKUSDT"]
        for count in [1, 10] {
            let exchange = FakeExchange()
            exchange.state.withLock { state in
                for name in names { state.symbols[name] = .init(base: String(name.dropLast(4)), quote: "USDT") }
            }
            try await exchange.start()
            defer { exchange.stop() }
            let symbols = names.prefix(count).joined(separator: ",")
            let stack = try await live.liveStack(
                exchange,
                ["LIVE_SYMBOLS": symbols, "SYMBOL_ALLOWLIST": symbols, "LIVE_RECONCILE_MS": "5000", "LIVE_ABSENT_AFTER_MS": "600000"]
            )
            let seconds = 30
            exchange.resetRateCounts()
            try await Task.sleep(for: .seconds(seconds))
            report("steady, \(count) symbol(s)", exchange.rate, seconds: seconds)
            // One live order per symbol whose outcome is unknown (a 500 before the exchange took
            // it): each is asked again every LIVE_RECONCILE_MS.
            exchange.fault = .failBeforePlacing
            for (index, name) in names.prefix(count).enumerated() {
                if name != "BTCUSDT" { _ = try await stack.feedCandles(symbol: name) }
                let body = #"{"symbol": "\#(name)", "side": "buy", "qtyUsd": 100, "confidence": 0.9, "clientOrderId": "lost-\#(index)"}"#
                let answer = try await stack.post("/api/trade/execute", body)
                #expect(answer.status == 504, "\(answer.text)")
            }
            exchange.fault = .none
            exchange.resetRateCounts()
            try await Task.sleep(for: .seconds(seconds))
            report("with one unsettled order per symbol, \(count) symbol(s)", exchange.rate, seconds: seconds)
            stack.stopAll()
        }
    }

    func report(_ what: String, _ rate: FakeExchange.RateState, seconds: Int) {
        let scale = 60.0 / Double(seconds)
        let requests = Double(rate.requests.values.reduce(0, +)) * scale
        let weight = Double(rate.weights.values.reduce(0, +)) * scale
        let detail = rate.weights.keys.sorted().map { "\($0): \(rate.requests[$0] ?? 0) req, \(rate.weights[$0] ?? 0) w" }.joined(separator: "; ")
        print("reconciliation \(what): \(Int(requests)) requests/min, \(Int(weight)) weight/min over \(seconds) s (\(detail))")
    }
}
