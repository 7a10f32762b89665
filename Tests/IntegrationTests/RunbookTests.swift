import Foundation
import Testing

/// The runbook's "On Every Run" section and the operator calls, against real processes.
@Suite("runbook against the real stack", .serialized)
struct RunbookTests {
    @Test("health, consensus smoke test and dry-run execute answer every field the runbook reads")
    func onEveryRun() async throws {
        let stack = try Stack(["MODEL_VERSION": "20261125_120000"])
        try await stack.startAll()

        // 1. Containers healthy.
        let health = try await stack.get("/health").json
        #expect(health["ok"] as? Bool == true)
        #expect(health["tradingMode"] as? String == "paper")
        let config = try #require(health["config"] as? [String: Any])
        #expect(config["confidenceThreshold"] as? Double == 0.6)
        for key in ["maxOrderNotionalUsd", "maxPositionUsd", "maxDrawdown", "startingEquityUsd", "slippageBps", "feeBps"] {
            #expect(config[key] != nil, "config.\(key) is missing")
        }
        let risk = try #require(health["risk"] as? [String: Any])
        #expect(risk["drawdown"] as? Double == 0)
        let workers = try #require(health["workers"] as? [String: Int])
        #expect(workers["feature"] == 1 && workers["risk"] == 1 && workers["execution"] == 1 && workers["model.logit"] == 1)

        let model = try await stack.get("/health", port: stack.modelHealthPort).json
        #expect(model["ok"] as? Bool == true)
        #expect(model["model_version"] as? String == "20261125_120000")
        #expect(model["model_loaded"] as? Bool == true)

        // 2. Consensus smoke test.
        let consensus = try await stack.post(
            "/api/ai/consensus",
            #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#
        )
        #expect(consensus.status == 200)
        #expect(consensus.json["allow"] is Bool)
        let confidence = try #require(consensus.json["confidence"] as? Double)
        #expect((0...1).contains(confidence))
        let votes = try #require(consensus.json["votes"] as? [[String: Any]])
        #expect(votes.first?["version"] as? String == "20261125_120000")
        let other = try await stack.post(
            "/api/ai/consensus",
            #"{"symbol": "BTCUSDT", "features": {"mom_20": -3.0, "rv_5": 1.5, "rsi_14": 25.0}}"#
        )
        #expect(other.json["confidence"] as? Double != confidence, "confidence must vary with the input")

        // 3. Dry-run execute, on a price fed from real candles.
        let beforeFeed = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 2000, "confidence": 0.9}"#)
        #expect(beforeFeed.status == 409)
        #expect(beforeFeed.json["error"] as? String == "no_price")
        #expect(try await stack.feedCandles().status == 200)
        let execute = try await stack.post(
            "/api/trade/execute",
            #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 2000, "confidence": 0.9}"#
        )
        #expect(execute.status == 200)
        #expect(execute.json["dryRun"] as? Bool == true)
        #expect(execute.json["status"] as? String == "filled")
        let fill = try #require(execute.json["fill"] as? [String: Any])
        #expect((fill["price"] as? Double ?? 0) > 0)
        #expect(execute.json["orderId"] is String)
        // Without a clientOrderId the gateway makes one: "o-" and 30 lowercase hex digits, new each
        // time, the first 12 the time in milliseconds: an id made later sorts after (the ledger's
        // index on the id then grows at its end).
        let madeID = try #require(execute.json["clientOrderId"] as? String)
        #expect(madeID.count == 32 && madeID.hasPrefix("o-") && madeID.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(madeID)")
        let madeBefore = try #require(beforeFeed.json["clientOrderId"] as? String)
        #expect(madeBefore != madeID)
        #expect(madeBefore < madeID, "ids in the order they were made: \(madeBefore), \(madeID)")
        let madeAt = try #require(Int64(madeID.dropFirst(2).prefix(12), radix: 16))
        #expect(abs(madeAt - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000, "the time in the id: \(madeAt)")

        // Consensus from fed candles alone (no features given).
        let fromCandles = try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT"}"#)
        #expect(fromCandles.status == 200)
        #expect(fromCandles.json["featureSource"] as? String == "candles")
    }

    @Test("a repeated client order id returns the same order and fills once")
    func idempotentOrders() async throws {
        let stack = try Stack()
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let body = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9, "clientOrderId": "canary-1"}"#
        let first = try await stack.post("/api/trade/execute", body)
        let second = try await stack.post("/api/trade/execute", body)
        #expect(first.status == 200 && second.status == 200)
        #expect(first.json["duplicate"] as? Bool == false)
        #expect(second.json["duplicate"] as? Bool == true)
        let firstFill = try #require(first.json["fill"] as? [String: Any])
        let secondFill = try #require(second.json["fill"] as? [String: Any])
        #expect(firstFill["filledAt"] as? Int64 == secondFill["filledAt"] as? Int64)
        try await waitUntil("the account shows one fill") {
            let risk = try await stack.get("/health").json["risk"] as? [String: Any]
            return (risk?["cash"] as? Double).map { abs($0 - (100_000 - 1_000 - 1)) < 0.01 } ?? false
        }
    }

    @Test("halt refuses orders at once; resume restores them; reset answers")
    func haltAndResume() async throws {
        let stack = try Stack()
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let halt = try await stack.post("/api/halt", #"{"reason": "integration test"}"#)
        #expect(halt.status == 200)
        #expect(halt.json["halted"] as? Bool == true)
        let refused = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(refused.status == 423)
        #expect(refused.json["error"] as? String == "trading_halted")
        let consensus = try await stack.post("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 9, "rv_5": 0.2, "rsi_14": 90}}"#)
        #expect(consensus.json["allow"] as? Bool == false)
        #expect(try await stack.post("/api/resume", nil).status == 200)
        let accepted = try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 100, "confidence": 0.9}"#)
        #expect(accepted.status == 200)
        let reset = try await stack.post("/api/risk/reset", nil, headers: [:])
        #expect(reset.status == 200)
        #expect(reset.json["riskLocked"] as? Bool == false)
        #expect(stack.log("risk-worker").contains("\"level\":\"WARN\""))
    }

    @Test("bad input gets a 4xx JSON error, never a 500, a crash or a hang")
    func badInput() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let cases: [(String, String?, Int, String)] = [
            ("/api/ai/consensus", "{not json", 400, "invalid_request"),
            ("/api/ai/consensus", "", 400, "invalid_request"),
            ("/api/ai/consensus", "[]", 400, "invalid_request"),
            ("/api/ai/consensus", #"{"features": {"mom_20": 1}}"#, 400, "invalid_request"),
            ("/api/ai/consensus", #"{"symbol": 7}"#, 400, "invalid_request"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 42/100.0}}"#, 400, "invalid_request"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": NaN}}"#, 400, "invalid_request"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 1e999}}"#, 400, "invalid_request"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"rsi_14": 150}}"#, 422, "invalid_feature"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"volume": 1}}"#, 422, "unknown_feature"),
            ("/api/ai/consensus", #"{"symbol": "BTCUSDT", "features": {"mom_20": 1}}"#, 422, "missing_features"),
            ("/api/ai/consensus", #"{"symbol": "btc usdt", "features": {"mom_20": 1}}"#, 422, "invalid_symbol"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "hold", "qtyUsd": 10, "confidence": 0.9}"#, 422, "invalid_side"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": -10, "confidence": 0.9}"#, 422, "invalid_quantity"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 0, "confidence": 0.9}"#, 422, "invalid_quantity"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1e15, "confidence": 0.9}"#, 422, "invalid_quantity"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": "10", "confidence": 0.9}"#, 400, "invalid_request"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 1.5}"#, 422, "invalid_confidence"),
            ("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10}"#, 400, "invalid_request"),
            (
                "/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "has space"}"#, 422,
                "invalid_client_order_id"
            ),
            ("/api/market/candles", #"{"symbol": "BTCUSDT", "candles": []}"#, 422, "invalid_candle"),
            (
                "/api/market/candles",
                #"{"symbol": "BTCUSDT", "candles": [{"openTime": 1, "open": 1, "high": 0.5, "low": 1, "close": 1, "volume": 1}]}"#, 422,
                "invalid_candle"
            ),
            (
                "/api/market/candles",
                #"{"symbol": "BTCUSDT", "candles": [{"openTime": 1, "open": -1, "high": 1, "low": 1, "close": 1, "volume": 1}]}"#, 422,
                "invalid_candle"
            ),
            ("/api/nothing", "{}", 404, "not_found"),
        ]
        for (path, body, status, code) in cases {
            let answer = try await stack.post(path, body)
            #expect(answer.status == status, "\(path) \(body ?? "") → \(answer.status) \(answer.text)")
            #expect(answer.json["error"] as? String == code, "\(path) \(body ?? "") → \(answer.text)")
            #expect(answer.json["detail"] is String)
        }
        let huge = String(repeating: "x", count: 100_000)
        let tooLarge = try await stack.post("/api/ai/consensus", #"{"symbol": "\#(huge)"}"#)
        #expect(tooLarge.status == 413)
        #expect(tooLarge.json["error"] as? String == "body_too_large")
        let wrongMethod = try await stack.get("/api/trade/execute")
        #expect((400..<500).contains(wrongMethod.status))
        #expect(wrongMethod.json["error"] is String)
        // Nothing the gateway could reject reached a worker, and nothing crashed.
        #expect(!stack.log("feature-worker").contains("\"level\":\"ERROR\""))
        #expect(try await stack.get("/health").json["ok"] as? Bool == true)
        #expect(!stack.log("gateway").contains("\"level\":\"ERROR\""))
    }

    @Test("with API_TOKEN set, state-changing calls need the bearer token")
    func apiToken() async throws {
        let stack = try Stack(["API_TOKEN": "s3cret-token"])
        try await stack.startAll()
        let missing = try await stack.post("/api/risk/reset", nil)
        #expect(missing.status == 401)
        #expect(missing.json["error"] as? String == "unauthorized")
        let wrong = try await stack.post("/api/risk/reset", nil, headers: ["Authorization": "Bearer s3cret-tokem"])
        #expect(wrong.status == 401)
        let right = try await stack.post("/api/risk/reset", nil, headers: ["Authorization": "Bearer s3cret-token"])
        #expect(right.status == 200)
        // The scheme's name is case-insensitive (RFC 9110 11.1); the token is not.
        for scheme in ["bearer", "BEARER", "beARer"] {
            #expect(try await stack.post("/api/risk/reset", nil, headers: ["Authorization": "\(scheme) s3cret-token"]).status == 200, "\(scheme)")
        }
        for header in ["Bearer S3CRET-TOKEN", "Bearer  s3cret-token", "Bearers3cret-token", "Basic s3cret-token", "Bearer"] {
            #expect(try await stack.post("/api/risk/reset", nil, headers: ["Authorization": header]).status == 401, "\(header)")
        }
        #expect(try await stack.get("/health").json["ok"] as? Bool == true)
        #expect(!stack.log("gateway").contains("s3cret-token"))
    }

    @Test("with API_TOKEN set, exactly the operations the OpenAPI document marks bearer refuse a call without it")
    func tokenGuardsWhatTheDocumentSays() async throws {
        let stack = try Stack(["API_TOKEN": "s3cret-token"])
        try await stack.startAll()
        let document = try #require(try JSONSerialization.jsonObject(with: try await stack.get("/openapi.json").data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var guarded = 0
        for (template, operations) in paths.sorted(by: { $0.key < $1.key }) {
            // Path parameters get values that pass validation, so that only the token decides.
            let path = template.replacingOccurrences(of: "{clientOrderId}", with: "no-such-order").replacingOccurrences(of: "{id}", with: "logit")
            for (method, spec) in operations {
                guard let operation = spec as? [String: Any] else { continue }
                let needsToken = (operation["security"] as? [[String: Any]])?.contains { $0["bearer"] != nil } ?? false
                let body = method == "get" || method == "delete" ? nil : Data("{}".utf8)
                let answer = try await stack.request(method.uppercased(), path, body: body, headers: ["Content-Type": "application/json"])
                if needsToken {
                    guarded += 1
                    #expect(answer.status == 401, "\(method.uppercased()) \(path) answered \(answer.status) without the token")
                    #expect(answer.json["error"] as? String == "unauthorized", "\(method.uppercased()) \(path): \(answer.text)")
                } else {
                    #expect(answer.status != 401, "\(method.uppercased()) \(path) wants a token the document does not ask for")
                }
            }
        }
        #expect(guarded == 13, "with POST /api/live/orders/{clientOrderId}/resolve, POST /api/live/adopt and POST /api/market/feeds")
        // The refused calls changed nothing: no order, no halt.
        let health = try await stack.get("/health").json
        #expect(health["ok"] as? Bool == true)
        #expect((health["risk"] as? [String: Any])?["halted"] as? Bool == false)
        #expect((try await stack.get("/api/orders").json["orders"] as? [Any])?.isEmpty == true)
    }
}

/// Start-up refusals and the replay command, as an operator meets them.
@Suite("start-up and replay", .serialized)
struct StartupAndReplayTests {
    @Test("live mode refuses to start without an API token and exchange credentials")
    func liveNeedsCredentials() async throws {
        let (status, log) = try Stack(["TRADING_MODE": "live"]).runOnce("gateway")
        #expect(status != 0)
        #expect(log.contains("\"level\":\"ERROR\""))
        #expect(log.contains("API_TOKEN"))
        #expect(log.contains("EXCHANGE_API_KEY"))
    }

    @Test("a bad configuration value stops the process with a clear message")
    func badConfiguration() async throws {
        let (status, log) = try Stack(["CONFIDENCE_THRESHOLD": "lots"]).runOnce("risk-worker")
        #expect(status != 0)
        #expect(log.contains("CONFIDENCE_THRESHOLD"))
    }

    @Test("trading-stack replay streams a real candle file into the running gateway")
    func replay() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let file = Stack.repositoryRoot.appendingPathComponent("market-data/candles/ETH_BTC-5m.csv")
        // A 120-candle excerpt, replayed one candle per millisecond after the 50-candle warm-up.
        let excerpt = stack.directory.appendingPathComponent("excerpt.csv")
        let lines = try String(contentsOf: file, encoding: .utf8).split(whereSeparator: \.isNewline).prefix(121)
        try (lines.joined(separator: "\n") + "\n").write(to: excerpt, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = Stack.binaryDirectory.appendingPathComponent("trading-stack")
        process.arguments = ["replay", excerpt.path, "ETHBTC"]
        process.environment = ["GATEWAY_URL": "http://127.0.0.1:\(stack.httpPort)", "FEED_INTERVAL_MS": "1"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let consensus = try await stack.post("/api/ai/consensus", #"{"symbol": "ETHBTC"}"#)
        #expect(consensus.status == 200)
        #expect(consensus.json["featureSource"] as? String == "candles")
        let lastClose = Double(lines.last!.split(separator: ",")[4])!
        #expect(consensus.json["price"] as? Double == lastClose)
    }
}

/// The operator's CLI against the real stack.
@Suite("tradectl", .serialized)
struct TradeCtlTests {
    func tradectl(_ stack: Stack, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Stack.binaryDirectory.appendingPathComponent("tradectl")
        process.arguments = arguments + ["--url", "http://127.0.0.1:\(stack.httpPort)", "--model-url", "http://127.0.0.1:\(stack.modelHealthPort)"]
        process.environment = [:]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.currentDirectoryURL = stack.directory
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("check, preflight, halt, resume, risk status and reset, canary, snapshot")
    func runbookCommands() async throws {
        let stack = try Stack()
        try await stack.startAll()

        // No price yet: the dry-run execute step fails, and check says so and exits non-zero.
        let early = try tradectl(stack, ["check"])
        #expect(early.status != 0)
        #expect(early.output.contains("FAIL  dry-run execute .dryRun"))
        #expect(early.output.contains("PASS  backend /health .ok"))

        #expect(try await stack.feedCandles().status == 200)
        let check = try tradectl(stack, ["check"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.components(separatedBy: "PASS").count - 1 == 4)

        let preflight = try tradectl(stack, ["preflight"])
        #expect(preflight.status == 0, "\(preflight.output)")
        #expect(preflight.output.contains("PASS  confidence distribution varies"))

        #expect(try tradectl(stack, ["halt", "--reason", "drill"]).status == 0)
        let halted = try tradectl(stack, ["check"])
        #expect(halted.status != 0)
        #expect(halted.output.contains("trading_halted"))
        #expect(try tradectl(stack, ["preflight"]).status != 0)
        #expect(try tradectl(stack, ["resume"]).status == 0)

        let status = try tradectl(stack, ["risk", "status"])
        #expect(status.output.contains("\"drawdown\""))
        #expect(try tradectl(stack, ["risk", "reset", "--reason", "test"]).status == 0)

        let canary = try tradectl(stack, ["canary", "--trades", "3"])
        #expect(canary.status == 0, "\(canary.output)")
        #expect(canary.output.contains("3/3 filled"))

        let snapshot = try tradectl(stack, ["snapshot", "--out", "snap", "--logs-dir", stack.directory.path, "--since", "2000-01-01T00:00:00"])
        #expect(snapshot.status == 0, "\(snapshot.output)")
        let folder = stack.directory.appendingPathComponent("snap")
        let health = try Data(contentsOf: folder.appendingPathComponent("health_snapshot.json"))
        #expect((try JSONSerialization.jsonObject(with: health) as? [String: Any])?["ok"] as? Bool == true)
        let model = try Data(contentsOf: folder.appendingPathComponent("model_snapshot.json"))
        #expect((try JSONSerialization.jsonObject(with: model) as? [String: Any])?["model_loaded"] as? Bool == true)
        let logs = try String(contentsOf: folder.appendingPathComponent("incident_logs.txt"), encoding: .utf8)
        #expect(logs.contains("halt requested"))
        let future = try tradectl(stack, ["snapshot", "--out", "later", "--logs-dir", stack.directory.path, "--since", "2999-01-01T00:00:00"])
        #expect(future.status == 0)
        #expect(try String(contentsOf: stack.directory.appendingPathComponent("later/incident_logs.txt"), encoding: .utf8).isEmpty)
    }
}
