import Foundation
import Synchronization
import Testing
import TradingWire
import ZeroMQ

/// Model workers as real processes: several model ids voting, timeouts, quorum, reload on
/// SIGHUP, canary routing, bad artifacts.
@Suite("models against the real stack", .serialized)
struct ModelTests {
    static let models = Stack.repositoryRoot.appendingPathComponent("deploy/models")
    static let body = #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#

    func startThreeModels(_ stack: Stack) async throws {
        try stack.start("model-worker#xgb", ["MODEL_ID": "xgb", "MODEL_PATH": Self.models.appendingPathComponent("xgb.json").path])
        try stack.start("model-worker#rsi", ["MODEL_ID": "rsi", "MODEL_PATH": Self.models.appendingPathComponent("rsi.json").path])
        try await waitUntil("three model ids are live") {
            let workers = try await stack.get("/health").json["workers"] as? [String: Int]
            return workers?["model.logit"] == 1 && workers?["model.xgb"] == 1 && workers?["model.rsi"] == 1
        }
    }

    @Test("three model ids vote; one that stops answering is left out and named; quorum decides allow")
    func threeModels() async throws {
        let stack = try Stack(["MODEL_TIMEOUT_MS": "300", "CONSENSUS_QUORUM": "3"])
        try await stack.startAll()
        try await startThreeModels(stack)
        let all = try await stack.post("/api/ai/consensus", Self.body)
        let votes = try #require(all.json["votes"] as? [[String: Any]])
        #expect(votes.compactMap { $0["modelId"] as? String } == ["logit", "rsi", "xgb"])
        #expect(votes.allSatisfy { ($0["version"] as? String)?.isEmpty == false })
        let probabilities = Set(votes.compactMap { $0["probabilityUp"] as? Double })
        #expect(probabilities.count == 3, "three different models give three different probabilities")

        stack.signal("model-worker#xgb", SIGSTOP)
        let partial = try await stack.post("/api/ai/consensus", Self.body)
        #expect(partial.status == 200)
        #expect((partial.json["votes"] as? [Any])?.count == 2)
        let excluded = try #require(partial.json["excluded"] as? [[String: Any]])
        #expect(excluded.first?["modelId"] as? String == "xgb")
        #expect(partial.json["allow"] as? Bool == false)
        #expect((partial.json["reasons"] as? [String] ?? []).contains { $0.contains("quorum") })
        stack.signal("model-worker#xgb", SIGCONT)

        let health = try await stack.get("/health").json
        let versions = try #require(health["modelVersions"] as? [[String: Any]])
        #expect(Set(versions.compactMap { $0["modelId"] as? String }) == ["logit", "rsi", "xgb"])
    }

    @Test("SIGHUP reloads the artifact without dropping requests; a bad one is refused and the old one keeps serving")
    func reload() async throws {
        let stack = try Stack()
        let path = stack.directory.appendingPathComponent("model.json")
        try FileManager.default.copyItem(at: Self.models.appendingPathComponent("logit.json"), to: path)
        try stack.start("gateway")
        for worker in ["risk-worker", "feature-worker", "execution-worker"] { try stack.start(worker) }
        try stack.start("model-worker", ["HEALTH_PORT": "\(stack.modelHealthPort)", "MODEL_PATH": path.path])
        try await waitUntil("the stack is healthy") { try await stack.get("/health").json["ok"] as? Bool == true }
        let before = try await stack.get("/health", port: stack.modelHealthPort).json
        #expect(before["model_version"] as? String == "eth-btc-5m-v1")

        let statuses = Mutex<[Int]>([])
        let stop = Mutex(false)
        let traffic = Task {
            while !stop.withLock({ $0 }) {
                let status = (try? await stack.post("/api/ai/consensus", Self.body).status) ?? -1
                statuses.withLock { $0.append(status) }
            }
        }
        // A new version: the XGBoost artifact under the same model id.
        try Data(contentsOf: Self.models.appendingPathComponent("xgb.json")).write(to: path, options: .atomic)
        stack.signal("model-worker", SIGHUP)
        try await waitUntil("the new version serves") {
            try await stack.get("/health", port: stack.modelHealthPort).json["model_kind"] as? String == "xgboost"
        }
        let after = try await stack.get("/health", port: stack.modelHealthPort).json
        #expect(after["reloads"] as? Int == 1)
        #expect((after["model_checksum"] as? String) != (before["model_checksum"] as? String))

        try Data("{\"kind\": \"logistic\", \"broken\": true}".utf8).write(to: path, options: .atomic)
        stack.signal("model-worker", SIGHUP)
        try await waitUntil("the refusal is recorded") {
            try await stack.get("/health", port: stack.modelHealthPort).json["last_reload_error"] is String
        }
        #expect(try await stack.get("/health", port: stack.modelHealthPort).json["model_kind"] as? String == "xgboost")
        #expect(stack.log("model-worker").contains("model reload refused"))
        // The reloads can take less time than a few consensus requests (the artifacts are read
        // without JSONDecoder): the traffic runs on until it has seen some.
        try await waitUntil("consensus traffic was answered") { statuses.withLock { $0.count } > 5 }
        stop.withLock { $0 = true }
        await traffic.value
        let seen = statuses.withLock { $0 }
        #expect(seen.count > 5)
        #expect(seen.allSatisfy { $0 == 200 }, "statuses during reloads: \(Set(seen))")
    }

    @Test("a canary runs in shadow by default, then split, promote and rollback are one call each")
    func canary() async throws {
        let stack = try Stack()
        try await stack.startAll()
        try stack.start(
            "model-worker#canary",
            [
                "MODEL_ROLE": "canary", "MODEL_ID": "logit", "MODEL_VERSION": "canary-v2",
                "MODEL_PATH": Self.models.appendingPathComponent("xgb.json").path,
            ]
        )
        try await waitUntil("the canary is live") {
            (try await stack.get("/health").json["workers"] as? [String: Int])?["canary.logit"] == 1
        }
        func versions() async throws -> [String] {
            let votes = try await stack.post("/api/ai/consensus", Self.body).json["votes"] as? [[String: Any]] ?? []
            return votes.compactMap { $0["version"] as? String }
        }
        #expect(try await versions() == ["eth-btc-5m-v1"])  // shadow: scored, not voted
        _ = try await versions()
        let shadow = try #require((try await stack.get("/api/models").json["models"] as? [[String: Any]])?.first)
        #expect(shadow["canaryVersion"] as? String == "canary-v2")
        #expect((shadow["shadowCompared"] as? Int ?? 0) >= 2)
        #expect(try await stack.get("/metrics").text.contains("model_canary_comparisons_total"))

        #expect(try await stack.post("/api/models/logit/canary", #"{"mode": "split", "share": 1.0}"#).status == 200)
        #expect(try await versions() == ["canary-v2"])
        #expect(try await stack.post("/api/models/logit/rollback", nil).status == 200)
        #expect(try await versions() == ["eth-btc-5m-v1"])
        let promoted = try await stack.post("/api/models/logit/promote", nil)
        #expect(promoted.status == 200)
        #expect((promoted.json["canary"] as? [String: Any])?["mode"] as? String == "promoted")
        #expect(try await versions() == ["canary-v2"])
        let bad = try await stack.post("/api/models/logit/canary", #"{"mode": "split", "share": 7}"#)
        #expect(bad.status == 422)
        #expect(try await stack.post("/api/models/nope/promote", nil).status == 409)
    }

    @Test("a model worker answers a packed REQUEST frame by frame, in order, as it answers each alone")
    func packedRequestFrames() async throws {
        let stack = try Stack(curve: false)
        let context = try ZMQContext()
        let router = try stack.handHeldBroker(in: context)
        defer { router.close() }
        try stack.start("model-worker", ["HEALTH_PORT": "\(stack.modelHealthPort)"])
        let ready = try #require(try router.receive())
        #expect(ready.count == 5 && ready[3] == [0x01] && ready[4] == Array("model.logit".utf8))
        let worker = ready[0]

        let bodies = try [(-3.0, 0.1, 20.0), (0.0, 0.5, 50.0), (4.0, 1.5, 85.0)].enumerated().map { index, features in
            try WireCodec.encode(
                WireRequest(
                    op: "predict",
                    requestId: "r\(index)",
                    payload: PredictRequest(features: FeatureVector(mom20: features.0, rv5: features.1, rsi14: features.2))
                )
            )
        }
        func ask(_ requestBodies: [[UInt8]], client: UInt8) throws -> [[UInt8]] {
            try router.send([worker, [], MDP.workerHeader, [0x02], [client], []] + requestBodies)
            while true {
                let frames = try #require(try router.receive())
                if frames.count >= 7, frames[3] == [0x03] {
                    #expect(frames[4] == [client])
                    return Array(frames[6...])
                }
            }
        }
        func probability(_ reply: [UInt8]) throws -> Double {
            try #require(try WireCodec.decode(WireReply<ModelVote>.self, from: reply).result).probabilityUp
        }
        let alone = try bodies.enumerated().map { index, body in try probability(try #require(try ask([body], client: UInt8(index)).first)) }
        #expect(Set(alone).count == 3, "the three feature vectors should score differently: \(alone)")

        let packed = try ask(bodies + [Array("not json".utf8)], client: 9)
        try #require(packed.count == 4)
        #expect(try packed[0..<3].map(probability) == alone)
        let refusal = try WireCodec.decode(WireReply<ModelVote>.self, from: packed[3])
        #expect(refusal.result == nil && refusal.error != nil)
    }

    @Test("a model worker refuses to start on a missing or malformed artifact")
    func badArtifactAtStart() throws {
        let stack = try Stack()
        for path in ["/nonexistent/model.json", Self.models.appendingPathComponent("../Dockerfile").path] {
            let (status, output) = try stack.runOnce("model-worker", ["MODEL_PATH": path])
            #expect(status != 0)
            #expect(output.contains("\"level\":\"ERROR\""))
            #expect(output.contains("refusing to start"))
        }
    }

    @Test("a model id outside the one grammar is refused at start, naming it (MODEL_ID=a!b registered nowhere and retried forever)")
    func modelIDGrammarAtStart() throws {
        let stack = try Stack()
        for id in ["a!b", "a.b", String(repeating: "m", count: 65)] {
            let (status, output) = try stack.runOnce("model-worker", ["MODEL_ID": id], timeoutSeconds: 10)
            #expect(status != 0 && status != SIGTERM, "MODEL_ID=\(id) started (\(status))")
            #expect(output.contains("MODEL_ID") && output.contains(Identifier.modelID.grammar), "\(output)")
        }
    }
}
