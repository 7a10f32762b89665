import Crypto
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs a tool to completion (an absolute path, or a name looked up on PATH): its exit status and
/// everything it printed.
func runTool(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    timeoutSeconds: Int? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    if let timeoutSeconds {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeoutSeconds)) { [process] in
            if process.isRunning { process.terminate() }
        }
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Probes, metrics by the book, the equity history, notifications, the dashboard in a browser,
/// and the operator's CLIs, on the real executables.
@Suite("operator tools", .serialized)
struct OperatorToolsTests {
    static let executeBody = #"{"symbol": "BTCUSDT", "side": "buy", "qtyUsd": 1000, "confidence": 0.9}"#

    @Test("/livez always answers; /readyz waits for the broker and the control state, on the gateway and on a worker")
    func probes() async throws {
        let stack = try Stack()
        let riskPort = freePort()
        try stack.start("gateway")
        try await waitUntil("the gateway answers") { try await stack.get("/livez").status == 200 }
        let early = try await stack.get("/readyz")
        #expect(early.status == 503)
        #expect((early.json["checks"] as? [String: Bool])?["controlStateKnown"] == false)
        try stack.start("risk-worker", ["HEALTH_PORT": "\(riskPort)"])
        try await waitUntil("the gateway is ready") { try await stack.get("/readyz").status == 200 }
        try await waitUntil("the risk worker is ready") { try await stack.get("/readyz", port: riskPort).status == 200 }

        // A gateway outage: the worker stays alive (no restart) but is no longer ready.
        stack.kill("gateway")
        try await waitUntil("the risk worker is not ready") { try await stack.get("/readyz", port: riskPort).status == 503 }
        let live = try await stack.get("/livez", port: riskPort)
        #expect(live.status == 200)
        let ready = try await stack.get("/readyz", port: riskPort)
        #expect(ready.json["broker_connected"] as? Bool == false)
        try stack.start("gateway")
        try await waitUntil("the risk worker is ready again") { try await stack.get("/readyz", port: riskPort).status == 200 }
    }

    @Test("every process's /metrics passes promtool check metrics, with help on every family and no hb_ names")
    func metricsByTheBook() async throws {
        let promtool = try runTool("promtool", ["--version"])
        #expect(promtool.status == 0, "promtool is missing (scripts/install-deps installs Debian's prometheus)")
        let stack = try Stack()
        let ports = ["feature-worker": freePort(), "risk-worker": freePort(), "execution-worker": freePort()]
        try stack.start("gateway")
        for (name, port) in ports { try stack.start(name, ["HEALTH_PORT": "\(port)"]) }
        try stack.start("model-worker", ["HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the stack is healthy") { try await stack.get("/health").json["ok"] as? Bool == true }
        #expect(try await stack.feedCandles().status == 200)
        #expect(try await stack.post("/api/ai/consensus", FaultTests.consensusBody).status == 200)
        #expect(try await stack.post("/api/trade/execute", Self.executeBody).status == 200)
        #expect(try await stack.get("/no-such-route").status == 404)

        for (name, port) in [("gateway", stack.httpPort), ("model-worker", stack.modelHealthPort)] + ports.map({ ($0.key, $0.value) }) {
            let text = try await stack.get("/metrics", port: port).text
            let file = stack.directory.appendingPathComponent("\(name).metrics")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let check = try runTool("/bin/sh", ["-c", "promtool check metrics < '\(file.path)'"])
            #expect(check.status == 0, "\(name): promtool check metrics: \(check.output)")
            let lines = text.split(separator: "\n")
            let types = lines.filter { $0.hasPrefix("# TYPE ") }
            #expect(!types.isEmpty, "\(name) exposes no metric")
            #expect(lines.filter { $0.hasPrefix("# HELP ") }.count == types.count, "\(name): a family without HELP")
            #expect(!text.contains("hb_") && !text.contains("http_server_"), "\(name) still exposes Hummingbird's names")
            for type in types where type.hasSuffix(" counter") {
                #expect(type.split(separator: " ")[2].hasSuffix("_total"), "\(name): counter \(type) does not end in _total")
            }
        }
        let gateway = try await stack.get("/metrics").text
        for family in [
            "gateway_http_requests_total{route=\"/api/trade/execute\",method=\"POST\",status=\"200\"} 1",
            "gateway_http_request_duration_seconds_bucket", "risk_equity_usd ", "risk_drawdown_ratio ", "risk_drawdown_limit_ratio 0.1",
            "control_publish_drops_total 0", "broker_workers_expired_total 0", "control_state_changes_total 1",
        ] {
            #expect(gateway.contains(family), "gateway /metrics lacks \(family)")
        }
    }

    @Test("the risk worker records equity on every fill; GET /api/equity returns it since a time")
    func equityHistory() async throws {
        let stack = try Stack()
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        for _ in 0..<2 { #expect(try await stack.post("/api/trade/execute", Self.executeBody).status == 200) }
        let account = try await stack.account()
        let history = try await stack.get("/api/equity?since=\(before)")
        #expect(history.status == 200)
        let points = history.json["points"] as? [[String: Any]] ?? []
        #expect(points.count >= 2, "one point per fill: \(points)")
        #expect(points.last?["equity"] as? Double == account["equity"] as? Double)
        #expect(points.last?["drawdown"] as? Double == account["drawdown"] as? Double)
        let times = points.compactMap { $0["ts"] as? Int64 }
        #expect(times == times.sorted() && times.allSatisfy { $0 >= before })
        // The start-up point is older than `before`; all of them come without `since`.
        #expect((try await stack.get("/api/equity").json["points"] as? [Any])?.count ?? 0 > points.count)
        let later = try await stack.get("/api/equity?since=\(before + 3_600_000)")
        #expect((later.json["points"] as? [Any])?.isEmpty == true)
        for bad in ["since=-1", "since=soon", "limit=0", "limit=10001"] {
            let answer = try await stack.get("/api/equity?\(bad)")
            #expect(answer.status == 422, "\(bad) answered \(answer.status)")
            #expect(answer.json["error"] is String && answer.json["detail"] is String)
        }
    }

    @Test("webhooks get halt, resume, lock, reset and a lost service; retried with backoff; a dead receiver blocks nothing")
    func notifications() async throws {
        let receiver = WebhookReceiver(failFirst: 2)
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try Stack([
            "NOTIFY_WEBHOOK_URL":
                "\(receiver.hangURL),\(receiver.url("json")),slack=\(receiver.url("slack")),discord=\(receiver.url("discord")),telegram=\(receiver.url("telegram"))",
            "NOTIFY_TELEGRAM_CHAT_ID": "-1001234", "NOTIFY_BACKOFF_MS": "20", "NOTIFY_TIMEOUT_MS": "60000", "MAX_DRAWDOWN": "0.001",
        ])
        try await stack.startAll()
        // The receiver at /hang never answers: the halt is answered all the same.
        let halt = try await stack.post("/api/halt", #"{"reason": "webhook drill"}"#)
        #expect(halt.status == 200)
        try await waitUntil("the halt is posted") { receiver.received("json").contains { $0["event"] as? String == "halt" } }
        let posted = receiver.received("json").first { $0["event"] as? String == "halt" } ?? [:]
        #expect(posted["severity"] as? String == "critical")
        #expect((posted["details"] as? [String: String])?["reason"] == "webhook drill")
        #expect(posted["source"] as? String == "gateway")
        #expect(receiver.attemptCount("json") >= 3, "two 500s, then delivered")
        try await waitUntil("the Slack, Discord and Telegram shapes") {
            (receiver.received("slack").first?["text"] as? String)?.contains("webhook drill") == true
                && (receiver.received("discord").first?["content"] as? String)?.contains("webhook drill") == true
                && (receiver.received("telegram").first?["text"] as? String)?.contains("webhook drill") == true
        }
        #expect(receiver.received("telegram").first?["chat_id"] as? String == "-1001234")
        #expect(try await stack.post("/api/resume", nil).status == 200)
        try await waitUntil("the resume is posted") { receiver.received("json").contains { $0["event"] as? String == "resume" } }

        stack.kill("feature-worker")
        try await waitUntil("the lost feature service is posted") {
            receiver.received("json").contains {
                $0["event"] as? String == "no_live_worker" && ($0["details"] as? [String: String])?["service"] == "feature"
            }
        }
        try stack.start("feature-worker")
        try await waitUntil("its return is posted") { receiver.received("json").contains { $0["event"] as? String == "worker_back" } }

        // A price crash under an open position trips the drawdown lock; a reset clears it.
        #expect(try await stack.feedCandles().status == 200)
        #expect(try await stack.post("/api/trade/execute", OperatorToolsTests.executeBody).status == 200)
        let last = try Stack.sharedCandles()[59]
        let close = (last["close"] as? Double ?? 1) / 2
        let crash: [String: Any] = [
            "symbol": "BTCUSDT",
            "candles": [
                ["openTime": (last["openTime"] as? Int64 ?? 0) + 300_000, "open": close, "high": close, "low": close, "close": close, "volume": 1.0]
            ],
        ]
        #expect(try await stack.post("/api/market/candles", json: crash).json["riskLocked"] as? Bool == true)
        try await waitUntil("the lock is posted") { receiver.received("json").contains { $0["event"] as? String == "lock" } }
        #expect(try await stack.post("/api/risk/reset", #"{"reason": "drill over"}"#).status == 200)
        try await waitUntil("the reset is posted") { receiver.received("json").contains { $0["event"] as? String == "reset" } }
    }

    @Test("a refused model reload is posted by the model worker")
    func modelReloadNotification() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let stack = try Stack(["NOTIFY_WEBHOOK_URL": receiver.url("models")])
        let artifact = stack.directory.appendingPathComponent("model.json")
        try FileManager.default.copyItem(at: Stack.repositoryRoot.appendingPathComponent("deploy/models/logit.json"), to: artifact)
        try stack.start("gateway")
        try stack.start("model-worker", ["MODEL_PATH": artifact.path, "HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the model worker is up") { try await stack.get("/livez", port: stack.modelHealthPort).status == 200 }
        try Data("{\"not\": \"a model\"}".utf8).write(to: artifact)
        stack.signal("model-worker", SIGHUP)
        try await waitUntil("the refused reload is posted") { !receiver.received("models").isEmpty }
        let posted = receiver.received("models").first ?? [:]
        #expect(posted["event"] as? String == "model_reload_failed")
        #expect(posted["source"] as? String == "model.logit")
        #expect(try await stack.get("/health", port: stack.modelHealthPort).json["model_loaded"] as? Bool == true)
    }

    @Test(
        "the dashboard in headless Chromium: no console error, the API's figures, the trading state, a protection lock, the price chart with our fills, and a halt clicked with the token"
    )
    func dashboardInChromium() async throws {
        let chromium = try runTool("/bin/sh", ["-c", "command -v chromium || command -v chromium-browser"])
        try #require(chromium.status == 0, "chromium is missing (scripts/install-deps installs Debian's chromium)")
        let stack = try Stack(["API_TOKEN": "dashboard-secret-42", "COOLDOWN_MINUTES": "30"])
        stack.token = "dashboard-secret-42"
        try await stack.startAll()
        // The shared candles moved to the present, so that the price chart holds the fills: the
        // sale's candle is the one that ends at the next five minutes' boundary, its fills in the
        // slot of the candle still forming. Near a boundary the test waits it out (the fills must
        // stay in that slot while the page is checked).
        let interval: Int64 = 300_000
        var boundary = (Int64(Date().timeIntervalSince1970 * 1_000) / interval + 1) * interval
        let untilBoundary = boundary - Int64(Date().timeIntervalSince1970 * 1_000)
        if untilBoundary < 90_000 {
            try await Task.sleep(for: .milliseconds(untilBoundary + 500))
            boundary += interval
        }
        let shared = Array(try Stack.sharedCandles().prefix(60))
        let shift = (boundary - 3 * interval) - (shared[59]["openTime"] as? Int64 ?? 0)
        let present = shared.map { candle in candle.merging(["openTime": (candle["openTime"] as? Int64 ?? 0) + shift]) { $1 } }
        #expect(try await stack.post("/api/market/candles", json: ["symbol": "BTCUSDT", "candles": present]).status == 200)
        #expect(try await stack.post("/api/trade/execute", Self.executeBody).status == 200)
        // A sale at a lower close loses: the cooldown locks the symbol, for the page to show.
        let last = present[59]
        let lower = (last["close"] as? Double ?? 1) * 0.98
        let drop: [String: Any] = [
            "symbol": "BTCUSDT",
            "candles": [
                ["openTime": (last["openTime"] as? Int64 ?? 0) + interval, "open": lower, "high": lower, "low": lower, "close": lower, "volume": 1.0]
            ],
        ]
        #expect(try await stack.post("/api/market/candles", json: drop).status == 200)
        #expect(try await stack.post("/api/trade/execute", #"{"symbol": "BTCUSDT", "side": "sell", "qtyUsd": 500, "confidence": 0.9}"#).status == 200)
        #expect((try await stack.get("/api/locks").json["locks"] as? [Any])?.count == 1)
        stack.token = nil
        let page = try await stack.get("/")
        #expect(page.status == 200 && page.text.contains("<canvas id=\"equityChart\""))
        #expect(!page.text.contains("http://") && !page.text.contains("https://"), "the page fetches nothing from elsewhere")
        let script = Stack.repositoryRoot.appendingPathComponent("Tests/Browser/dashboard_check.py").path
        let run = try runTool(
            "python3",
            [script, "--url", "http://127.0.0.1:\(stack.httpPort)", "--token", "dashboard-secret-42", "--expect-lock", "--expect-fills", "2"]
        )
        #expect(run.status == 0, "\(run.output)")
        let risk = try await stack.get("/health").json["risk"] as? [String: Any]
        #expect(risk?["halted"] as? Bool == true)
        #expect(risk?["haltReason"] as? String == "halt clicked on the dashboard")
    }

    @Test("GET /openapi.json is an OpenAPI 3.1 document naming every route the gateway serves")
    func openAPIDocument() async throws {
        let stack = try Stack()
        try stack.start("gateway")
        try await waitUntil("the gateway answers") { try await stack.get("/livez").status == 200 }
        let document = try await stack.get("/openapi.json")
        #expect(document.status == 200)
        #expect(document.json["openapi"] as? String == "3.1.0")
        let paths = Set((document.json["paths"] as? [String: Any] ?? [:]).keys)
        for path in [
            "/", "/openapi.json", "/livez", "/readyz", "/health", "/metrics", "/api/ai/consensus", "/api/trade/execute",
            "/api/market/candles", "/api/positions", "/api/orders", "/api/orders/{clientOrderId}", "/api/equity", "/api/preflight",
            "/api/models", "/api/models/{id}/canary", "/api/models/{id}/promote", "/api/models/{id}/rollback", "/api/halt",
            "/api/resume", "/api/risk/reset", "/api/risk/state", "/api/locks", "/api/locks/{id}", "/api/live/orders/{clientOrderId}/resolve",
            "/api/live/adopt", "/api/live/foreign-trades", "/api/market/status", "/api/market/feeds",
        ] {
            #expect(paths.contains(path), "the document lacks \(path)")
        }
        #expect(paths.count == 29, "a path the test does not know: \(paths.sorted())")
    }
}

/// The operator's CLIs: the new tradectl commands with --json, trading-stack's --help and replay.
@Suite("operator CLIs", .serialized)
struct OperatorCLITests {
    func tradectl(_ stack: Stack, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(
            Stack.binaryDirectory.appendingPathComponent("tradectl").path,
            arguments + ["--url", "http://127.0.0.1:\(stack.httpPort)", "--model-url", "http://127.0.0.1:\(stack.modelHealthPort)"],
            environment: [:]
        )
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test("tradectl positions, orders, models, model canary|promote|rollback, equity, and --json on every command")
    func tradectlReadouts() async throws {
        let stack = try Stack()
        try await stack.startAll()
        #expect(try await stack.feedCandles().status == 200)
        #expect(try await stack.post("/api/trade/execute", OperatorToolsTests.executeBody).status == 200)

        let positions = try tradectl(stack, ["positions", "--json"])
        #expect(positions.status == 0)
        #expect((json(positions.output)["positions"] as? [[String: Any]])?.first?["symbol"] as? String == "BTCUSDT")
        let text = try tradectl(stack, ["positions"])
        #expect(text.status == 0 && text.output.contains("SYMBOL") && text.output.contains("BTCUSDT"))

        let filled = try tradectl(stack, ["orders", "--status", "filled", "--json"])
        #expect((json(filled.output)["orders"] as? [[String: Any]])?.count == 1)
        let rejected = try tradectl(stack, ["orders", "--status", "rejected", "--json"])
        #expect((json(rejected.output)["orders"] as? [[String: Any]])?.isEmpty == true)
        #expect(try tradectl(stack, ["orders", "--status", "lost"]).status != 0)

        let models = try tradectl(stack, ["models", "--json"])
        #expect((json(models.output)["models"] as? [[String: Any]])?.first?["modelId"] as? String == "logit")
        let split = try tradectl(stack, ["model", "canary", "logit", "--mode", "split", "--share", "0.25", "--json"])
        #expect(split.status == 0, "\(split.output)")
        #expect((json(split.output)["canary"] as? [String: Any])?["mode"] as? String == "split")
        #expect(try tradectl(stack, ["model", "promote", "logit"]).status != 0, "no canary worker is live")
        #expect(try tradectl(stack, ["model", "rollback", "logit", "--json"]).status == 0)

        let equity = try tradectl(stack, ["equity", "--json"])
        #expect((json(equity.output)["points"] as? [Any])?.isEmpty == false)
        #expect(try tradectl(stack, ["equity"]).output.contains("EQUITY"))

        let check = try tradectl(stack, ["check", "--json"])
        #expect(check.status == 0, "\(check.output)")
        #expect(json(check.output)["ok"] as? Bool == true)
        #expect((json(check.output)["checks"] as? [Any])?.count == 4)
        let halt = try tradectl(stack, ["halt", "--reason", "cli", "--json"])
        #expect(json(halt.output)["halted"] as? Bool == true)
        #expect(json(try tradectl(stack, ["resume", "--json"]).output)["halted"] as? Bool == false)
        #expect(json(try tradectl(stack, ["risk", "status", "--json"]).output)["drawdown"] != nil)
    }

    @Test("trading-stack takes its arguments through ArgumentParser; replay shows progress and a summary")
    func tradingStack() async throws {
        let binary = Stack.binaryDirectory.appendingPathComponent("trading-stack").path
        let help = try runTool(binary, ["--help"])
        #expect(help.status == 0 && help.output.contains("replay") && help.output.contains("run"))
        let replayHelp = try runTool(binary, ["replay", "--help"])
        #expect(replayHelp.status == 0 && replayHelp.output.contains("--interval-ms"))
        #expect(try runTool(binary, ["replay"]).status != 0, "the file is required")

        let stack = try Stack()
        try await stack.startAll()
        let excerpt = stack.directory.appendingPathComponent("excerpt.csv")
        let file = Stack.repositoryRoot.appendingPathComponent("market-data/candles/ETH_BTC-5m.csv")
        let lines = try String(contentsOf: file, encoding: .utf8).split(whereSeparator: \.isNewline).prefix(101)
        try (lines.joined(separator: "\n") + "\n").write(to: excerpt, atomically: true, encoding: .utf8)
        let replay = try runTool(binary, ["replay", excerpt.path, "ETHBTC", "--gateway", "http://127.0.0.1:\(stack.httpPort)", "--interval-ms", "0"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("replay: 100/100 candles (100 %)"))
        #expect(replay.output.contains("replay summary: 100 of 100 candles sent as ETHBTC, 0 failed"))
    }

    @Test(
        "trading-stack backtest: the same files, byte for byte, as before the fast paths (incremental features, byte CSV reader, formatter)",
        arguments: [
            (
                "ETH_BTC-5m.csv", "b43e3217baf36f0b3638fe9ea7bd409a5221cd085f9f538925e42e6e0b35d9f2",
                "d8a3c7e558d770a6518704fefebefe6c6bd5a284576ff1abc89bc5b05f23656a", "0595143627fb00141ca7b07226eded89e1ee631a5e08d1df748c58c64829d9cf"
            ),
            (
                "UNITTEST_BTC-1m.csv", "7d96ef4c32941af583eba22aea793579b743896bc3e4a7ccfb5008e8ae2c8dd2",
                "110f3bc52dcd079c7e2d59a31d0a60dae4d5cb6ae0c530a10ca4eaac51c2cd32", "8bc15c49de1f575db4514be3f481e9e99882df984ac4572f54267f8bc315a0cf"
            ),
        ]
    )
    func backtestPinned(_ name: String, _ report: String, _ csv: String, _ svg: String) throws {
        // The digests are those of the files written by the backtest before it used IncrementalFeatures
        // (commit 06678be), with the default configuration and the three shipped models.
        let binary = Stack.binaryDirectory.appendingPathComponent("trading-stack").path
        let file = Stack.repositoryRoot.appendingPathComponent("market-data/candles/\(name)").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("backtest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try runTool(
            binary,
            ["backtest", file, "--symbol", "ETHBTC", "--out", out.path],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        )
        #expect(run.status == 0, "\(run.output)")
        for (file, digest) in [("report.json", report), ("equity.csv", csv), ("equity.svg", svg)] {
            let data = try Data(contentsOf: out.appendingPathComponent(file))
            #expect(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() == digest, "\(name): \(file) changed")
        }
    }

    @Test("trading-stack backtest writes the report, the equity CSV and the chart; bad arguments exit non-zero with the reason")
    func backtest() throws {
        let binary = Stack.binaryDirectory.appendingPathComponent("trading-stack").path
        let file = Stack.repositoryRoot.appendingPathComponent("market-data/candles/ETH_BTC-5m.csv").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("backtest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        let run = try runTool(
            binary,
            ["backtest", file, "--symbol", "ETHBTC", "--from", "2018-01-12", "--to", "2018-01-20T00:00:00Z", "--out", out.path],
            environment: environment
        )
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("backtest ETHBTC:") && run.output.contains("candles/s (") && run.output.contains("3 models)"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any]
        #expect(report?["candles"] as? Int == 8 * 288 + 1)  // --to is inclusive
        for key in ["trades", "winRate", "realisedPnl", "maxDrawdown", "sharpe", "sortino", "timeInMarket", "buyAndHoldReturn"] {
            #expect(report?[key] != nil, "report.json lacks \(key)")
        }
        let csv = try String(contentsOf: out.appendingPathComponent("equity.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("open_time,time,close,equity,drawdown,position\n"))
        #expect(try String(contentsOf: out.appendingPathComponent("equity.svg"), encoding: .utf8).hasPrefix("<svg"))

        let badSymbol = try runTool(binary, ["backtest", file, "--symbol", "eth/btc"], environment: environment)
        #expect(badSymbol.status == 2 && badSymbol.output.contains("invalid_symbol"))
        let badTime = try runTool(binary, ["backtest", file, "--symbol", "ETHBTC", "--from", "yesterday"], environment: environment)
        #expect(badTime.status == 2 && badTime.output.contains("invalid_time"))
        let badConfig = try runTool(binary, ["backtest", file, "--symbol", "ETHBTC"], environment: environment.merging(["FEE_BPS": "-1"]) { $1 })
        #expect(badConfig.status != 0 && badConfig.output.contains("FEE_BPS"))
        #expect(try runTool(binary, ["backtest", "/nonexistent.csv", "--symbol", "ETHBTC"], environment: environment).status != 0)
    }
}
