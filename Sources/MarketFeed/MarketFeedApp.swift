import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import TradingWire
import WorkerRuntime

/// The market-data process: its source (Binance streams, the CSV replay, or none), the gateway
/// sink, and `/health` and `/metrics` on `HEALTH_PORT`, each a `Service` in one `ServiceGroup`
/// that stops gracefully on SIGTERM or SIGINT.
public enum MarketFeedApp {
    /// Runs until SIGTERM or SIGINT. Throws when a setting or the health port is refused.
    public static func run(configuration: MarketFeedConfiguration, metrics: ProcessMetrics?, logger: Logger) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let chunks = stride(from: 0, to: configuration.symbols.count, by: MarketFeedConfiguration.maxSymbols).map {
            Array(configuration.symbols[$0..<min(configuration.symbols.count, $0 + MarketFeedConfiguration.maxSymbols)])
        }
        let stats = FeedStats(
            name: configuration.feedName,
            source: configuration.source,
            interval: configuration.interval,
            symbols: configuration.symbols,
            connections: configuration.source == .binance ? chunks.count : 0
        )
        let sink = GatewaySink(
            client: client,
            baseURL: configuration.gatewayURL,
            token: configuration.apiToken,
            feedName: configuration.feedName,
            logger: logger
        )
        // First in the group, so shut down last (the group stops services in reverse order):
        // the sources' last posts still have a client.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: HTTPClientService(client: client))]
        switch configuration.source {
        case .binance:
            let parser = BinanceMarketParser(
                symbols: Set(configuration.symbols),
                interval: configuration.interval,
                maxFrameBytes: configuration.maxFrameBytes
            )
            let klines = BinanceKlinesClient(client: client, baseURL: configuration.restURL, parser: parser, logger: logger)
            let router = FeedRouter(symbols: configuration.symbols) { _ in
                FeedPipeline(
                    interval: configuration.interval,
                    klines: klines,
                    sink: sink,
                    stats: stats,
                    backfill: configuration.backfill,
                    logger: logger
                )
            }
            services.append(.init(service: router))
            for (index, symbols) in chunks.enumerated() {
                let connection = BinanceStreamConnection(
                    index: index,
                    symbols: symbols,
                    configuration: configuration,
                    parser: parser,
                    router: router,
                    stats: stats,
                    logger: logger
                )
                services.append(.init(service: connection))
            }
        case .replay:
            let replay = try ReplaySource(
                file: configuration.feedFile ?? "",
                symbol: configuration.symbols[0],
                intervalMilliseconds: configuration.feedIntervalMilliseconds,
                sink: sink,
                stats: stats,
                logger: logger
            )
            services.append(.init(service: replay, successTerminationBehavior: .ignore))
        case .none:
            logger.warning("MARKET_SOURCE=none: this feed sends no candles; they must be posted to POST /api/market/candles from elsewhere")
        }
        services.append(.init(service: FeedReporter(stats: stats, sink: sink, intervalMilliseconds: 2_000, logger: logger)))
        if configuration.healthPort > 0 {
            services.append(.init(service: try FeedHealthService(configuration: configuration, stats: stats, metrics: metrics, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        )
        logger.info(
            "market feed starting",
            metadata: [
                "source": "\(configuration.source.rawValue)", "symbols": "\(configuration.symbols.count)", "interval": "\(configuration.interval)",
            ]
        )
        try await group.run()
    }
}

/// `/health` and `/readyz` (the feed's `FeedStats`, 503 while a stream is down), `/livez` and `/metrics`.
struct FeedHealthService: Service {
    let server: HealthServer

    init(configuration: MarketFeedConfiguration, stats: FeedStats, metrics: ProcessMetrics?, logger: Logger) throws {
        let health: HealthServer.Route = {
            let snapshot = stats.snapshot()
            let body = (try? JSONEncoder().encode(snapshot)).map { Array($0) } ?? []
            return HealthServer.Reply(status: snapshot.ok ? 200 : 503, body: body)
        }
        // /readyz as /health (503 while a stream is down); /livez while the process serves.
        var routes: [String: HealthServer.Route] = [
            "/health": health, "/readyz": health, "/livez": { HealthServer.Reply(status: 200, body: Array(#"{"ok":true}"#.utf8)) },
        ]
        if let metrics {
            routes["/metrics"] = { HealthServer.Reply(status: 200, body: metrics.render(), contentType: "text/plain; version=0.0.4") }
        }
        server = try HealthServer(host: configuration.healthHost, port: configuration.healthPort, routes: routes)
        logger.info("health server listening", metadata: ["port": "\(server.port)"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        server.shutdown()
    }
}

/// Shuts the shared HTTP client down when the group stops.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
