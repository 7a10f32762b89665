import Crypto
import Foundation
import Logging
import Metrics
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire
import WorkerRuntime

/// What a model worker reads from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `MODEL_ID` | string | `logit` | serves `model.<id>` |
/// | `MODEL_PATH` | path | `deploy/models/logit.json` | the artifact: a logistic JSON or an XGBoost JSON model |
/// | `MODEL_VERSION` | string | the artifact's `version`, else `sha256:<first 12 hex>` | version reported and voted with |
/// | `MODEL_ROLE` | `incumbent` or `canary` | `incumbent` | a canary serves `canary.<id>`, routed by the gateway |
/// | `MODELS` | `id=path,...` | unset | 1 to 8 models served by this one worker as the bundle `models.<id>.<id>...` (incumbents; `MODEL_ID`, `MODEL_PATH` and `MODEL_VERSION` then do not apply) |
/// | `HEALTH_PORT` | int | 9000 | HTTP `/health` and `/metrics` |
public struct ModelWorkerConfiguration: Sendable {
    public enum Role: String, Sendable {
        case incumbent
        case canary
    }

    public var modelID: String
    public var modelPath: String
    public var versionOverride: String?
    public var role: Role
    public var worker: WorkerConfiguration
    /// `MODELS`: the model ids and artifacts of a bundle; empty for a worker of one model.
    public var bundle: [(id: String, path: String)] = []

    public init(reader: EnvironmentReader) throws {
        modelID = reader.string("MODEL_ID", default: "logit")
        guard Identifier.modelID.accepts(modelID) else {
            throw ConfigurationError(key: "MODEL_ID", value: modelID, expected: Identifier.modelID.grammar)
        }
        modelPath = reader.string("MODEL_PATH", default: "deploy/models/logit.json")
        versionOverride = reader.optionalString("MODEL_VERSION")
        let role = reader.string("MODEL_ROLE", default: "incumbent")
        guard let parsed = Role(rawValue: role) else {
            throw ConfigurationError(key: "MODEL_ROLE", value: role, expected: "incumbent or canary")
        }
        self.role = parsed
        worker = try WorkerConfiguration(reader: reader, defaultHealthPort: 9000)
        if let list = reader.optionalString("MODELS") {
            bundle = try Self.bundle(list)
            guard parsed == .incumbent, versionOverride == nil else {
                throw ConfigurationError(
                    key: "MODELS",
                    value: list,
                    expected: "incumbent models only, without MODEL_VERSION (each artifact names its version)"
                )
            }
        }
    }

    /// Reads `id=path,...`: 1 to 8 distinct model ids, each with a path.
    static func bundle(_ list: String) throws -> [(id: String, path: String)] {
        let expected = "id=path,... with 1 to \(ServiceName.maxBundledModels) distinct model ids, each \(Identifier.modelID.grammar)"
        var entries: [(id: String, path: String)] = []
        for entry in list.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, ServiceName.isValidModelID(parts[0]), !parts[1].isEmpty, !entries.contains(where: { $0.id == parts[0] }) else {
                throw ConfigurationError(key: "MODELS", value: list, expected: expected)
            }
            entries.append((parts[0], parts[1]))
        }
        guard (1...ServiceName.maxBundledModels).contains(entries.count) else {
            throw ConfigurationError(key: "MODELS", value: list, expected: expected)
        }
        return entries
    }

    /// The MDP service this worker offers.
    public var service: String {
        if !bundle.isEmpty { return ServiceName.bundle(bundle.map(\.id)) }
        return role == .canary ? ServiceName.canary(modelID) : ServiceName.model(modelID)
    }

    /// One configuration per model this worker serves: itself, or one per bundled model.
    public var models: [ModelWorkerConfiguration] {
        guard !bundle.isEmpty else { return [self] }
        return bundle.map { entry in
            var single = self
            single.bundle = []
            single.modelID = entry.id
            single.modelPath = entry.path
            return single
        }
    }
}

/// A loaded artifact and what identifies it.
public struct LoadedModel: Sendable {
    public let modelID: String
    public let version: String
    public let artifact: ModelArtifact
    /// SHA-256 of the artifact file, hex.
    public let checksum: String
    public let loadedAt: Date

    /// Reads and checks the artifact; throws with a clear message when it cannot serve.
    public init(configuration: ModelWorkerConfiguration) throws {
        let url = URL(fileURLWithPath: configuration.modelPath)
        guard let data = try? Data(contentsOf: url) else {
            throw ModelArtifactError.unreadable("cannot read \(configuration.modelPath)")
        }
        artifact = try ModelArtifact.load(from: data)
        checksum = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        modelID = configuration.modelID
        version = configuration.versionOverride ?? artifact.embeddedVersion ?? "sha256:\(checksum.prefix(12))"
        loadedAt = Date()
    }

    public func vote(_ features: FeatureVector) -> ModelVote {
        ModelVote(modelId: modelID, version: version, probabilityUp: artifact.probabilityUp(features))
    }
}

/// The model a worker serves, replaceable at run time (SIGHUP): a new artifact that fails its
/// checks is refused and the previous one keeps serving.
public final class ModelServer: Sendable {
    private struct State {
        var model: LoadedModel
        var reloads = 0
        var lastReloadError: String?
    }

    private let state: Mutex<State>
    private let configuration: ModelWorkerConfiguration
    private let logger: Logger

    public init(configuration: ModelWorkerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(model: try LoadedModel(configuration: configuration)))
    }

    public var current: LoadedModel { state.withLock { $0.model } }

    /// Loads the artifact again from its path. Returns the error when the new one was refused.
    @discardableResult
    public func reload() -> (any Error)? {
        do {
            let next = try LoadedModel(configuration: configuration)
            let previous = state.withLock { state -> LoadedModel in
                defer {
                    state.model = next
                    state.reloads += 1
                    state.lastReloadError = nil
                }
                return state.model
            }
            logger.info(
                "model reloaded",
                metadata: [
                    "model.id": "\(next.modelID)", "model.version": "\(next.version)", "previous.version": "\(previous.version)",
                    "checksum": "\(next.checksum)",
                ]
            )
            return nil
        } catch {
            state.withLock { $0.lastReloadError = "\(error)" }
            logger.error(
                "model reload refused: the previous model keeps serving",
                metadata: ["path": "\(configuration.modelPath)", "error": "\(error)", "model.version": "\(current.version)"]
            )
            return error
        }
    }

    /// The `/health` body.
    public struct Health: Codable, Sendable {
        public var ok: Bool
        public var service: String
        public var model_id: String
        public var model_role: String
        public var model_version: String
        public var model_loaded: Bool
        public var model_kind: String
        public var model_path: String
        public var model_checksum: String
        public var loaded_at: String
        public var reloads: Int
        public var last_reload_error: String?
        public var broker_connected: Bool
        public var control_known: Bool
    }

    public func health(connected: Bool, controlKnown: Bool) -> Health {
        state.withLock { state in
            Health(
                ok: connected,
                service: "model-worker",
                model_id: state.model.modelID,
                model_role: configuration.role.rawValue,
                model_version: state.model.version,
                model_loaded: true,
                model_kind: state.model.artifact.kind,
                model_path: configuration.modelPath,
                model_checksum: state.model.checksum,
                loaded_at: ISO8601DateFormatter().string(from: state.model.loadedAt),
                reloads: state.reloads,
                last_reload_error: state.lastReloadError,
                broker_connected: connected,
                control_known: controlKnown
            )
        }
    }
}

/// The model worker: one artifact, served as `model.<id>` (or `canary.<id>`), or a bundle of
/// several (`MODELS`), served as `models.<id>.<id>...`; `GET /health` on :9000.
public enum ModelWorker {
    /// Per-version metrics, made once per loaded version.
    final class VersionMetrics: Sendable {
        let version: String
        let predictions: Counter
        let upVotes: Counter
        let duration: Metrics.Timer

        init(model: LoadedModel, role: String) {
            version = model.version
            let dimensions = [("model_id", model.modelID), ("model_version", model.version), ("role", role)]
            predictions = Counter(label: "model_predictions_total", dimensions: dimensions)
            upVotes = Counter(label: "model_up_votes_total", dimensions: dimensions)
            duration = Metrics.Timer(label: "model_prediction_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        }
    }

    /// Votes with one server's current model and counts the prediction under its version.
    final class Predictor: Sendable {
        let server: ModelServer
        private let role: String
        private let metrics = Mutex<VersionMetrics?>(nil)

        init(server: ModelServer, role: String) {
            self.server = server
            self.role = role
        }

        func vote(_ features: FeatureVector) -> ModelVote {
            let started = DispatchTime.now().uptimeNanoseconds
            let model = server.current
            let vote = model.vote(features)
            let current = metrics.withLock { cached -> VersionMetrics in
                if let cached, cached.version == model.version { return cached }
                let made = VersionMetrics(model: model, role: role)
                cached = made
                return made
            }
            current.predictions.increment()
            if vote.probabilityUp >= 0.5 { current.upVotes.increment() }
            current.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            return vote
        }
    }

    static func checkFinite(_ features: FeatureVector) throws(WireError) {
        guard features.values.allSatisfy(\.isFinite) else { throw WireError(code: "invalid_feature", detail: "features must be finite", status: 422) }
    }

    /// `predict` for a worker of one model.
    public static func handler(server: ModelServer, role: String) -> OperationHandler {
        var handler = OperationHandler()
        let predictor = Predictor(server: server, role: role)
        handler.on(Operations.Model.predict) { (request: WireRequest<PredictRequest>) throws(WireError) -> ModelVote in
            try checkFinite(request.payload.features)
            return predictor.vote(request.payload.features)
        }
        return handler
    }

    /// `predict_models` for a bundle: one vote per model id asked, in the order asked. An id the
    /// bundle does not serve, or one asked twice, refuses the whole request.
    public static func bundleHandler(servers: [ModelServer]) -> OperationHandler {
        var handler = OperationHandler()
        var predictors: [String: Predictor] = [:]
        for server in servers {
            predictors[server.current.modelID] = Predictor(server: server, role: ModelWorkerConfiguration.Role.incumbent.rawValue)
        }
        let served = servers.map(\.current.modelID)
        handler.on(Operations.Model.predictModels) { [predictors] (request: WireRequest<PredictModelsRequest>) throws(WireError) -> ModelVotes in
            let asked = request.payload.modelIds
            guard !asked.isEmpty, asked.count <= ServiceName.maxBundledModels, Set(asked).count == asked.count else {
                throw WireError(code: "invalid_request", detail: "ask 1 to \(ServiceName.maxBundledModels) distinct model ids", status: 400)
            }
            try checkFinite(request.payload.features)
            var votes: [ModelVote] = []
            votes.reserveCapacity(asked.count)
            for id in asked {
                guard let predictor = predictors[id] else {
                    throw WireError(
                        code: "unknown_model",
                        detail: "this bundle serves \(served.joined(separator: ", ")), not \(id.prefix(64))",
                        status: 404
                    )
                }
                votes.append(predictor.vote(request.payload.features))
            }
            return ModelVotes(votes: votes)
        }
        return handler
    }

    /// The `/health` body of a bundle: its first model's figures at the top (the runbook's
    /// `.model_version` and `.model_loaded`), and every model's under `models`.
    public struct BundleHealth: Codable, Sendable {
        public var ok: Bool
        public var service: String
        public var bundle: String
        public var model_id: String
        public var model_version: String
        public var model_loaded: Bool
        public var broker_connected: Bool
        public var control_known: Bool
        public var models: [ModelServer.Health]
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "model-worker")
        let configuration = try ModelWorkerConfiguration(reader: reader)
        var servers: [ModelServer] = []
        for model in configuration.models {
            do {
                servers.append(try ModelServer(configuration: model, logger: logger))
            } catch {
                logger.error("model artifact cannot serve: refusing to start", metadata: ["path": "\(model.modelPath)", "error": "\(error)"])
                exit(2)
            }
            let loaded = servers[servers.count - 1].current
            logger.info(
                "model loaded",
                metadata: [
                    "model.id": "\(loaded.modelID)", "model.version": "\(loaded.version)", "model.kind": "\(loaded.artifact.kind)",
                    "role": "\(model.role.rawValue)", "checksum": "\(loaded.checksum)", "service": "\(configuration.service)",
                ]
            )
        }
        let control = ControlView(staleMilliseconds: configuration.worker.controlStaleMilliseconds)
        let link = BrokerLink()
        let brokerWindow = configuration.worker.heartbeatIntervalMilliseconds * configuration.worker.heartbeatLiveness
        let bundled = !configuration.bundle.isEmpty
        let health: HealthServer.Route = { [servers] in
            let connected = link.isConnected(within: brokerWindow)
            let known = control.current() != nil
            let each = servers.map { $0.health(connected: connected, controlKnown: known) }
            let body: [UInt8]
            if bundled, let first = each.first {
                body =
                    (try? WireCodec.encode(
                        BundleHealth(
                            ok: connected,
                            service: "model-worker",
                            bundle: configuration.service,
                            model_id: first.model_id,
                            model_version: first.model_version,
                            model_loaded: each.allSatisfy(\.model_loaded),
                            broker_connected: connected,
                            control_known: known,
                            models: each
                        )
                    )) ?? []
            } else {
                body = each.first.flatMap { try? WireCodec.encode($0) } ?? []
            }
            return HealthServer.Reply(status: connected ? 200 : 503, body: body)
        }
        // A refused reload is news for the operators (NOTIFY_WEBHOOK_URL), delivered off the worker's thread.
        let notifier = Notifier(configuration: try NotifierConfiguration(reader: reader), source: configuration.service, logger: logger)
        if notifier.isEnabled { Task.detached { await notifier.run() } }
        let handler = bundled ? bundleHandler(servers: servers) : handler(server: servers[0], role: configuration.role.rawValue)
        try WorkerProcess.run(
            service: configuration.service,
            configuration: configuration.worker,
            handler: handler,
            control: control,
            link: link,
            healthRoutes: ["/health": health],
            metrics: metrics,
            onReload: { [servers] in
                for (server, model) in zip(servers, configuration.models) {
                    guard let error = server.reload() else { continue }
                    notifier.notify(
                        event: "model_reload_failed",
                        severity: "warning",
                        text: "Model \(model.modelID) of \(configuration.service) reload refused; the previous version keeps serving: \(error)",
                        details: ["service": configuration.service, "model": model.modelID, "path": model.modelPath, "error": "\(error)"]
                    )
                }
            },
            logger: logger
        )
    }
}
