import Foundation
import Synchronization
import Testing
import TradingWire
import ZeroMQ

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real executables, started as separate processes on free loopback ports, for one test.
final class Stack: @unchecked Sendable {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `swift build` put the executables: beside this test binary.
    static let binaryDirectory: URL = {
        if let override = ProcessInfo.processInfo.environment["TRADING_BIN_DIR"] { return URL(fileURLWithPath: override) }
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("gateway").path) { return url }
        }
        return repositoryRoot.appendingPathComponent(".build/debug")
    }()

    let httpPort = freePort()
    let brokerPort = freePort()
    let controlPort = freePort()
    let modelHealthPort = freePort()
    let directory: URL
    private let lock = NSLock()
    private var processes: [String: Process] = [:]
    let environment: [String: String]
    /// Sent as `Authorization: Bearer` with every request when set.
    var token: String?

    /// The bus's CURVE keys (the default, as in production); nil with `curve: false`.
    let keys: CurveKeySet?

    init(_ overrides: [String: String] = [:], curve: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("stack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if curve {
            let keys = CurveKeySet(directory: directory.appendingPathComponent("curve"))
            try keys.generate(clients: BusRole.standardKeySet.map(\.rawValue))
            self.keys = keys
        } else {
            keys = nil
        }
        var environment = [
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "\(httpPort)",
            "BROKER_BIND": "tcp://127.0.0.1:\(brokerPort)", "CONTROL_BIND": "tcp://127.0.0.1:\(controlPort)",
            "BROKER_ENDPOINT": "tcp://127.0.0.1:\(brokerPort)", "CONTROL_ENDPOINT": "tcp://127.0.0.1:\(controlPort)",
            "HEARTBEAT_INTERVAL_MS": "200", "HEARTBEAT_LIVENESS": "3", "CONTROL_INTERVAL_MS": "200", "CONTROL_STALE_MS": "1000",
            "RISK_POLL_MS": "200", "NO_WORKER_WAIT_MS": "300", "REQUEST_TIMEOUT_MS": "2000",
            "DATA_DIR": directory.appendingPathComponent("data").path, "HEALTH_PORT": "0",
            "MODEL_PATH": Stack.repositoryRoot.appendingPathComponent("deploy/models/logit.json").path,
            "LOG_LEVEL": "info",
            // The shared candles are from 2018: the stale-data guard is off unless a test turns it on.
            "MAX_CANDLE_AGE": "0",
        ]
        environment.merge(overrides) { _, new in new }
        self.environment = environment
    }

    deinit { stopAll() }

    /// Starts the gateway and one of each worker, and waits for `/health` to say ok.
    func startAll() async throws {
        try start("gateway")
        for worker in ["risk-worker", "feature-worker", "execution-worker"] { try start(worker) }
        try start("model-worker", ["HEALTH_PORT": "\(modelHealthPort)"])
        try await waitUntil("the stack is healthy") { try await self.get("/health").json["ok"] as? Bool == true }
    }

    /// A hand-held ROUTER in the broker's place, on this stack's broker port, so that a test
    /// decides what a REQUEST carries (in the clear: the test plays the broker, not an attacker).
    func handHeldBroker(in context: ZMQContext) throws -> ZMQSocket {
        let router = try context.socket(.router)
        try router.setOption(ZMQOption.receiveTimeout, 5000)
        try router.bind("tcp://127.0.0.1:\(brokerPort)")
        return router
    }

    /// Starts one executable; `name` may carry a suffix (`feature-worker#2`) for replicas.
    func start(_ name: String, _ extra: [String: String] = [:]) throws {
        let executable = String(name.split(separator: "#").first ?? Substring(name))
        let process = Process()
        process.executableURL = Stack.binaryDirectory.appendingPathComponent(executable)
        process.environment = environment.merging(keyEnvironment(executable)) { _, new in new }.merging(extra) { _, new in new }
        let log = directory.appendingPathComponent("\(name).log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        lock.withLock { processes[name] = process }
    }

    /// Runs an executable to completion with this stack's environment (plus `extra`), for
    /// start-up refusals: its exit status and everything it printed.
    /// Runs `executable` to its end (or stops it with SIGTERM after `timeoutSeconds`).
    func runOnce(_ executable: String, _ extra: [String: String] = [:], timeoutSeconds: Int? = nil) throws -> (status: Int32, output: String) {
        let environment = environment.merging(keyEnvironment(executable)) { _, new in new }.merging(extra) { _, new in new }
        return try runTool(
            Stack.binaryDirectory.appendingPathComponent(executable).path,
            [],
            environment: environment,
            timeoutSeconds: timeoutSeconds
        )
    }

    /// The CURVE variables of an executable: the gateway's server key, or its worker role's key.
    func keyEnvironment(_ executable: String) -> [String: String] {
        guard let keys else { return [:] }
        switch executable {
        case "gateway": return keys.gatewayEnvironment
        case "risk-worker": return keys.clientEnvironment(BusRole.risk.rawValue)
        case "execution-worker": return keys.clientEnvironment(BusRole.execution.rawValue)
        case "feature-worker": return keys.clientEnvironment(BusRole.feature.rawValue)
        case "model-worker": return keys.clientEnvironment(BusRole.model.rawValue)
        default: return [:]
        }
    }

    /// A key pair of the set, for a hand-written client (nil without CURVE).
    func keyPair(_ role: BusRole) throws -> CurveKeyPair? {
        guard let keys else { return nil }
        let secret = try String(contentsOf: keys.secretFile(role.rawValue), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try CurveKeyPair(secretKey: secret)
    }

    /// The gateway's public key (nil without CURVE).
    var serverKey: String? {
        guard let keys else { return nil }
        return try? String(contentsOf: keys.gatewayPublicFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The process id of a started executable (for CPU measurements).
    func pid(_ name: String) -> Int32? { lock.withLock { processes[name]?.processIdentifier } }

    /// Sends a signal without forgetting the process (SIGSTOP / SIGCONT).
    func signal(_ name: String, _ signal: Int32) {
        guard let process = lock.withLock({ processes[name] }) else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Kills every process and starts the whole stack again on the same ports and data.
    func restartAll() async throws {
        stopAll()
        try await startAll()
    }

    func kill(_ name: String, signal: Int32 = SIGKILL) {
        guard let process = lock.withLock({ processes.removeValue(forKey: name) }) else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    func stopAll() {
        let all = lock.withLock { () -> [Process] in
            for process in processes.values where process.isRunning { Foundation.kill(process.processIdentifier, SIGCONT) }
            defer { processes.removeAll() }
            return Array(processes.values)
        }
        for process in all where process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        for process in all { process.waitUntilExit() }
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    // MARK: HTTP

    struct Answer: Sendable {
        let status: Int
        let data: Data
        /// The `Retry-After` header, when the answer has one.
        var retryAfter: String? = nil
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    func get(_ path: String, port: Int? = nil) async throws -> Answer {
        try await request("GET", path, body: nil, port: port)
    }

    func post(
        _ path: String,
        _ body: String?,
        headers: [String: String] = ["Content-Type": "application/json"],
        session: URLSession = .shared
    ) async throws -> Answer {
        try await request("POST", path, body: body.map { Data($0.utf8) }, headers: headers, session: session)
    }

    /// A session that opens as many connections as the test asks for at once (the shared one
    /// queues beyond a few per host).
    static let wideSession: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: configuration)
    }()

    func post(_ path: String, json: [String: Any]) async throws -> Answer {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await request("POST", path, body: data, headers: ["Content-Type": "application/json"])
    }

    func request(
        _ method: String,
        _ path: String,
        body: Data?,
        headers: [String: String] = [:],
        port: Int? = nil,
        session: URLSession = .shared
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port ?? httpPort)\(path)")!, timeoutInterval: 10)
        request.httpMethod = method
        request.httpBody = body
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return Answer(status: http?.statusCode ?? 0, data: data, retryAfter: http?.value(forHTTPHeaderField: "Retry-After"))
    }

    /// The account as `GET /api/positions` shows it.
    func account() async throws -> [String: Any] { try await get("/api/positions").json }

    /// Feeds the first `count` real ETH/BTC candles as `symbol`.
    func feedCandles(symbol: String = "BTCUSDT", count: Int = 60, from offset: Int = 0) async throws -> Answer {
        let candles = try Stack.sharedCandles().dropFirst(offset).prefix(count)
        return try await post("/api/market/candles", json: ["symbol": symbol, "candles": Array(candles)])
    }

    static func sharedCandles() throws -> [[String: Any]] {
        let url = repositoryRoot.appendingPathComponent("market-data/candles/ETH_BTC-5m.csv")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().map { line in
            let f = line.split(separator: ",")
            return [
                "openTime": Int64(f[0])!, "open": Double(f[1])!, "high": Double(f[2])!, "low": Double(f[3])!,
                "close": Double(f[4])!, "volume": Double(f[5])!,
            ]
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
extension Stack {
    /// The ledger's audit trail, one `action | requested_by | reason` line a row (read with
    /// Python's sqlite3, read-only, beside the running risk worker).
    func auditTrail() throws -> String {
        let ledger = directory.appendingPathComponent("data/ledger.sqlite").path
        let script =
            "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); "
            + "print('\\n'.join(' | '.join(map(str, r)) for r in c.execute('SELECT action, requested_by, reason FROM audit')))"
        let result = try runTool("/usr/bin/python3", ["-c", script, ledger])
        #expect(result.status == 0, "\(result.output)")
        return result.output
    }
}

func waitUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: @Sendable () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

/// A TCP port nobody listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
