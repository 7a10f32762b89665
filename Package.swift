// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "trading-pipeline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
        .executable(name: "feature-worker", targets: ["feature-worker"]),
        .executable(name: "model-worker", targets: ["model-worker"]),
        .executable(name: "risk-worker", targets: ["risk-worker"]),
        .executable(name: "execution-worker", targets: ["execution-worker"]),
        .executable(name: "trading-stack", targets: ["trading-stack"]),
        .executable(name: "tradectl", targets: ["tradectl"]),
        .executable(name: "market-feed", targets: ["market-feed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // The market feed: Binance's WebSocket streams (client) and REST klines; the stand-in's WebSocket server in the tests.
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // libzmq from the system (Debian: libzmq3-dev).
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]
        ),
        // The only code that touches the C API.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: swiftSettings),
        // Wire protocol: MDP/0.1 framing, service names, message bodies, control state. No I/O.
        .target(name: "TradingWire", swiftSettings: swiftSettings),
        // Trading domain: indicators, model scoring, consensus, risk rules, fill maths. No I/O.
        .target(name: "TradingDomain", dependencies: ["TradingWire"], swiftSettings: swiftSettings),
        .target(name: "HTTPDeadline", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        // Logging and configuration shared by every process.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "TradingWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Worker side of MDP, control subscription, health endpoint.
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "ZeroMQ", "TradingWire", "ServiceSupport", "HTTPDeadline",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The gateway: HTTP API, broker, control publisher.
        .target(
            name: "Gateway",
            dependencies: [
                "ZeroMQ", "TradingWire", "TradingDomain", "ServiceSupport", "HTTPDeadline",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The OpenAPI document, loaded at start (OpenAPIDocument.load) and served as it is.
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FeatureWorker",
            dependencies: ["WorkerRuntime", "TradingDomain", .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ModelWorker",
            dependencies: [
                "WorkerRuntime", "TradingDomain", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RiskWorker",
            dependencies: ["WorkerRuntime", "TradingDomain", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // The exchange adapter: Binance spot REST, HMAC-signed.
        .target(
            name: "ExchangeAdapter",
            dependencies: ["TradingWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ExecutionWorker",
            dependencies: [
                "WorkerRuntime", "TradingDomain", "ExchangeAdapter", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),

        // The market-data process: Binance streams or the CSV replay, candles handed to the gateway.
        .target(
            name: "MarketFeed",
            dependencies: [
                "TradingWire", "TradingDomain", "ServiceSupport", "WorkerRuntime",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "market-feed", dependencies: ["MarketFeed", "ServiceSupport"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "gateway",
            dependencies: ["Gateway", "ServiceSupport", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "feature-worker", dependencies: ["FeatureWorker", "ServiceSupport"], swiftSettings: swiftSettings),
        .executableTarget(name: "model-worker", dependencies: ["ModelWorker", "ServiceSupport"], swiftSettings: swiftSettings),
        .executableTarget(name: "risk-worker", dependencies: ["RiskWorker", "ServiceSupport"], swiftSettings: swiftSettings),
        // scripts/bench's yardstick: a bare Hummingbird route, to compare runs on a machine whose speed moves.
        .executableTarget(
            name: "http-yardstick",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "execution-worker", dependencies: ["ExecutionWorker", "ServiceSupport"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "trading-stack",
            dependencies: [
                "ServiceSupport", "ZeroMQ", "TradingWire", "TradingDomain", "RiskWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator's CLI: the runbook as commands.
        .executableTarget(
            name: "tradectl",
            dependencies: ["ZeroMQ", "TradingWire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"], swiftSettings: swiftSettings),
        // The gateway in process: its router through Hummingbird's testing, no HTTP socket.
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "ServiceSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MarketFeedTests", dependencies: ["MarketFeed", "TradingWire"], swiftSettings: swiftSettings),
        .testTarget(name: "TradingWireTests", dependencies: ["TradingWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ExchangeAdapterTests",
            dependencies: ["ExchangeAdapter", "ExecutionWorker", "ServiceSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TradingDomainTests", dependencies: ["TradingDomain"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RiskWorkerTests",
            dependencies: ["RiskWorker", "TradingDomain", "TradingWire", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ZeroMQ", "TradingWire", "WorkerRuntime", "ServiceSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
