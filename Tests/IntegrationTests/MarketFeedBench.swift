import Foundation
import Synchronization
import Testing

/// Latency and CPU of the market feed on 1 s klines, at 1 and at 200 symbols (run with
/// `MARKET_FEED_BENCH=1`; prints `BENCH` lines): from the stand-in sending a closing kline to the
/// candle being held by the gateway (every symbol, from `GET /api/market/status`), and to a
/// consensus answered on it (one symbol a second, whose `price` is that candle's close, so a feature
/// worker computed its features); CPU seconds per candle of the feed and of the gateway.
@Suite("market feed latency and CPU", .serialized, .enabled(if: ProcessInfo.processInfo.environment["MARKET_FEED_BENCH"] == "1"))
struct MarketFeedBench {
    static func cpuSeconds(_ pid: Int32?) -> Double {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func percentile(_ values: [Int64], _ p: Double) -> Int64 {
        guard !values.isEmpty else { return -1 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    @Test(arguments: [1, 200])
    func latency(symbols count: Int) async throws {
        let symbols = (0..<count).map { "S\($0)USDT" }
        let (market, stack, _) = try await MarketFeedTests.running(
            symbols,
            full: true,
            ["CANDLE_WINDOW": "60", "MAX_SYMBOLS": "500"],
            feed: ["MARKET_BACKFILL": "40"]
        )
        defer { market.stop() }
        try stack.start("feature-worker#2", ["HEALTH_PORT": "0"])
        try await Task.sleep(for: .seconds(5))
        let samples = Samples()
        let seconds = 20
        let cpuBefore = (feed: Self.cpuSeconds(stack.pid("market-feed")), gateway: Self.cpuSeconds(stack.pid("gateway")))
        let startedAt = FakeBinanceMarket.now()
        let deadline = startedAt + Int64(seconds) * 1_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var seen: [String: Int64] = [:]
                while FakeBinanceMarket.now() < deadline {
                    let rows = try await stack.get("/api/market/status").json["symbols"] as? [[String: Any]] ?? []
                    let now = FakeBinanceMarket.now()
                    for row in rows {
                        guard let symbol = row["symbol"] as? String, let open = (row["lastOpenTime"] as? NSNumber)?.int64Value else { continue }
                        if seen[symbol] != open, seen[symbol] != nil, let sent = market.state.withLock({ $0.sentAt[open] }) {
                            samples.held.withLock { $0.append(now - sent) }
                        }
                        seen[symbol] = open
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            group.addTask {
                var index = 0
                while FakeBinanceMarket.now() < deadline - 2_000 {
                    // Wait for the next closing kline to be sent, then ask until the answer is on it.
                    let target = (FakeBinanceMarket.now() / 1_000) * 1_000
                    let symbol = symbols[index % symbols.count]
                    index += 1
                    let close = market.candle(symbol, target).close
                    while FakeBinanceMarket.now() < target + 5_000 {
                        let answer = try await stack.post("/api/ai/consensus", #"{"symbol": "\#(symbol)"}"#)
                        if let price = answer.json["price"] as? Double, abs(price - close) < 1e-9,
                            let sent = market.state.withLock({ $0.sentAt[target] })
                        {
                            samples.consensus.withLock { $0.append(FakeBinanceMarket.now() - sent) }
                            break
                        }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    try await Task.sleep(for: .milliseconds(max(0, target + 1_000 - FakeBinanceMarket.now())))
                }
            }
            try await group.waitForAll()
        }
        let elapsed = Double(FakeBinanceMarket.now() - startedAt) / 1_000
        let cpuAfter = (feed: Self.cpuSeconds(stack.pid("market-feed")), gateway: Self.cpuSeconds(stack.pid("gateway")))
        let candles = Double(count) * elapsed
        let heldValues = samples.held.withLock { $0 }
        let consensusValues = samples.consensus.withLock { $0 }
        print(
            "BENCH symbols=\(count) held_ms p50=\(Self.percentile(heldValues, 0.5)) p99=\(Self.percentile(heldValues, 0.99)) n=\(heldValues.count)"
                + " consensus_ms p50=\(Self.percentile(consensusValues, 0.5)) p99=\(Self.percentile(consensusValues, 0.99))"
                + " n=\(consensusValues.count)"
                + " cpu_ms_per_candle feed=\(String(format: "%.3f", (cpuAfter.feed - cpuBefore.feed) * 1_000 / candles))"
                + " gateway=\(String(format: "%.3f", (cpuAfter.gateway - cpuBefore.gateway) * 1_000 / candles))"
                + " cpu_s feed=\(String(format: "%.2f", cpuAfter.feed - cpuBefore.feed))"
                + " gateway=\(String(format: "%.2f", cpuAfter.gateway - cpuBefore.gateway)) over \(elapsed) s"
        )
        #expect(!heldValues.isEmpty && !consensusValues.isEmpty)
    }
}

/// Latencies in milliseconds, gathered by concurrent pollers.
final class Samples: Sendable {
    let held = Mutex<[Int64]>([])
    let consensus = Mutex<[Int64]>([])
}
