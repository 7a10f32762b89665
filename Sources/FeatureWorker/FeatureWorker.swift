import Logging
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The feature worker: validates given features and computes missing ones from candles.
/// It keeps every symbol's features current from the market channel (computed once per candle,
/// as it arrives) and answers a request naming the newest candle (`asOf`) from them; a request
/// carrying candles is computed from those. Any number of replicas may run: each hears every
/// candle, so all answer the same.
public enum FeatureWorker {
    /// The request handler, also used directly by tests.
    public static func handler(book: FeatureBook = FeatureBook()) -> OperationHandler {
        var handler = OperationHandler()
        handler.on(Operations.Feature.features) { (request: WireRequest<FeatureRequest>) throws(WireError) -> FeatureResult in
            let payload = request.payload
            if payload.candles == nil, let asOf = payload.asOf {
                return try book.features(symbol: payload.symbol, asOf: asOf, given: payload.features)
            }
            return try FeatureBuilder.build(given: payload.features, candles: payload.candles)
        }
        return handler
    }

    /// The market channel's subscription: every update goes into `book`.
    public static func marketSubscription(book: FeatureBook, logger: Logger) -> MDPWorker.Subscription {
        MDPWorker.Subscription(topic: MarketUpdate.topic) { body in
            guard let update = try? WireCodec.decode(MarketUpdate.self, from: body) else {
                logger.warning("ignored a malformed market message")
                return
            }
            book.apply(update)
        }
    }

    /// Runs the worker process until SIGTERM or SIGINT.
    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "feature-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        let book = FeatureBook()
        try WorkerProcess.run(
            service: ServiceName.feature,
            configuration: configuration,
            handler: handler(book: book),
            control: control,
            subscriptions: [marketSubscription(book: book, logger: logger)],
            metrics: metrics,
            logger: logger
        )
    }
}
