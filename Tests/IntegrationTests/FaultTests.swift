import Foundation
import Synchronization
import Testing
import TradingWire
import ZeroMQ

/// Crashes, restarts and foreign peers, with real processes and sockets.
@Suite("faults and protocol", .serialized)
struct FaultTests {
    static let consensusBody = #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#
    /// A consensus whose features the feature worker must compute (candles given, no features).
    static let computedBody = #"{"symbol": "BTCUSDT", "candles": [\#(OverloadTests.candles)]}"#

    @Test("a gateway whose broker port is taken exits non-zero within seconds and says why, instead of hanging without a listener")
    func brokerBindFailureExits() async throws {
        let stack = try Stack()
        try stack.start("gateway")
        defer { stack.stopAll() }
        try await waitUntil("the first gateway answers") { (try? await stack.get("/livez").status) == 200 }
        // A second gateway on the same broker and control ports (its own HTTP port).
        let second = Process()
        second.executableURL = Stack.binaryDirectory.appendingPathComponent("gateway")
        second.environment = stack.environment.merging(stack.keyEnvironment("gateway")) { _, new in new }.merging(["HTTP_PORT": "\(freePort())"]) {
            _,
            new in new
        }
        let output = stack.directory.appendingPathComponent("second-gateway.log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        second.standardOutput = handle
        second.standardError = handle
        try second.run()
        let deadline = ContinuousClock.now + .seconds(15)
        while second.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let hung = second.isRunning
        if hung {
            // A hung gateway may not end on SIGTERM either (its graceful shutdown waits on the same broker).
            kill(second.processIdentifier, SIGKILL)
        }
        second.waitUntilExit()
        let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(!hung, "the gateway was still running 15 s after its broker bind failed: \(log)")
        #expect(second.terminationStatus != 0)
        #expect(log.contains("Address already in use"), "\(log)")
        // The first gateway is untouched.
        #expect(try await stack.get("/livez").status == 200)
    }

    @Test("a worker killed with SIGKILL under traffic is dropped; requests answer again once a replica is back")
    func killWorkerUnderTraffic() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let statuses = Mutex<[Int]>([])
        let stop = Mutex(false)
        let traffic = Task {
            while !stop.withLock({ $0 }) {
                let status = (try? await stack.post("/api/ai/consensus", Self.computedBody).status) ?? -1
                statuses.withLock { $0.append(status) }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let killedAt = ContinuousClock.now
        stack.kill("feature-worker")
        try await waitUntil("the gateway drops the dead worker", timeout: .seconds(5)) {
            let workers = try await stack.get("/health").json["workers"] as? [String: Int]
            return workers?["feature"] == nil
        }
        let dropped = ContinuousClock.now - killedAt
        // Liveness is 3 heartbeats of 200 ms: dropped after about 0.6 s, one more interval of slack.
        #expect(dropped < .milliseconds(1_500), "dropped after \(dropped)")
        #expect(try await stack.get("/health").json["ok"] as? Bool == false)
        let whileDown = try await stack.post("/api/ai/consensus", Self.computedBody)
        #expect(whileDown.status == 503)
        #expect(whileDown.json["error"] as? String == "service_unavailable")
        // Every feature given: nothing to compute, so the consensus does not need the feature worker.
        let given = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(given.status == 200, "\(given.text)")
        #expect(given.json["featureSource"] as? String == "given")
        #expect((given.json["votes"] as? [Any])?.isEmpty == false)

        try stack.start("feature-worker#2")
        try await waitUntil("requests are answered again") {
            try await stack.post("/api/ai/consensus", Self.computedBody).status == 200
        }
        stop.withLock { $0 = true }
        await traffic.value
        let seen = statuses.withLock { $0 }
        #expect(seen.contains(200))
        #expect(seen.allSatisfy { [200, 503, 504].contains($0) }, "unexpected statuses \(Set(seen))")
        #expect(!stack.log("gateway").contains("internal_error"))
    }

    @Test("an idempotent request is retried on another replica when its worker dies mid-request")
    func retryOnReplica() async throws {
        let stack = try Stack()
        try await stack.startAll()
        try stack.start("feature-worker#2")
        try await waitUntil("two feature workers are live") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["feature"] == 2
        }
        // Kill one replica while requests flow; every request must still be answered 200 or, at
        // worst, wait for the retry on the survivor (never 5xx from a lost idempotent request).
        async let burst: [Int] = withTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask { (try? await stack.post("/api/ai/consensus", Self.computedBody).status) ?? -1 }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        try await Task.sleep(for: .milliseconds(50))
        stack.kill("feature-worker")
        let statuses = await burst
        #expect(statuses.filter { $0 == 200 }.count == statuses.count, "statuses \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
    }

    @Test("a restarted gateway is rejoined by the running workers")
    func gatewayRestart() async throws {
        let stack = try Stack()
        try await stack.startAll()
        stack.kill("gateway")
        try stack.start("gateway#2")
        try await waitUntil("the workers rejoin the new gateway") {
            try await stack.get("/health").json["ok"] as? Bool == true
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200)
    }

    @Test("a foreign MDP/0.1 worker on a raw DEALER joins and votes, and heartbeats are exchanged")
    func foreignWorker() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let endpoint = "tcp://127.0.0.1:\(stack.brokerPort)"
        let seenHeartbeat = Mutex(false)
        let worker = RawMDPWorker(endpoint: endpoint, service: "model.raw", keys: try stack.keyPair(.model), serverKey: stack.serverKey) { frames in
            if frames.count >= 3, frames[2] == [0x04] { seenHeartbeat.withLock { $0 = true } }
            return [Array(#"{"v":1,"result":{"modelId":"raw","version":"py-1","probabilityUp":0.9}}"#.utf8)]
        }
        defer { worker.stop() }
        try await waitUntil("model.raw is registered") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["model.raw"] == 1
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        let votes = try #require(consensus.json["votes"] as? [[String: Any]])
        #expect(votes.map { $0["modelId"] as? String } == ["logit", "raw"])
        try await waitUntil("the broker heartbeats the foreign worker", timeout: .seconds(3)) { seenHeartbeat.withLock { $0 } }
        worker.stop()
        try await waitUntil("DISCONNECT removes it at once", timeout: .seconds(2)) {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["model.raw"] == nil
        }
    }

    @Test("requests packed into one REQUEST each get their own reply frame; a short reply leaves the rest out")
    func packedRequests() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let endpoint = "tcp://127.0.0.1:\(stack.brokerPort)"
        let largestRequest = Mutex(0)
        let answerOnlyFirstFrame = Mutex(false)
        // A raw MDP worker that is slow to answer (so that requests queue up at the broker) and
        // votes with its request's id as the version, so that every answer shows whose it was.
        let worker = RawMDPWorker(endpoint: endpoint, service: "model.echo", keys: try stack.keyPair(.model), serverKey: stack.serverKey) { frames in
            guard frames.count >= 6, frames[2] == [0x02] else { return nil }
            let requests = Array(frames[5...])
            largestRequest.withLock { $0 = max($0, requests.count) }
            Thread.sleep(forTimeInterval: 0.15)
            let replies: [[UInt8]] = requests.map { body in
                let envelope = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
                let id = envelope?["requestId"] as? String ?? "?"
                return Array(#"{"v":1,"result":{"modelId":"echo","version":"\#(id)","probabilityUp":0.7}}"#.utf8)
            }
            return answerOnlyFirstFrame.withLock { $0 } ? [replies[0]] : replies
        }
        defer { worker.stop() }
        try await waitUntil("model.echo is registered") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["model.echo"] == 1
        }

        func burst(_ count: Int) async throws -> [[String: Any]] {
            try await withThrowingTaskGroup(of: Data.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        let answer = try await stack.post("/api/ai/consensus", Self.consensusBody)
                        #expect(answer.status == 200, "\(answer.text)")
                        return answer.data
                    }
                }
                var answers: [[String: Any]] = []
                for try await data in group { answers.append((try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]) }
                return answers
            }
        }

        for answer in try await burst(12) {
            let votes = answer["votes"] as? [[String: Any]] ?? []
            let echo = votes.first { $0["modelId"] as? String == "echo" }
            #expect(echo?["version"] as? String == answer["requestId"] as? String, "a vote reached the wrong request: \(answer)")
        }
        #expect(largestRequest.withLock { $0 } > 1, "the broker never packed waiting requests together")

        answerOnlyFirstFrame.withLock { $0 = true }
        let answers = try await burst(8)
        let leftOut = answers.filter { answer in
            (answer["excluded"] as? [[String: Any]] ?? []).contains { $0["modelId"] as? String == "echo" }
        }
        #expect(!leftOut.isEmpty, "a reply with too few frames must leave the unanswered requests out of the vote")
        for answer in answers where !leftOut.contains(where: { $0["requestId"] as? String == answer["requestId"] as? String }) {
            let echo = (answer["votes"] as? [[String: Any]] ?? []).first { $0["modelId"] as? String == "echo" }
            #expect(echo?["version"] as? String == answer["requestId"] as? String)
        }
        #expect(stack.log("gateway").contains("reply frames do not match the requests in hand"))
    }

    @Test("a new control subscriber gets the whole state at once, and a halt reaches it quickly")
    func controlChannel() async throws {
        // A long re-publish interval, so that only the welcome can explain a quick first message.
        let stack = try Stack(["CONTROL_INTERVAL_MS": "10000", "CONTROL_STALE_MS": "30000"])
        try await stack.startAll()
        let context = try ZMQContext()
        let subscriber = try context.socket(.subscriber)
        if let keys = try stack.keyPair(.observer), let serverKey = stack.serverKey { try subscriber.makeCurveClient(keys, serverKey: serverKey) }
        try subscriber.setOption(ZMQOption.subscribe, bytes: ControlState.topic)
        try subscriber.setOption(ZMQOption.receiveTimeout, 2000)
        let subscribedAt = ContinuousClock.now
        try subscriber.connect("tcp://127.0.0.1:\(stack.controlPort)")
        let welcome = try #require(try subscriber.receive())
        let welcomeDelay = ContinuousClock.now - subscribedAt
        let state = try WireCodec.decode(ControlState.self, from: welcome[1])
        #expect(!state.halted)
        #expect(state.tradingMode == .paper)
        #expect(welcomeDelay < .seconds(2))

        let haltedAt = ContinuousClock.now
        #expect(try await stack.post("/api/halt", #"{"reason": "propagation test"}"#).status == 200)
        var halted: ControlState?
        while halted == nil, let message = try subscriber.receive() {
            let next = try WireCodec.decode(ControlState.self, from: message[1])
            if next.halted { halted = next }
        }
        let propagation = ContinuousClock.now - haltedAt
        #expect(halted?.haltReason == "propagation test")
        #expect(halted.map { $0.seq > state.seq } == true)
        #expect(propagation < .seconds(1), "halt took \(propagation) to reach a subscriber")
        print("control: welcome after \(welcomeDelay), halt propagated in \(propagation)")
    }
}

/// Every process exposes Prometheus metrics and a health answer.
@Suite("observability", .serialized)
struct ObservabilityTests {
    @Test("the gateway and every worker serve /metrics; workers answer /health")
    func metricsEverywhere() async throws {
        let stack = try Stack()
        let featurePort = freePort()
        let riskPort = freePort()
        let executionPort = freePort()
        try stack.start("gateway")
        try stack.start("risk-worker", ["HEALTH_PORT": "\(riskPort)"])
        try stack.start("feature-worker", ["HEALTH_PORT": "\(featurePort)"])
        try stack.start("execution-worker", ["HEALTH_PORT": "\(executionPort)"])
        try stack.start("model-worker", ["HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the stack is healthy") { try await stack.get("/health").json["ok"] as? Bool == true }
        #expect(try await stack.post("/api/ai/consensus", FaultTests.computedBody).status == 200)

        let gateway = try await stack.get("/metrics").text
        for name in [
            "broker_requests_total{service=\"feature\",outcome=\"ok\"} 1", "broker_live_workers{service=\"execution\"} 1",
            "gateway_http_request_duration_seconds", "control_risk_locked 0", "broker_dispatches_total{service=\"feature\"} 1",
            "broker_dispatched_requests_total{service=\"feature\"} 1",
        ] {
            #expect(gateway.contains(name), "gateway /metrics lacks \(name)")
        }
        let model = try await stack.get("/metrics", port: stack.modelHealthPort).text
        #expect(model.contains("model_predictions_total{model_id=\"logit\""))
        for (port, service) in [(featurePort, "feature"), (riskPort, "risk"), (executionPort, "execution")] {
            let health = try await stack.get("/health", port: port)
            #expect(health.status == 200)
            #expect(health.json["service"] as? String == service)
            #expect(health.json["broker_connected"] as? Bool == true)
            let metrics = try await stack.get("/metrics", port: port).text
            #expect(metrics.contains("worker_broker_connected{service=\"\(service)\"} 1"))
        }
        let feature = try await stack.get("/metrics", port: featurePort).text
        #expect(feature.contains("worker_requests_total{service=\"feature\"} 1"))
    }
}
