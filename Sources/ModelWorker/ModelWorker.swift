import Foundation
import Logging
import Metrics
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// What a model worker reads from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `MODEL_ID` | string | `logit` | registers as service `model.<id>` |
/// | `MODEL_PATH` | path | `deploy/models/logit.json` | the artifact |
/// | `MODEL_VERSION` | string | the artifact's `version` | version reported and voted with |
/// | `HEALTH_PORT` | int | 9000 | HTTP `/health` |
public struct ModelWorkerConfiguration: Sendable {
    public var modelID: String
    public var modelPath: String
    public var versionOverride: String?
    public var worker: WorkerConfiguration

    public init(reader: EnvironmentReader) throws {
        modelID = reader.string("MODEL_ID", default: "logit")
        guard modelID.utf8.count <= 64, modelID.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw ConfigurationError(key: "MODEL_ID", value: modelID, expected: "up to 64 printable characters without spaces")
        }
        modelPath = reader.string("MODEL_PATH", default: "deploy/models/logit.json")
        versionOverride = reader.optionalString("MODEL_VERSION")
        worker = try WorkerConfiguration(reader: reader, defaultHealthPort: 9000)
    }
}

/// A loaded model and the version it votes under.
public struct LoadedModel: Sendable {
    public let modelID: String
    public let version: String
    public let model: LogisticModel

    /// Loads and checks the artifact; throws with a clear message when it cannot serve.
    public init(configuration: ModelWorkerConfiguration) throws {
        let url = URL(fileURLWithPath: configuration.modelPath)
        guard let data = try? Data(contentsOf: url) else {
            throw ModelArtifactError.unreadable("cannot read \(configuration.modelPath)")
        }
        model = try LogisticModel.load(from: data)
        modelID = configuration.modelID
        version = configuration.versionOverride ?? model.version
    }

    public func vote(_ features: FeatureVector) -> ModelVote {
        ModelVote(modelId: modelID, version: version, probabilityUp: model.probabilityUp(features))
    }
}

/// The model worker: one artifact, served as `model.<id>`, with `GET /health` on :9000.
public enum ModelWorker {
    public static func handler(model: LoadedModel) -> OperationHandler {
        var handler = OperationHandler()
        let dimensions = [("model_id", model.modelID), ("model_version", model.version)]
        let predictions = Counter(label: "model_predictions_total", dimensions: dimensions)
        let upVotes = Counter(label: "model_up_votes_total", dimensions: dimensions)
        handler.on("predict") { (request: WireRequest<PredictRequest>) throws(WireError) -> ModelVote in
            let features = request.payload.features
            guard features.values.allSatisfy(\.isFinite) else { throw WireError(code: "invalid_feature", detail: "features must be finite", status: 422) }
            let vote = model.vote(features)
            predictions.increment()
            if vote.probabilityUp >= 0.5 { upVotes.increment() }
            return vote
        }
        return handler
    }

    /// The `/health` body.
    public struct Health: Codable, Sendable {
        public var ok: Bool
        public var service: String
        public var model_id: String
        public var model_version: String
        public var model_loaded: Bool
        public var model_kind: String
        public var model_path: String
        public var broker_connected: Bool
        public var control_known: Bool
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "model-worker")
        let configuration = try ModelWorkerConfiguration(reader: reader)
        let model: LoadedModel
        do {
            model = try LoadedModel(configuration: configuration)
        } catch {
            logger.error("model artifact cannot serve: refusing to start", metadata: ["path": "\(configuration.modelPath)", "error": "\(error)"])
            exit(2)
        }
        logger.info("model loaded", metadata: ["model.id": "\(model.modelID)", "model.version": "\(model.version)"])
        let control = ControlView(staleMilliseconds: configuration.worker.controlStaleMilliseconds)
        let link = BrokerLink()
        let brokerWindow = configuration.worker.heartbeatIntervalMilliseconds * configuration.worker.heartbeatLiveness
        let health: HealthServer.Route = {
            let connected = link.isConnected(within: brokerWindow)
            let body = Health(
                ok: connected, service: "model-worker", model_id: model.modelID, model_version: model.version, model_loaded: true,
                model_kind: model.model.kind, model_path: configuration.modelPath, broker_connected: connected, control_known: control.current() != nil)
            return HealthServer.Reply(status: connected ? 200 : 503, body: (try? WireCodec.encode(body)) ?? [])
        }
        try WorkerProcess.run(
            service: ServiceName.model(model.modelID), configuration: configuration.worker, handler: handler(model: model), control: control,
            link: link, healthRoutes: ["/health": health], metrics: metrics, logger: logger)
    }
}
