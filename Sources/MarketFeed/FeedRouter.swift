import Logging
import ServiceLifecycle
import TradingWire

/// Hands each symbol's stream events to that symbol's own `FeedPipeline`, without waiting: the
/// connection's read loop never blocks on a post, symbols go out concurrently, and each symbol's
/// candles still go out one batch at a time, in order. A `Service`: the consumers run in its task
/// group until the group shuts down.
public final class FeedRouter: Service, Sendable {
    enum Event: Sendable {
        case connected
        case closed(Candle)
    }

    private let pipelines: [String: FeedPipeline]
    private let streams: [String: (stream: AsyncStream<Event>, continuation: AsyncStream<Event>.Continuation)]

    /// One pipeline per symbol, made by `pipeline`.
    public init(symbols: [String], pipeline: (String) -> FeedPipeline) {
        var pipelines: [String: FeedPipeline] = [:]
        var streams: [String: (AsyncStream<Event>, AsyncStream<Event>.Continuation)] = [:]
        for symbol in symbols {
            pipelines[symbol] = pipeline(symbol)
            // Bounded: a symbol that falls this far behind drops the oldest; the next kline finds
            // the gap and backfills it, so nothing is lost.
            streams[symbol] = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1_000))
        }
        self.pipelines = pipelines
        self.streams = streams.mapValues { (stream: $0.0, continuation: $0.1) }
    }

    /// A connection was made for `symbols`: each backfills what it missed.
    func connected(symbols: [String]) {
        for symbol in symbols { streams[symbol]?.continuation.yield(.connected) }
    }

    /// A closed kline of `symbol`.
    func closed(symbol: String, candle: Candle) {
        streams[symbol]?.continuation.yield(.closed(candle))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for (symbol, entry) in streams {
                guard let pipeline = pipelines[symbol] else { continue }
                group.addTask {
                    for await event in entry.stream {
                        switch event {
                        case .connected: await pipeline.connected(symbols: [symbol])
                        case .closed(let candle): await pipeline.closed(symbol: symbol, candle: candle)
                        }
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                for entry in self.streams.values { entry.continuation.finish() }
            }
        }
    }
}
