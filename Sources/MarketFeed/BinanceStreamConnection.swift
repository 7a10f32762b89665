import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import ServiceSupport
import Synchronization
import WSClient

/// One WebSocket connection to Binance's combined streams (`<symbol>@kline_<interval>` and
/// `<symbol>@bookTicker` for up to 512 symbols: 1024 streams), made anew with jittered
/// exponential back-off whenever it drops, goes silent for `MARKET_SILENCE_MS`, or reaches
/// `MARKET_CONNECTION_MAX_SECONDS` (before Binance's 24-hour cut), or Binance announces a
/// `serverShutdown`. Binance's pings are answered
/// by the WebSocket library; the feed sends nothing else (no subscribe messages: the streams are
/// in the URL), far inside the 5 incoming messages a second.
public struct BinanceStreamConnection: Service {
    let index: Int
    let symbols: [String]
    let configuration: MarketFeedConfiguration
    let parser: BinanceMarketParser
    let router: FeedRouter
    let stats: FeedStats
    let logger: Logger

    public init(
        index: Int,
        symbols: [String],
        configuration: MarketFeedConfiguration,
        parser: BinanceMarketParser,
        router: FeedRouter,
        stats: FeedStats,
        logger: Logger
    ) {
        self.index = index
        self.symbols = symbols
        self.configuration = configuration
        self.parser = parser
        self.router = router
        self.stats = stats
        self.logger = logger
    }

    /// The combined-stream URL for `symbols`.
    public static func url(base: String, symbols: [String], interval: MarketInterval) -> String {
        let streams = symbols.flatMap { ["\($0.lowercased())@kline_\(interval.name)", "\($0.lowercased())@bookTicker"] }
        return "\(base)/stream?streams=\(streams.joined(separator: "/"))"
    }

    struct Silent: Error {}

    public func run() async throws {
        let url = Self.url(base: configuration.websocketURL, symbols: symbols, interval: configuration.interval)
        var failures = 0
        var first = true
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if !first { stats.reconnected() }
            first = false
            let started = ContinuousClock.now
            do {
                try await cancelWhenGracefulShutdown { try await connectOnce(url: url) }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("market stream dropped", metadata: ["connection": "\(index)", "error": "\(error)"])
            }
            stats.connection(index, up: false)
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            // A connection that lived a while resets the back-off.
            failures = ContinuousClock.now - started > .seconds(30) ? 0 : failures + 1
            let ceiling = min(30_000, 500 << min(failures, 6))
            let delay = Int.random(in: ceiling / 2...ceiling)
            do {
                try await Task.sleep(for: .milliseconds(delay))
            } catch {
                break
            }
        }
    }

    private func connectOnce(url: String) async throws {
        let lastMessage = LastMessage()
        let configuration = self.configuration
        let parser = self.parser
        let router = self.router
        let stats = self.stats
        let logger = self.logger
        let index = self.index
        let symbols = self.symbols
        let wsConfiguration = WebSocketClientConfiguration(maxFrameSize: configuration.maxFrameBytes)
        try await WebSocketClient.connect(url: url, configuration: wsConfiguration, logger: logger) { inbound, outbound, _ in
            stats.connection(index, up: true)
            logger.info("market stream connected", metadata: ["connection": "\(index)", "symbols": "\(symbols.count)"])
            router.connected(symbols: symbols)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
                        let now = monotonicMilliseconds()
                        lastMessage.at.store(now, ordering: .relaxed)
                        stats.message(now: now)
                        let bytes: [UInt8]
                        switch message {
                        case .text(let text): bytes = Array(text.utf8)
                        case .binary(let buffer): bytes = Array(buffer.readableBytesView)
                        }
                        if Self.handle(bytes, parser: parser, router: router, stats: stats, logger: logger) {
                            logger.info("serverShutdown from Binance: connecting anew", metadata: ["connection": "\(index)"])
                            throw Silent()
                        }
                    }
                }
                group.addTask {
                    let opened = monotonicMilliseconds()
                    while true {
                        try await Task.sleep(for: .milliseconds(250))
                        let now = monotonicMilliseconds()
                        if now - lastMessage.at.load(ordering: .relaxed) > configuration.silenceMilliseconds {
                            logger.warning("market stream silent: reconnecting", metadata: ["connection": "\(index)"])
                            throw Silent()
                        }
                        if now - opened > configuration.connectionMaxSeconds * 1_000 {
                            logger.info("market stream renewed before the 24-hour cut", metadata: ["connection": "\(index)"])
                            throw Silent()
                        }
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }

    /// Hands one frame on; true when the server announced its shutdown (connect anew).
    static func handle(_ bytes: [UInt8], parser: BinanceMarketParser, router: FeedRouter, stats: FeedStats, logger: Logger) -> Bool {
        let now = unixMilliseconds()
        do {
            switch try parser.frame(bytes, now: now) {
            case .kline(let symbol, let candle, let closed):
                if closed { router.closed(symbol: symbol, candle: candle) }
            case .book(let symbol, let bid, let ask, _):
                stats.book(symbol: symbol, bid: bid, ask: ask, at: now)
            case .serverShutdown:
                return true
            }
        } catch {
            stats.refused(error)
            logger.warning("market frame refused", metadata: ["reason": "\(error.reason)", "detail": "\(error.detail)"])
        }
        return false
    }
}

/// When a connection last heard anything (monotonic milliseconds), for the silence watchdog.
final class LastMessage: Sendable {
    let at = Atomic<Int>(monotonicMilliseconds())
}
