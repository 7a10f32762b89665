import Logging
import ServiceLifecycle
import TradingWire

/// Tells the gateway, every `intervalMilliseconds`, how this feed stands (connections,
/// reconnects, gaps, refusals, message rate) and the newest best bid and ask of each symbol, for
/// its market status (`POST /api/market/feeds`). A failed report is logged once and tried again
/// at the next tick.
struct FeedReporter: Service {
    let stats: FeedStats
    let sink: GatewaySink
    let intervalMilliseconds: Int
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(intervalMilliseconds)) }
            } catch {
                return
            }
            do {
                try await sink.report(stats.snapshot().feed)
                failing = false
            } catch {
                if !failing { logger.warning("feed report not delivered", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}
