import Logging
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The feature worker: validates given features and computes missing ones from candles.
/// Stateless: any number of replicas may run.
public enum FeatureWorker {
    /// The request handler, also used directly by tests.
    public static func handler() -> OperationHandler {
        var handler = OperationHandler()
        handler.on(Operations.Feature.features) { (request: WireRequest<FeatureRequest>) throws(WireError) -> FeatureResult in
            try FeatureBuilder.build(given: request.payload.features, candles: request.payload.candles)
        }
        return handler
    }

    /// Runs the worker process until SIGTERM or SIGINT.
    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "feature-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        try WorkerProcess.run(
            service: ServiceName.feature, configuration: configuration, handler: handler(), control: control, metrics: metrics, logger: logger)
    }
}
