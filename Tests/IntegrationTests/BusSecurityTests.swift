import Foundation
import Synchronization
import Testing
import TradingWire
import ZeroMQ

/// The bus admits only keys it knows, each for its own services, and nothing a worker answers is
/// taken on trust: real processes, real CURVE handshakes, hand-written attackers on raw sockets.
@Suite("bus security", .serialized)
struct BusSecurityTests {
    static let consensusBody = #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#

    /// A raw worker that remembers whether it was ever handed a REQUEST.
    final class Intruder: Sendable {
        final class Count: Sendable { let value = Mutex(0) }
        let worker: RawMDPWorker
        let handed = Count()

        init(stack: Stack, service: String, keys: CurveKeyPair?) {
            let handed = handed
            worker = RawMDPWorker(endpoint: "tcp://127.0.0.1:\(stack.brokerPort)", service: service, keys: keys, serverKey: stack.serverKey) {
                frames in
                guard frames.count >= 6, frames[2] == [0x02] else { return nil }
                handed.value.withLock { $0 += 1 }
                return [Array(#"{"v":1,"result":{"modelId":"evil","version":"x","probabilityUp":1.0}}"#.utf8)]
            }
        }
    }

    @Test("a keyless DEALER, an unknown key, and the model key posing as risk cannot register or get a request")
    func onlyKnownKeysJoin() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let modelKeys = try #require(try stack.keyPair(.model))
        let intruders = [
            Intruder(stack: stack, service: "model.keyless", keys: nil),
            Intruder(stack: stack, service: "model.stranger", keys: try CurveKeyPair.generate()),
            Intruder(stack: stack, service: ServiceName.risk, keys: modelKeys),
            Intruder(stack: stack, service: ServiceName.execution, keys: modelKeys),
        ]
        defer { for intruder in intruders { intruder.worker.stop() } }
        try await waitUntil("the gateway refuses the model key for risk") {
            stack.log("gateway").contains("READY refused: the key may not serve this service")
        }
        try await waitUntil("the gateway refuses the unknown key") {
            stack.log("gateway").contains("refused a bus connection with an unknown key")
        }
        for _ in 0..<20 {
            #expect(try await stack.post("/api/ai/consensus", Self.consensusBody).status == 200)
        }
        try await stack.feedCandles()
        for index in 0..<6 {
            let order = try await stack.post(
                "/api/trade/execute",
                json: ["symbol": "BTCUSDT", "side": index % 2 == 0 ? "buy" : "sell", "qtyUsd": 10, "confidence": 0.9]
            )
            #expect(order.status == 200, "\(order.text)")
        }
        let workers = try #require(try await stack.get("/health").json["workers"] as? [String: Int])
        #expect(workers["model.keyless"] == nil)
        #expect(workers["model.stranger"] == nil)
        #expect(workers[ServiceName.risk] == 1)
        #expect(workers[ServiceName.execution] == 1)
        for intruder in intruders { #expect(intruder.handed.value.withLock { $0 } == 0) }
        #expect(stack.log("gateway").contains(modelKeys.publicKey), "the refusal names the key")
    }

    @Test("a risk reply that echoes another order is refused and nothing reaches execution")
    func forgedReservation() async throws {
        let stack = try Stack()
        try await stack.startAll()
        stack.kill("risk-worker")
        let executions = Mutex(0)
        // The real risk key, stolen by a worker that approves an order nobody asked for.
        let forger = RawMDPWorker(
            endpoint: "tcp://127.0.0.1:\(stack.brokerPort)",
            service: ServiceName.risk,
            keys: try stack.keyPair(.risk),
            serverKey: stack.serverKey
        ) { frames in
            guard frames.count >= 6, frames[2] == [0x02] else { return nil }
            let request = (try? JSONSerialization.jsonObject(with: Data(frames[5]))) as? [String: Any]
            guard request?["op"] as? String == "reserve" else {
                return [Array(#"{"v":1,"error":{"code":"busy","detail":"no","status":503}}"#.utf8)]
            }
            return [
                Array(
                    #"{"v":1,"result":{"duplicate":false,"flags":{"halted":false,"riskLocked":false},"order":{"intent":{"clientOrderId":"forged-1","symbol":"BTCUSDT","side":"buy","qtyUsd":999999999,"confidence":0.9},"status":"pending","mode":"paper","createdAt":1,"terms":{"markPrice":1,"slippageBps":0,"feeBps":0}}}}"#
                        .utf8
                )
            ]
        }
        defer { forger.stop() }
        let spy = RawMDPWorker(
            endpoint: "tcp://127.0.0.1:\(stack.brokerPort)",
            service: ServiceName.execution,
            keys: try stack.keyPair(.execution),
            serverKey: stack.serverKey
        ) { frames in
            if frames.count >= 6, frames[2] == [0x02] { executions.withLock { $0 += 1 } }
            return nil
        }
        defer { spy.stop() }
        stack.kill("execution-worker")
        try await waitUntil("the forger serves risk") { (try await stack.get("/health").json["workers"] as? [String: Int])?[ServiceName.risk] == 1 }
        let order = try await stack.post(
            "/api/trade/execute",
            json: ["symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "mine-1"]
        )
        #expect(order.status == 502, "\(order.text)")
        #expect(order.json["error"] as? String == "risk_reply_mismatch")
        #expect((order.json["detail"] as? String)?.contains("forged-1") == true)
        #expect(executions.withLock { $0 } == 0)
        #expect(stack.log("gateway").contains(#""level":"ERROR""#))
    }

    @Test("a fill whose quantity does not match its notional is not settled; the order stays pending")
    func forgedFill() async throws {
        let stack = try Stack()
        try await stack.startAll()
        try await stack.feedCandles()
        stack.kill("execution-worker")
        let liar = RawMDPWorker(
            endpoint: "tcp://127.0.0.1:\(stack.brokerPort)",
            service: ServiceName.execution,
            keys: try stack.keyPair(.execution),
            serverKey: stack.serverKey
        ) { frames in
            guard frames.count >= 6, frames[2] == [0x02] else { return nil }
            let request = (try? JSONSerialization.jsonObject(with: Data(frames[5]))) as? [String: Any]
            let terms = ((request?["payload"] as? [String: Any])?["order"] as? [String: Any])?["terms"] as? [String: Any]
            let price = (terms?["markPrice"] as? Double) ?? 0.1
            // Ten dollars asked; a thousand times the quantity booked.
            let quantity = 10_000 / price
            return [Array(#"{"v":1,"result":{"price":\#(price),"quantity":\#(quantity),"notional":10,"fee":0.01,"dryRun":true,"filledAt":1}}"#.utf8)]
        }
        defer { liar.stop() }
        try await waitUntil("the liar serves execution") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?[ServiceName.execution] == 1
        }
        let order = try await stack.post(
            "/api/trade/execute",
            json: ["symbol": "BTCUSDT", "side": "buy", "qtyUsd": 10, "confidence": 0.9, "clientOrderId": "wrong-qty"]
        )
        #expect(order.status == 502, "\(order.text)")
        #expect(order.json["error"] as? String == "execution_reply_mismatch")
        let booked = try await stack.get("/api/orders/wrong-qty")
        #expect(booked.json["status"] as? String == "pending")
        let account = try await stack.account()
        #expect((account["positions"] as? [[String: Any]] ?? []).isEmpty, "nothing booked: \(account)")
    }

    @Test("votes of 1.7, NaN or in another model's name are left out and named")
    func forgedVotes() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let answers = [
            "high": #"{"v":1,"result":{"modelId":"high","version":"x","probabilityUp":1.7}}"#,
            "nan": #"{"v":1,"result":{"modelId":"nan","version":"x","probabilityUp":NaN}}"#,
            "liar": #"{"v":1,"result":{"modelId":"logit","version":"x","probabilityUp":0.99}}"#,
        ]
        let workers = try answers.map { id, answer in
            RawMDPWorker(
                endpoint: "tcp://127.0.0.1:\(stack.brokerPort)",
                service: "model.\(id)",
                keys: try stack.keyPair(.model),
                serverKey: stack.serverKey
            ) {
                frames in
                guard frames.count >= 6, frames[2] == [0x02] else { return nil }
                return Array(repeating: Array(answer.utf8), count: frames.count - 5)
            }
        }
        defer { for worker in workers { worker.stop() } }
        try await waitUntil("the three forgers are registered") {
            let live = try await stack.get("/health").json["workers"] as? [String: Int] ?? [:]
            return answers.keys.allSatisfy { live["model.\($0)"] == 1 }
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        let votes = try #require(consensus.json["votes"] as? [[String: Any]])
        #expect(votes.compactMap { $0["modelId"] as? String } == ["logit"])
        let excluded = try #require(consensus.json["excluded"] as? [[String: Any]])
        #expect(Set(excluded.compactMap { $0["modelId"] as? String }) == ["high", "liar", "nan"])
        let reasons = Dictionary(
            uniqueKeysWithValues: excluded.compactMap { entry in (entry["modelId"] as? String).map { ($0, entry["reason"] as? String ?? "") } }
        )
        #expect(reasons["high"]?.contains("1.7") == true)
        #expect(reasons["liar"]?.contains("logit") == true)
    }

    @Test("a halt reaches the control channel while the risk worker is stopped; silence halts too")
    func haltWithoutRiskWorker() async throws {
        let stack = try Stack(["RISK_POLL_MS": "200", "CONTROL_INTERVAL_MS": "200"])
        try await stack.startAll()
        let subscriber = try ControlSubscriber(stack: stack)
        try await waitUntil("a first control state") { subscriber.latest()?.halted == false }

        stack.signal("risk-worker", SIGSTOP)
        let sentAt = ContinuousClock.now
        async let answer = stack.post("/api/halt", #"{"reason": "kill switch test"}"#)
        try await waitUntil("the halt is on the channel", timeout: .seconds(1.5)) { subscriber.latest()?.halted == true }
        let propagation = ContinuousClock.now - sentAt
        #expect(subscriber.latest()?.haltReason == "kill switch test")
        let halt = try await answer
        #expect(halt.status == 202, "\(halt.text)")
        #expect(halt.json["persisted"] as? Bool == false)
        print("halt reached the channel in \(propagation) with the risk worker stopped")
        stack.signal("risk-worker", SIGCONT)
        try await waitUntil("the risk worker records the halt") {
            ((try await stack.get("/health").json["risk"] as? [String: Any])?["halted"] as? Bool) == true
        }
        #expect(try await stack.post("/api/resume", nil).status == 200)
        try await waitUntil("resume reaches the channel") { subscriber.latest()?.halted == false }

        stack.kill("risk-worker")
        try await waitUntil("the gateway halts every worker when the risk worker is gone", timeout: .seconds(10)) {
            subscriber.latest()?.halted == true
        }
        #expect(subscriber.latest()?.haltReason?.contains("silent") == true)
        try stack.start("risk-worker")
        try await waitUntil("the halt lifts when the risk worker answers again", timeout: .seconds(10)) { subscriber.latest()?.halted == false }
    }

    @Test("no keys: live mode and a non-loopback bind refuse to start; paper on loopback warns")
    func clearBusOnlyOnLoopback() async throws {
        let live = ["TRADING_MODE": "live", "API_TOKEN": "t", "EXCHANGE_API_KEY": "k", "EXCHANGE_API_SECRET": "s"]
        let (liveStatus, liveLog) = try Stack(live, curve: false).runOnce("gateway")
        #expect(liveStatus != 0)
        #expect(liveLog.contains("CURVE keys in live mode"))
        let open = try Stack(curve: false)
        let (openStatus, openLog) = try open.runOnce("gateway", ["BROKER_BIND": "tcp://0.0.0.0:\(open.brokerPort)"])
        #expect(openStatus != 0)
        #expect(openLog.contains("refusing to start"))
        let (workerStatus, workerLog) = try open.runOnce("feature-worker", ["BROKER_ENDPOINT": "tcp://gateway.example:5555"])
        #expect(workerStatus != 0)
        #expect(workerLog.contains("CURVE keys to reach a broker beyond loopback"))

        let clear = try Stack(curve: false)
        try await clear.startAll()
        #expect(clear.log("gateway").contains("the bus runs without CURVE"))
        #expect(try await clear.post("/api/ai/consensus", Self.consensusBody).status == 200)
    }

    @Test("a Python (pyzmq) MDP worker with its own key joins and votes")
    func pythonWorker() async throws {
        let stack = try Stack()
        let keys = try #require(stack.keys)
        // Its own pair, admitted with the model role, as `tradectl keys add` does.
        _ = try keys.addClient("py-worker", role: BusRole.model.rawValue)
        try await stack.startAll()

        let python = Process()
        let debianPython = "/usr/bin/python3"
        python.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: debianPython) ? debianPython : "/usr/bin/env")
        python.arguments =
            (python.executableURL?.path == debianPython ? [] : ["python3"]) + [
                Stack.repositoryRoot.appendingPathComponent("examples/pyzmq_model_worker.py").path
            ]
        python.environment = [
            "BROKER_ENDPOINT": "tcp://127.0.0.1:\(stack.brokerPort)", "MODEL_ID": "py", "HEARTBEAT_INTERVAL_MS": "200",
            "CURVE_SECRET_KEY_FILE": keys.secretFile("py-worker").path, "CURVE_SERVER_KEY_FILE": keys.gatewayPublicFile.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let output = stack.directory.appendingPathComponent("python.log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        python.standardOutput = try FileHandle(forWritingTo: output)
        python.standardError = python.standardOutput
        try python.run()
        defer {
            Foundation.kill(python.processIdentifier, SIGKILL)
            python.waitUntilExit()
        }
        try await waitUntil("model.py is registered", timeout: .seconds(20)) {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["model.py"] == 1
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        let votes = try #require(consensus.json["votes"] as? [[String: Any]], "\(consensus.text)")
        let vote = votes.first { $0["modelId"] as? String == "py" }
        #expect(vote?["version"] as? String == "pyzmq-1")
        #expect(vote?["probabilityUp"] as? Double == 0.65)
    }
}

/// A CURVE subscriber to the control channel, with the observer key, on its own thread.
final class ControlSubscriber: Sendable {
    private let state = Mutex<ControlState?>(nil)
    private let stopped = Mutex(false)

    init(stack: Stack) throws {
        let keys = try stack.keyPair(.observer)
        let serverKey = stack.serverKey
        let endpoint = "tcp://127.0.0.1:\(stack.controlPort)"
        let thread = Thread { [self] in
            do {
                let context = try ZMQContext()
                let subscriber = try context.socket(.subscriber)
                if let keys, let serverKey { try subscriber.makeCurveClient(keys, serverKey: serverKey) }
                try subscriber.setOption(ZMQOption.subscribe, bytes: ControlState.topic)
                try subscriber.setOption(ZMQOption.receiveTimeout, 50)
                try subscriber.connect(endpoint)
                while !self.stopped.withLock({ $0 }) {
                    guard let message = try subscriber.receive(), message.count == 2 else { continue }
                    if let next = try? WireCodec.decode(ControlState.self, from: message[1]) { self.state.withLock { $0 = next } }
                }
                subscriber.close()
            } catch {
                Issue.record("control subscriber failed: \(error)")
            }
        }
        thread.start()
    }

    func latest() -> ControlState? { state.withLock { $0 } }

    deinit { stopped.withLock { $0 = true } }
}
