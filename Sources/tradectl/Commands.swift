import ArgumentParser
import Foundation

/// Where the stack is and how to authenticate.
struct StackOptions: ParsableArguments {
    @Option(help: "The gateway (backend) base URL.")
    var url = ProcessInfo.processInfo.environment["TRADECTL_URL"] ?? "http://127.0.0.1:8000"

    @Option(name: .customLong("model-url"), help: "The model service base URL (its /health).")
    var modelURL = ProcessInfo.processInfo.environment["TRADECTL_MODEL_URL"] ?? "http://127.0.0.1:9000"

    @Option(help: "Bearer token for state-changing calls (default: $API_TOKEN).")
    var token = ProcessInfo.processInfo.environment["API_TOKEN"]

    @Flag(help: "Print the answer as JSON (one document) instead of text.")
    var json = false

    var client: StackClient { StackClient(backend: url, modelService: modelURL, token: token) }
}

@main
struct TradeCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tradectl",
        abstract: "The operator's runbook as commands, against the local or the compose stack.",
        subcommands: [
            Check.self, Preflight.self, Halt.self, Resume.self, Risk.self, Canary.self, Snapshot.self, Bench.self,
            Positions.self, Orders.self, Models.self, Model.self, Equity.self, Keys.self,
        ]
    )
}

/// "On Every Run": containers healthy, consensus smoke test, dry-run execute.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every \"On Every Run\" step, a PASS/FAIL line each.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        let client = stack.client
        let report = Report(json: stack.json)
        let health = try? await client.get("/health")
        report.check("backend /health .ok", health?.json["ok"] as? Bool == true, compact(health?.json["ok"]))
        if let problems = health?.json["problems"] as? [String], !problems.isEmpty { report.note("problems: \(problems.joined(separator: "; "))") }
        let model = try? await client.get("/health", model: true)
        report.check("model service /health .ok", model?.json["ok"] as? Bool == true, compact(model?.json["ok"]))
        let consensus = try? await client.post(
            "/api/ai/consensus",
            ["symbol": "BTCUSDT", "features": ["mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0]]
        )
        report.check(
            "consensus smoke test .allow",
            consensus?.status == 200 && consensus?.json["allow"] is Bool,
            "HTTP \(consensus?.status ?? 0), allow \(compact(consensus?.json["allow"])), confidence \(compact(consensus?.json["confidence"]))"
        )
        let execute = try? await client.post(
            "/api/trade/execute",
            ["symbol": "BTCUSDT", "side": "buy", "qtyUsd": 2000, "confidence": 0.9]
        )
        let paper = health?.json["tradingMode"] as? String != "live"
        report.check(
            "dry-run execute .dryRun",
            execute?.status == 200 && (execute?.json["dryRun"] as? Bool == true || !paper),
            "HTTP \(execute?.status ?? 0), dryRun \(compact(execute?.json["dryRun"]))\(execute?.status == 200 ? "" : ", \(execute?.text ?? "")")"
        )
        report.finish()
        if report.failures > 0 { throw ExitCode.failure }
    }
}

/// "Before Enabling Live Trading".
struct Preflight: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The \"Before Enabling Live Trading\" checks.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        let client = stack.client
        let report = Report(json: stack.json)
        let health = try await client.get("/health").json
        let config = health["config"] as? [String: Any] ?? [:]
        let risk = health["risk"] as? [String: Any] ?? [:]
        report.note("tradingMode: \(compact(health["tradingMode"]))")
        report.check(
            "confidence threshold set",
            (config["confidenceThreshold"] as? Double).map { $0 > 0.5 && $0 <= 1 } ?? false,
            compact(config["confidenceThreshold"])
        )
        for limit in ["maxOrderNotionalUsd", "maxPositionUsd", "maxGrossExposureUsd", "maxDailyLossUsd", "maxDrawdown"] {
            report.check("risk limit \(limit) set", (config[limit] as? Double).map { $0 > 0 } ?? false, compact(config[limit]))
        }
        report.check("every service live", health["ok"] as? Bool == true, compact(health["workers"]))
        report.check("not risk locked", risk["locked"] as? Bool == false, compact(risk["lockReason"]))
        report.check("not halted", risk["halted"] as? Bool == false, compact(risk["haltReason"]))
        let model = try? await client.get("/health", model: true)
        report.check("model loaded", model?.json["model_loaded"] as? Bool == true, "version \(compact(model?.json["model_version"]))")
        var confidences: [Double] = []
        for index in 0..<10 {
            let mom = Double(index * 20 - 100) / 100
            let answer = try? await client.post(
                "/api/ai/consensus",
                ["symbol": "BTCUSDT", "features": ["mom_20": mom, "rv_5": 0.2 + Double(index) / 10, "rsi_14": 30.0 + Double(index) * 5]]
            )
            if let confidence = answer?.json["confidence"] as? Double { confidences.append(confidence) }
        }
        let distinct = Set(confidences.map { ($0 * 1e6).rounded() }).count
        report.check(
            "confidence distribution varies",
            confidences.count == 10 && distinct > 1,
            "\(confidences.count) answers, \(distinct) distinct, range \(String(format: "%.3f", confidences.min() ?? 0))…\(String(format: "%.3f", confidences.max() ?? 0))"
        )
        report.finish()
        if report.failures > 0 { throw ExitCode.failure }
    }
}

/// Posts an operator action and prints the answer; a refusal exits non-zero.
func operatorAction(_ stack: StackOptions, _ path: String, _ body: [String: Any]) async throws {
    let answer = try await stack.client.post(path, body)
    print(answer.text)
    if answer.status != 200 { throw ExitCode.failure }
}

struct Halt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Halt trading now (broadcast to every worker).")
    @OptionGroup var stack: StackOptions
    @Option(help: "Why.") var reason = "halted with tradectl"

    func run() async throws {
        try await operatorAction(stack, "/api/halt", ["reason": reason, "requestedBy": "tradectl"])
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume trading after a halt.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        try await operatorAction(stack, "/api/resume", ["requestedBy": "tradectl"])
    }
}

struct Risk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Risk status, reset, the trading state and the protection locks.",
        subcommands: [Status.self, Reset.self, State.self, Locks.self, Unlock.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drawdown, equity, lock and halt, as /health shows them.")
        @OptionGroup var stack: StackOptions

        func run() async throws {
            let health = try await stack.client.get("/health").json
            print(compact(health["risk"]))
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear the drawdown lock (emergency only; logged with who asked).")
        @OptionGroup var stack: StackOptions
        @Option(help: "Why.") var reason = "reset with tradectl"

        func run() async throws {
            try await operatorAction(stack, "/api/risk/reset", ["reason": reason, "requestedBy": "tradectl"])
        }
    }

    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the trading state: ACTIVE, REDUCING (only orders that reduce a position) or HALTED."
        )
        @OptionGroup var stack: StackOptions
        @Argument(help: "ACTIVE, REDUCING or HALTED.") var state: String
        @Option(help: "Why.") var reason = "set with tradectl"

        func run() async throws {
            try await operatorAction(stack, "/api/risk/state", ["state": state, "reason": reason, "requestedBy": "tradectl"])
        }
    }

    struct Locks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The protection locks in force (GET /api/locks).")
        @OptionGroup var stack: StackOptions

        func run() async throws {
            let answer = try await stack.client.get("/api/locks")
            print(answer.text)
            if answer.status != 200 { throw ExitCode.failure }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a protection lock early (DELETE /api/locks/ID; needs the token).",
            discussion: "Prints the lock removed and those still in force; an unknown id prints the API's error (404 unknown_lock) and exits 1."
        )
        @OptionGroup var stack: StackOptions
        @Argument(help: "The lock's id, as `tradectl risk locks` lists it.") var id: String

        func run() async throws {
            guard
                let path = id.addingPercentEncoding(withAllowedCharacters: CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/;%")))
            else {
                throw ValidationError("the lock id is not valid text")
            }
            let answer = try await stack.client.delete("/api/locks/" + path)
            guard answer.status == 200 else {
                if stack.json {
                    print(answer.text)
                } else {
                    let error = answer.json
                    print(
                        "unlock refused: HTTP \(answer.status) \(plain(error["error"])): \(plain(error["detail"]).isEmpty ? answer.text : plain(error["detail"]))"
                    )
                }
                throw ExitCode.failure
            }
            if stack.json {
                print(answer.text)
            } else {
                let removed = answer.json["removed"] as? [String: Any] ?? [:]
                print(
                    "lock \(plain(removed["id"])) deleted (\(plain(removed["rule"])) on \(plain(removed["symbol"]).isEmpty ? "every symbol" : plain(removed["symbol"])))"
                )
                print("\((answer.json["locks"] as? [Any])?.count ?? 0) lock(s) still in force")
            }
        }
    }
}

/// "Canary test for X trades".
struct Canary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run N paper trades and summarise them.")
    @OptionGroup var stack: StackOptions
    @Option(help: "How many trades.") var trades = 10
    @Option(help: "Notional per trade.") var qtyUsd = 100.0
    @Option(help: "Symbol.") var symbol = "BTCUSDT"

    func run() async throws {
        let client = stack.client
        var statuses: [Int: Int] = [:]
        var filled = 0
        for _ in 0..<max(1, trades) {
            let answer = try await client.post(
                "/api/trade/execute",
                ["symbol": symbol, "side": "buy", "qtyUsd": qtyUsd, "confidence": 0.8]
            )
            statuses[answer.status, default: 0] += 1
            if answer.json["status"] as? String == "filled" { filled += 1 }
            if answer.status != 200 && !stack.json { print("      HTTP \(answer.status): \(answer.text)") }
        }
        let risk = try await client.get("/health").json["risk"] as? [String: Any]
        if stack.json {
            print(
                compact(
                    [
                        "trades": trades, "filled": filled, "statuses": Dictionary(uniqueKeysWithValues: statuses.map { ("\($0.key)", $0.value) }),
                        "equity": risk?["equity"] ?? NSNull(), "drawdown": risk?["drawdown"] ?? NSNull(),
                    ] as [String: Any]
                )
            )
        } else {
            print(
                "canary: \(filled)/\(trades) filled, statuses \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")), equity \(compact(risk?["equity"])), drawdown \(compact(risk?["drawdown"]))"
            )
        }
        if filled != trades { throw ExitCode.failure }
    }
}

/// "After Incidents": health of both services and the logs of a time window, into a folder.
struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Health snapshots and the logs of a window into a folder.")
    @OptionGroup var stack: StackOptions
    @Option(help: "Folder to write into.") var out = "snapshot-\(Int(Date().timeIntervalSince1970))"
    @Option(help: "Window start, ISO 8601 (UTC), e.g. 2024-01-01T10:00:00.") var since: String?
    @Option(help: "Window end, ISO 8601 (UTC).") var until: String?
    @Option(name: .customLong("logs-dir"), help: "The local stack's log folder.") var logsDirectory = "logs"
    @Flag(help: "Read the logs with `docker logs backend` and `docker compose logs model-service` instead.") var docker = false

    func run() async throws {
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let client = stack.client
        try (try await client.get("/health")).data.write(to: folder.appendingPathComponent("health_snapshot.json"))
        let model = try? await client.get("/health", model: true)
        try (model?.data ?? Data("{\"ok\": false, \"detail\": \"model service unreachable\"}".utf8))
            .write(to: folder.appendingPathComponent("model_snapshot.json"))
        if docker {
            var window: [String] = []
            if let since { window += ["--since", since] }
            if let until { window += ["--until", until] }
            try runTool(["docker", "logs", "backend"] + window, into: folder.appendingPathComponent("incident_logs.txt"))
            // Compose v2 (`docker compose logs --since/--until`), else v1 (`docker-compose`, whose
            // `logs` has no window: `docker logs` of each replica then).
            let modelLogs = folder.appendingPathComponent("model_logs.txt")
            if Self.succeeds(["docker", "compose", "version"]) {
                try runTool(["docker", "compose", "logs", "--no-color", "model-service"] + window, into: modelLogs)
            } else {
                try runTool(
                    ["sh", "-c", "for c in $(docker-compose ps -q model-service); do docker logs \"$c\" \"$@\"; done", "sh"] + window,
                    into: modelLogs
                )
            }
        } else {
            for (source, target) in [("gateway.log", "incident_logs.txt"), ("model-worker.log", "model_logs.txt")] {
                let text = (try? String(contentsOfFile: "\(logsDirectory)/\(source)", encoding: .utf8)) ?? ""
                let lines = text.split(separator: "\n").filter { line in
                    guard let ts = Self.timestamp(of: line) else { return since == nil && until == nil }
                    return (since.map { ts >= $0 } ?? true) && (until.map { ts < $0 } ?? true)
                }
                try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(
                    to: folder.appendingPathComponent(target),
                    atomically: true,
                    encoding: .utf8
                )
            }
        }
        print(stack.json ? compact(["folder": folder.path]) : "snapshot written to \(folder.path)")
    }

    /// The `ts` of a JSON log line (ISO 8601, so text order is time order).
    static func timestamp(of line: Substring) -> String? {
        guard let range = line.range(of: "\"ts\":\"") else { return nil }
        let rest = line[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    static func succeeds(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    private func runTool(_ arguments: [String], into file: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
    }
}

/// The wrk benchmark against a running stack: GET /health as the baseline, then consensus.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "wrk against /health (baseline) and /api/ai/consensus.")
    @OptionGroup var stack: StackOptions
    @Option(help: "Seconds per run.") var duration = 10
    @Option(help: "Connections.") var connections = 32
    @Option(help: "wrk threads.") var threads = 2

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tradectl-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let done = """
            done = function(summary, latency, requests)
              io.write(string.format("RESULT %.0f %.3f %.3f %d\\n", summary.requests / (summary.duration / 1e6),
                latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
            end
            """
        let consensus = """
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = '{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}'
            """ + "\n" + done
        try done.write(to: folder.appendingPathComponent("health.lua"), atomically: true, encoding: .utf8)
        try consensus.write(to: folder.appendingPathComponent("consensus.lua"), atomically: true, encoding: .utf8)
        var results: [[String: Any]] = []
        if !stack.json { print("wrk: \(threads) threads, \(connections) connections, \(duration) s per run against \(stack.url)") }
        for (name, script, path) in [
            ("GET /health (baseline)", "health.lua", "/health"), ("POST /api/ai/consensus", "consensus.lua", "/api/ai/consensus"),
        ] {
            let output = try wrk([
                "-t\(threads)", "-c\(connections)", "-d\(duration)s", "-s", folder.appendingPathComponent(script).path, stack.url + path,
            ])
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT") }) else {
                throw ValidationError("wrk gave no result: \(output)")
            }
            let fields = line.split(separator: " ")
            results.append([
                "name": name, "requestsPerSecond": Double(fields[1]) ?? 0, "p50Ms": Double(fields[2]) ?? 0, "p99Ms": Double(fields[3]) ?? 0,
                "non2xx": Int(fields[4]) ?? 0,
            ])
            if !stack.json {
                print(
                    "\(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(fields[1]) req/s   p50 \(fields[2]) ms   p99 \(fields[3]) ms   non-2xx \(fields[4])"
                )
            }
        }
        if stack.json { print(compact(["runs": results])) }
    }

    private func wrk(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("wrk failed (is it installed? apt-get install wrk): \(String(decoding: data, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
