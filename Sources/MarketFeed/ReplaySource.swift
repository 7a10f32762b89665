import Foundation
import Logging
import ServiceLifecycle
import TradingDomain
import TradingWire

/// `MARKET_SOURCE=replay`: a candle CSV (`FEED_FILE`) handed to the gateway as a warm-up batch,
/// then one candle every `FEED_INTERVAL_MS`, under the first of `MARKET_SYMBOLS`. For a paper
/// stack offline; live refuses it (`MarketFeedConfiguration`).
public struct ReplaySource: Service {
    let candles: [Candle]
    let symbol: String
    let intervalMilliseconds: Int
    let sink: GatewaySink
    let stats: FeedStats
    let logger: Logger
    let warmUp = 50

    public init(file: String, symbol: String, intervalMilliseconds: Int, sink: GatewaySink, stats: FeedStats, logger: Logger) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw GatewaySink.Failure(description: "FEED_FILE \(file) cannot be read")
        }
        do {
            candles = try CandleCSV.parse(data)
        } catch {
            throw GatewaySink.Failure(description: "FEED_FILE \(file):\(error.line) is not open_time,open,high,low,close,volume")
        }
        self.symbol = symbol
        self.intervalMilliseconds = intervalMilliseconds
        self.sink = sink
        self.stats = stats
        self.logger = logger
    }

    public func run() async throws {
        var next = 0
        var failures = 0
        while next < candles.count, !Task.isShuttingDownGracefully {
            let batch = Array(candles[next..<min(candles.count, next == 0 ? warmUp : next + 1)])
            do {
                try await sink.post(symbol: symbol, batch)
                stats.delivered(symbol: symbol, batch)
                next += batch.count
                failures = 0
            } catch {
                failures += 1
                if failures == 1 { logger.warning("replay: post failed, retrying", metadata: ["error": "\(error)"]) }
            }
            let pause = next == 0 ? 250 : intervalMilliseconds
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(pause)) }
            } catch {
                return
            }
        }
        logger.info("replay finished; the last price stays in force", metadata: ["candles": "\(next)"])
        try? await gracefulShutdown()
    }
}
