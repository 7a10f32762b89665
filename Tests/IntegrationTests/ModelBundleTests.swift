import Foundation
import Testing
import TradingWire
import ZeroMQ

/// One model-worker serving several model ids (`MODELS`) as the bundle `models.<id>...`: the
/// gateway asks it for all of them in one request, and trusts its answer only whole.
@Suite("model bundles")
struct ModelBundleTests {
    static let consensusBody = #"{"symbol": "BTCUSDT", "features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}}"#

    static func artifact(_ name: String) -> String { Stack.repositoryRoot.appendingPathComponent("deploy/models/\(name).json").path }
    static let threeModels = "logit=\(artifact("logit")),xgb=\(artifact("xgb")),rsi=\(artifact("rsi"))"

    /// The gateway, risk, feature and execution workers, without a model worker.
    static func stackWithoutModels() async throws -> Stack {
        let stack = try Stack()
        try stack.start("gateway")
        for worker in ["risk-worker", "feature-worker", "execution-worker"] { try stack.start(worker) }
        return stack
    }

    static func votes(_ answer: Stack.Answer) -> [String: String] {
        let votes = answer.json["votes"] as? [[String: Any]] ?? []
        return Dictionary(
            uniqueKeysWithValues: votes.compactMap { vote in (vote["modelId"] as? String).map { ($0, vote["version"] as? String ?? "") } }
        )
    }

    @Test("a bundle votes for each of its models, as the workers of one model each did; /health and /metrics name every model")
    func bundleVotes() async throws {
        // The reference: three workers of one model each.
        let single = try await Self.stackWithoutModels()
        for (index, id) in ["logit", "xgb", "rsi"].enumerated() {
            try single.start("model-worker#\(index)", ["MODEL_ID": id, "MODEL_PATH": Self.artifact(id)])
        }
        try await waitUntil("three model workers") {
            (try await single.get("/health").json["workers"] as? [String: Int] ?? [:]).keys.filter { $0.hasPrefix("model.") }.count == 3
        }
        let reference = try await single.post("/api/ai/consensus", Self.consensusBody)
        single.stopAll()

        let stack = try await Self.stackWithoutModels()
        try stack.start("model-worker", ["MODELS": Self.threeModels, "HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the bundle is live") { (try await stack.get("/health").json["workers"] as? [String: Int])?["models.logit.xgb.rsi"] == 1 }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        #expect(Self.votes(consensus).keys.sorted() == ["logit", "rsi", "xgb"])
        #expect((consensus.json["excluded"] as? [Any])?.isEmpty == true, "\(consensus.text)")
        // The same votes, bit for bit, as the workers of one model each gave.
        #expect(consensus.json["votes"] as? NSArray == reference.json["votes"] as? NSArray, "\(consensus.text)\n\(reference.text)")
        #expect(consensus.json["probabilityUp"] as? Double == reference.json["probabilityUp"] as? Double)
        // The operator's view: every model id, as with a worker per id.
        let models = try await stack.get("/api/models").json["models"] as? [[String: Any]] ?? []
        #expect(models.compactMap { $0["modelId"] as? String } == ["logit", "rsi", "xgb"])
        let health = try await stack.get("/health", port: stack.modelHealthPort).json
        #expect(health["bundle"] as? String == "models.logit.xgb.rsi")
        #expect(health["model_loaded"] as? Bool == true)
        #expect(health["model_version"] as? String == Self.votes(consensus)["logit"])
        #expect((health["models"] as? [[String: Any]])?.compactMap { $0["model_id"] as? String } == ["logit", "xgb", "rsi"])
        let metrics = try await stack.get("/metrics", port: stack.modelHealthPort).text
        for id in ["logit", "xgb", "rsi"] { #expect(metrics.contains(#"model_id="\#(id)""#), "\(id) in /metrics") }
    }

    @Test("a model id with a worker of its own is asked there; the bundle is asked for the others, in one request")
    func ownWorkerFirst() async throws {
        let stack = try await Self.stackWithoutModels()
        try stack.start("model-worker", ["MODELS": Self.threeModels])
        try stack.start("model-worker#xgb", ["MODEL_ID": "xgb", "MODEL_PATH": Self.artifact("xgb"), "MODEL_VERSION": "xgb-of-its-own"])
        try await waitUntil("the bundle and the xgb worker are live") {
            let live = try await stack.get("/health").json["workers"] as? [String: Int] ?? [:]
            return live["models.logit.xgb.rsi"] == 1 && live["model.xgb"] == 1
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        #expect(Self.votes(consensus)["xgb"] == "xgb-of-its-own", "\(consensus.text)")
        #expect(Self.votes(consensus).keys.sorted() == ["logit", "rsi", "xgb"])
        // The bundle is asked once per consensus (for logit and rsi), the xgb worker once.
        let metrics = try await stack.get("/metrics").text
        let bundleCalls = metrics.split(separator: "\n").first {
            $0.hasPrefix("broker_requests_total") && $0.contains("models.logit.xgb.rsi") && $0.contains(#"outcome="ok""#)
        }
        #expect(bundleCalls?.hasSuffix(" 1") == true, "\(bundleCalls ?? "no bundle call counted")")
    }

    @Test("a bundle answering too few votes, or out of order, has every model id it was asked left out, named")
    func forgedBundles() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let answers = [
            // Two ids asked, one vote answered.
            "models.short1.short2": #"{"v":1,"result":{"votes":[{"modelId":"short1","version":"x","probabilityUp":0.9}]}}"#,
            // Both votes, in each other's places.
            "models.swap1.swap2":
                #"{"v":1,"result":{"votes":[{"modelId":"swap2","version":"x","probabilityUp":0.9},{"modelId":"swap1","version":"x","probabilityUp":0.9}]}}"#,
        ]
        let workers = try answers.map { service, answer in
            RawMDPWorker(
                endpoint: "tcp://127.0.0.1:\(stack.brokerPort)",
                service: service,
                keys: try stack.keyPair(.model),
                serverKey: stack.serverKey
            ) { frames in
                guard frames.count >= 6, frames[2] == [0x02] else { return nil }
                return Array(repeating: Array(answer.utf8), count: frames.count - 5)
            }
        }
        defer { for worker in workers { worker.stop() } }
        try await waitUntil("the forged bundles are registered") {
            let live = try await stack.get("/health").json["workers"] as? [String: Int] ?? [:]
            return answers.keys.allSatisfy { live[$0] == 1 }
        }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        #expect(Self.votes(consensus).keys.sorted() == ["logit"], "\(consensus.text)")
        let excluded = consensus.json["excluded"] as? [[String: Any]] ?? []
        let reasons = Dictionary(
            uniqueKeysWithValues: excluded.compactMap { entry in (entry["modelId"] as? String).map { ($0, entry["reason"] as? String ?? "") } }
        )
        #expect(reasons.keys.sorted() == ["short1", "short2", "swap1", "swap2"], "\(consensus.text)")
        #expect(reasons["short2"]?.contains("1 votes for 2") == true, "\(reasons)")
        #expect(reasons["swap1"]?.contains("swap2") == true, "\(reasons)")
    }

    @Test("SIGHUP reloads each model of a bundle; a bad artifact is refused alone, the others take their new version")
    func reloadEach() async throws {
        let stack = try await Self.stackWithoutModels()
        let first = stack.directory.appendingPathComponent("first.json")
        let second = stack.directory.appendingPathComponent("second.json")
        try FileManager.default.copyItem(atPath: Self.artifact("logit"), toPath: first.path)
        try FileManager.default.copyItem(atPath: Self.artifact("logit"), toPath: second.path)
        try stack.start("model-worker", ["MODELS": "one=\(first.path),two=\(second.path)", "HEALTH_PORT": "\(stack.modelHealthPort)"])
        try await waitUntil("the bundle is live") { (try await stack.get("/health").json["workers"] as? [String: Int])?["models.one.two"] == 1 }
        @Sendable func models() async throws -> [String: [String: Any]] {
            let list = try await stack.get("/health", port: stack.modelHealthPort).json["models"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: list.compactMap { model in (model["model_id"] as? String).map { ($0, model) } })
        }
        // A new artifact for one, a broken one for two.
        try Data(contentsOf: URL(fileURLWithPath: Self.artifact("xgb"))).write(to: first, options: .atomic)
        try Data(#"{"kind": "logistic", "broken": true}"#.utf8).write(to: second, options: .atomic)
        stack.signal("model-worker", SIGHUP)
        try await waitUntil("both reloads are done") { try await models()["two"]?["last_reload_error"] is String }
        let after = try await models()
        #expect(after["one"]?["model_kind"] as? String == "xgboost" && after["one"]?["reloads"] as? Int == 1)
        #expect(after["two"]?["model_kind"] as? String == "logistic" && after["two"]?["reloads"] as? Int == 0)
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        #expect(Self.votes(consensus).keys.sorted() == ["one", "two"], "\(consensus.text)")
        #expect(stack.log("model-worker").contains("model reload refused"))
    }

    @Test("MODEL_IDS picks among a bundle's models; an id no worker serves is left out, named")
    func chosenIDs() async throws {
        let stack = try Stack(["MODEL_IDS": "xgb,logit,absent"])
        try stack.start("gateway")
        for worker in ["risk-worker", "feature-worker", "execution-worker"] { try stack.start(worker) }
        try stack.start("model-worker", ["MODELS": Self.threeModels])
        try await waitUntil("the bundle is live") { (try await stack.get("/health").json["workers"] as? [String: Int])?["models.logit.xgb.rsi"] == 1 }
        let consensus = try await stack.post("/api/ai/consensus", Self.consensusBody)
        #expect(consensus.status == 200, "\(consensus.text)")
        #expect(Self.votes(consensus).keys.sorted() == ["logit", "xgb"], "\(consensus.text)")
        let excluded = consensus.json["excluded"] as? [[String: Any]] ?? []
        #expect(excluded.compactMap { $0["modelId"] as? String } == ["absent"], "\(consensus.text)")
    }

    @Test("a bundle refuses what it was not built to answer, request by request, and keeps serving")
    func refusesBadRequests() async throws {
        let stack = try Stack(curve: false)
        let context = try ZMQContext()
        let router = try stack.handHeldBroker(in: context)
        defer { router.close() }
        try stack.start("model-worker", ["MODELS": Self.threeModels])
        let ready = try #require(try router.receive())
        #expect(ready.count == 5 && ready[4] == Array("models.logit.xgb.rsi".utf8))
        let features = #""features": {"mom_20": 1.0, "rv_5": 0.2, "rsi_14": 65.0}"#
        func body(_ payload: String) -> [UInt8] { Array(#"{"v": 1, "op": "predict_models", "requestId": "r", "payload": {\#(payload)}}"#.utf8) }
        let bad: [(String, [UInt8])] = [
            ("unknown_model", body(#"\#(features), "modelIds": ["logit", "gpt"]"#)),
            ("invalid_request", body(#"\#(features), "modelIds": ["logit", "logit"]"#)),
            ("invalid_request", body(#"\#(features), "modelIds": []"#)),
            ("invalid_request", body(features + #", "modelIds": [\#((1...9).map { "\"m\($0)\"" }.joined(separator: ", "))]"#)),
            ("bad_request_body", body(#""features": {"mom_20": 1e999, "rv_5": 0.2, "rsi_14": 65.0}, "modelIds": ["logit"]"#)),
            ("", body(features)),
            ("", body(#""features": {"mom_20": "high", "rv_5": 0.2, "rsi_14": 65.0}, "modelIds": ["logit"]"#)),
            ("", Array("{\"v\": 1, \"op\": \"predict_models\", \"payl".utf8)),
            ("", body(#"\#(features), "modelIds": ["logit"]"#).map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }),
        ]
        let good = body(#"\#(features), "modelIds": ["rsi", "logit"]"#)
        try router.send([ready[0], [], MDP.workerHeader, [0x02], [7], []] + bad.map(\.1) + [good])
        var replies: [[UInt8]] = []
        while replies.isEmpty {
            let frames = try #require(try router.receive())
            if frames.count >= 7, frames[3] == [0x03] { replies = Array(frames[6...]) }
        }
        try #require(replies.count == bad.count + 1)
        for ((code, request), reply) in zip(bad, replies) {
            let answer = try WireCodec.decode(WireReply<ModelVotes>.self, from: reply)
            #expect(
                answer.result == nil && answer.error != nil,
                "\(String(decoding: request, as: UTF8.self)) answered \(String(decoding: reply, as: UTF8.self))"
            )
            if !code.isEmpty { #expect(answer.error?.code == code, "\(String(decoding: reply, as: UTF8.self))") }
        }
        let votes = try #require(try WireCodec.decode(WireReply<ModelVotes>.self, from: replies[bad.count]).result).votes
        #expect(votes.map(\.modelId) == ["rsi", "logit"])
        #expect(votes.allSatisfy { (0...1).contains($0.probabilityUp) })
    }

    @Test("MODELS that cannot make a bundle refuse to start, saying why")
    func refusedBundles() throws {
        let stack = try Stack()
        let logit = Self.artifact("logit")
        for (models, extra) in [
            ("logit=\(logit),logit=\(logit)", [:]),
            ("lo.git=\(logit)", [:]),
            ("logit", [:]),
            ((1...9).map { "m\($0)=\(logit)" }.joined(separator: ","), [:]),
            ("logit=\(logit)", ["MODEL_ROLE": "canary"]),
            ("logit=\(logit)", ["MODEL_VERSION": "v9"]),
        ] as [(String, [String: String])] {
            let (status, output) = try stack.runOnce("model-worker", extra.merging(["MODELS": models]) { $1 })
            #expect(status != 0, "\(models) \(extra)")
            #expect(output.contains("MODELS"), "\(models): \(output)")
        }
        let (status, output) = try stack.runOnce("model-worker", ["MODELS": "logit=\(logit),xgb=/nowhere/xgb.json"])
        #expect(status == 2, "\(output)")
        #expect(output.contains("/nowhere/xgb.json"))
    }
}
