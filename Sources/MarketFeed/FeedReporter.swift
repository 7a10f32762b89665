import Logging
import ServiceLifecycle

/// Tells the gateway, every `intervalMilliseconds`, how this feed stands (connections,
/// reconnects, gaps, refusals, message rate) and the newest best bid and ask of each symbol, for
/// its market status (`POST /api/market/feeds`). A failed report is logged once and tried again
/// at the next tick.
struct FeedReporter: Service {
    struct Report: Encodable {
        struct Book: Encodable {
            var symbol: String
            var bid: Double
            var ask: Double
            var at: Int64
        }

        var feed: String
        var source: String
        var connected: Int
        var connections: Int
        var reconnects: Int
        var gapCandles: Int
        var refusedFrames: Int
        var messagesPerSecond: Double
        var books: [Book]
    }

    let name: String
    let stats: FeedStats
    let sink: GatewaySink
    let intervalMilliseconds: Int
    let logger: Logger

    static func report(name: String, _ snapshot: FeedStats.Snapshot) -> Report {
        let books = snapshot.symbols.compactMap { state -> Report.Book? in
            guard let bid = state.bid, let ask = state.ask, let at = state.bookAt else { return nil }
            return Report.Book(symbol: state.symbol, bid: bid, ask: ask, at: at)
        }
        return Report(
            feed: name, source: snapshot.source, connected: snapshot.connected, connections: snapshot.connections, reconnects: snapshot.reconnects,
            gapCandles: snapshot.gapCandles, refusedFrames: snapshot.refusedFrames, messagesPerSecond: snapshot.messagesPerSecond, books: books)
    }

    func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(intervalMilliseconds)) }
            } catch {
                return
            }
            do {
                try await sink.report(Self.report(name: name, stats.snapshot()))
                failing = false
            } catch {
                if !failing { logger.warning("feed report not delivered", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}
