import Foundation
import ServiceSupport
import TradingWire

/// `trading-stack`: runs the whole pipeline as local processes on loopback, restarting any that
/// die, each one's log on stdout (prefixed with its name) and in `logs/<name>.log`.
///
///     trading-stack [run]                  start the stack (Ctrl-C stops it)
///     trading-stack replay FILE [SYMBOL]   stream a candle CSV into a running gateway
///     trading-stack --help                 every option (see `TradingStack`)
///
/// Environment: `STACK_LOG_DIR` (default `logs`; each file rotated past `STACK_LOG_MAX_BYTES`,
/// default 50 MB, keeping `STACK_LOG_FILES` old ones, default 5), `STACK_DATA_DIR` (default `data`),
/// `STACK_MODELS` (`id=path,...`, default the three shipped models logit, xgb and rsi, served by one
/// model-worker as a bundle, health on :9000), `STACK_MODEL_BUNDLE` (`off`: one model-worker per
/// model id instead, the first one's health on :9000, the others on the next ports), `STACK_HEALTH_PORT_BASE` (9100: feature,
/// risk and execution workers serve `/health` and `/metrics` on base+1, +2, +3; replica n adds 10(n-1)),
/// `FEATURE_WORKERS`, `MODEL_WORKERS`, `EXECUTION_WORKERS` (replicas, default 1), `FEED_FILE`, `FEED_SYMBOL`,
/// `FEED_INTERVAL_MS`, `MARKET_SOURCE` (`binance` or `none`: the market-feed process, health on base+4),
/// `STACK_CURVE` (`off`: the bus in the clear; by default a CURVE key set is
/// made under the data folder on first start and reused); every other variable passes through.
let environment = ProcessInfo.processInfo.environment
let binaryDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()

func runStack() -> Never {
    let logs = URL(fileURLWithPath: environment["STACK_LOG_DIR"] ?? "logs")
    let data = URL(fileURLWithPath: environment["STACK_DATA_DIR"] ?? "data")
    let supervisor: Supervisor
    do {
        let reader = EnvironmentReader(environment)
        supervisor = try Supervisor(
            logDirectory: logs,
            logMaxBytes: UInt64(try reader.int("STACK_LOG_MAX_BYTES", default: 50_000_000, in: 4_096...10_000_000_000)),
            logFiles: try reader.int("STACK_LOG_FILES", default: 5, in: 0...100)
        )
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    } catch {
        FileHandle.standardError.write(Data("trading-stack cannot start: \(error)\n".utf8))
        exit(1)
    }
    let keys: (gateway: [String: String], client: (BusRole) -> [String: String])
    do {
        keys = try BusKeys.environment(dataDirectory: data, environment: environment)
    } catch {
        FileHandle.standardError.write(Data("cannot make the bus's CURVE keys: \(error)\n".utf8))
        exit(1)
    }
    func binary(_ name: String) -> String { binaryDirectory.appendingPathComponent(name).path }
    // Model ids and their artifacts: one model-worker serving them all as a bundle, or one per id
    // (STACK_MODEL_BUNDLE=off), times MODEL_WORKERS replicas.
    let models: [(id: String, path: String)] =
        (environment["STACK_MODELS"] ?? "logit=deploy/models/logit.json,xgb=deploy/models/xgb.json,rsi=deploy/models/rsi.json")
        .split(separator: ",").compactMap { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    // Health and /metrics: model workers on HEALTH_PORT (9000) and up, the others on base+1, +2, +3 and up.
    let base = Int(environment["STACK_HEALTH_PORT_BASE"] ?? "") ?? 9100
    let modelHealth = Int(environment["HEALTH_PORT"] ?? "") ?? 9000
    func replicas(_ key: String) -> Int { max(1, min(16, Int(environment[key] ?? "") ?? 1)) }
    func named(_ name: String, _ index: Int) -> String { index == 0 ? name : "\(name)-\(index + 1)" }
    var services = [
        ServiceSpec(name: "gateway", executable: binary("gateway"), environment: keys.gateway),
        ServiceSpec(
            name: "risk-worker",
            executable: binary("risk-worker"),
            environment: keys.client(.risk).merging(["DATA_DIR": data.path, "HEALTH_PORT": "\(base + 2)"]) { $1 }
        ),
    ]
    for index in 0..<replicas("FEATURE_WORKERS") {
        services.append(
            ServiceSpec(
                name: named("feature-worker", index),
                executable: binary("feature-worker"),
                environment: keys.client(.feature).merging(["HEALTH_PORT": "\(base + 1 + 10 * index)"]) { $1 }
            )
        )
    }
    var modelPort = modelHealth
    // A bundle answers every model id in one request: on few cores, a third of the messages and
    // process wake-ups of a worker per id (docs/benchmarks.md, "The model bundle").
    if models.count > 1, environment["STACK_MODEL_BUNDLE"] != "off" {
        let list = models.map { "\($0.id)=\($0.path)" }.joined(separator: ",")
        for index in 0..<replicas("MODEL_WORKERS") {
            services.append(
                ServiceSpec(
                    name: named("model-worker", index),
                    executable: binary("model-worker"),
                    environment: keys.client(.model).merging(["MODELS": list, "HEALTH_PORT": "\(modelHealth == 0 ? 0 : modelPort)"]) { $1 }
                )
            )
            modelPort += 1
        }
    }
    for (position, model) in models.enumerated() where models.count == 1 || environment["STACK_MODEL_BUNDLE"] == "off" {
        for index in 0..<replicas("MODEL_WORKERS") {
            let name = named(position == 0 ? "model-worker" : "model-worker-\(model.id)", index)
            services.append(
                ServiceSpec(
                    name: name,
                    executable: binary("model-worker"),
                    environment: keys.client(.model).merging([
                        "MODEL_ID": model.id, "MODEL_PATH": model.path, "HEALTH_PORT": "\(modelHealth == 0 ? 0 : modelPort)",
                    ]) { $1 }
                )
            )
            modelPort += 1
        }
    }
    for index in 0..<replicas("EXECUTION_WORKERS") {
        services.append(
            ServiceSpec(
                name: named("execution-worker", index),
                executable: binary("execution-worker"),
                environment: keys.client(.execution).merging(["DATA_DIR": data.path, "HEALTH_PORT": "\(base + 3 + 10 * index)"]) { $1 }
            )
        )
    }
    // The market feed (docs/market-data.md): MARKET_SOURCE=binance or none runs the market-feed
    // process; unset or replay keeps the in-process CSV replay below (offline, the paper default).
    // Live refuses to start without a feed that is not a replay.
    let marketSource = environment["MARKET_SOURCE"]?.lowercased() ?? ""
    if environment["TRADING_MODE"]?.lowercased() == "live", !["binance", "none"].contains(marketSource) {
        supervisor.say("TRADING_MODE=live needs MARKET_SOURCE=binance (or none, with candles posted from elsewhere)", level: "ERROR")
        exit(1)
    }
    let httpPort = environment["HTTP_PORT"] ?? "8000"
    if ["binance", "none"].contains(marketSource) {
        services.append(
            ServiceSpec(
                name: "market-feed",
                executable: binary("market-feed"),
                environment: ["GATEWAY_URL": "http://127.0.0.1:\(httpPort)", "HEALTH_PORT": "\(base + 4)"]
            )
        )
    }
    let stop = DispatchSemaphore(value: 0)
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { stop.signal() }
        source.resume()
        sources.append(source)
    }
    do {
        for service in services { try supervisor.start(service) }
    } catch {
        supervisor.say("could not start the stack: \(error)", level: "ERROR")
        supervisor.stopAll()
        exit(1)
    }
    let port = httpPort
    supervisor.say("stack starting: gateway http://127.0.0.1:\(port), model health http://127.0.0.1:9000/health; Ctrl-C stops it")
    if let file = environment["FEED_FILE"], !file.isEmpty, marketSource.isEmpty || marketSource == "replay" {
        let feed = CandleFeed(
            gateway: "http://127.0.0.1:\(port)",
            file: file,
            symbol: environment["FEED_SYMBOL"] ?? "BTCUSDT",
            intervalMilliseconds: Int(environment["FEED_INTERVAL_MS"] ?? "") ?? 1000,
            token: environment["API_TOKEN"]
        )
        Thread.detachNewThread {
            do {
                try feed.run(log: { supervisor.say($0) })
            } catch {
                supervisor.say("price feed stopped: \(error)", level: "WARN")
            }
        }
    }
    stop.wait()
    supervisor.say("stopping")
    supervisor.stopAll()
    _ = sources
    exit(0)
}
