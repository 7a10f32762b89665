import AsyncHTTPClient
import Foundation
import Logging
import MarketFeed
import Synchronization
import Testing
import TradingDomain
import TradingWire

/// `trading-stack download` and the paging under it (`HistoryDownload`), against the Binance
/// stand-in's klines REST with its documented failures: a 429 with `Retry-After` mid-way, a page
/// shorter than asked, a 5xx, `-1121 Invalid symbol.`, `-1120 Invalid interval.`; a run killed
/// mid-way and resumed; the file read by the backtest and by the replay.
@Suite("history download against the Binance stand-in", .serialized)
struct HistoryDownloadTests {
    /// 2024-01-01T00:00:00Z.
    static let january: Int64 = 1_704_067_200_000
    static let binary = Stack.binaryDirectory.appendingPathComponent("trading-stack").path

    static func file(_ name: String = "candles") -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).csv").path
    }

    static func candles(_ path: String) throws -> [TradingWire.Candle] {
        try CandleCSV.parse(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every candle is the stand-in's, in order, once, and exactly `expected` open times.
    static func expectCandles(
        _ path: String,
        _ market: FakeBinanceMarket,
        _ expected: [Int64],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let read = try candles(path)
        #expect(read.map(\.openTime) == expected, "\(read.count) candles, \(expected.count) expected", sourceLocation: sourceLocation)
        for candle in read {
            let c = market.candle("BTCUSDT", candle.openTime)
            if abs(candle.close - c.close) > 1e-9 || abs(candle.open - c.open) > 1e-9 || abs(candle.volume - c.volume) > 1e-9 {
                Issue.record("\(candle) is not the stand-in's \(c)", sourceLocation: sourceLocation)
                return
            }
        }
    }

    static func download(_ arguments: [String], market: FakeBinanceMarket) throws -> (status: Int32, output: String) {
        try runTool(binary, ["download", "--rest-url", market.restURL] + arguments, environment: ["PATH": "/usr/bin:/bin"], timeoutSeconds: 120)
    }

    @Test("pages through a 429 with Retry-After (the next request waits it), a short page and a 5xx: every candle once, in order, gaps left out")
    func pagesThroughFaults() async throws {
        let step: Int64 = 60_000
        let halted: Range<Int64> = (Self.january + 1_500 * step)..<(Self.january + 1_520 * step)
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"], listedAt: Self.january + 10 * step, halted: halted)
        try await market.start()
        defer { market.stop() }
        market.restFaults {
            $0.rateLimitAt = [2]
            $0.shortPageAt = [4]
            $0.serverErrorAt = [5]
        }
        let path = Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let interval = MarketInterval("1m") else { return }
        let plan = HistoryDownload.Plan(symbol: "BTCUSDT", interval: interval, from: Self.january, to: Self.january + 3_000 * step, file: path)
        let fractions = Mutex<[Double]>([])
        let summary = try await HistoryDownload.run(
            plan,
            restURL: market.restURL,
            progress: { progress in fractions.withLock { $0.append(progress.fraction) } }
        )

        let expected = (10..<3_000).map { Self.january + Int64($0) * step }.filter { !halted.contains($0) }
        try Self.expectCandles(path, market, expected)
        #expect(summary.appended == expected.count && summary.existing == 0)
        #expect(summary.retries == 2, "the 429 and the 5xx asked again")
        #expect(summary.gaps == 20, "the halted 20 minutes")
        #expect(summary.weightUsed > 0)
        let requests = market.klinesRequests
        #expect(market.state.withLock { $0.earlyRequests } == 0, "a request came before Retry-After passed (418)")
        #expect(requests[2].at - requests[1].at >= 1_000, "the request after the 429 waited its Retry-After")
        #expect(requests.allSatisfy { $0.limit <= 1_000 && $0.interval == "1m" && $0.endTime == plan.to - 1 })
        // The page after the short one starts after its last candle: nothing asked twice but the retried ones.
        let starts = requests.compactMap(\.startTime)
        #expect(starts == starts.sorted(), "\(starts)")
        let reached = fractions.withLock { $0 }
        #expect(reached == reached.sorted() && reached.last == 1, "\(reached)")
    }

    @Test("the feed's backfill goes on past a page shorter than asked: every candle of the range, not only the short page's")
    func backfillPastAShortPage() async throws {
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        market.restFaults { $0.shortPageAt = [1] }
        guard let interval = MarketInterval("1m") else { return }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let klines = BinanceKlinesClient(
            client: client,
            baseURL: market.restURL,
            parser: BinanceMarketParser(symbols: ["BTCUSDT"], interval: interval),
            logger: Logger(label: "test")
        )
        let to = Self.january + 299 * 60_000
        let candles = try await klines.closedCandles(symbol: "BTCUSDT", from: Self.january, to: to) { Int64(Date().timeIntervalSince1970 * 1_000) }
        try await client.shutdown()
        #expect(candles.map(\.openTime) == (0..<300).map { Self.january + Int64($0) * 60_000 }, "\(candles.count) candles")
        #expect(market.klinesRequests.count == 2, "the short page, then the rest")
    }

    @Test("Binance's refusals stop the download with their message and exit 1: -1121 Invalid symbol., -1120 Invalid interval.")
    func refusalsStop() async throws {
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        let path = Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let unknown = try Self.download(
            ["--symbol", "XRPUSDT", "--interval", "5m", "--from", "2024-01-01", "--to", "2024-01-02", "--out", path],
            market: market
        )
        #expect(unknown.status == 1 && unknown.output.contains("-1121 Invalid symbol."), "\(unknown.output)")
        #expect(unknown.output.contains("run the same command again to resume"), "\(unknown.output)")
        #expect(try Self.candles(path).isEmpty, "only the header")
        market.restFaults { $0.refusedIntervals = ["3d"] }
        let interval = try Self.download(
            ["--symbol", "BTCUSDT", "--interval", "3d", "--from", "2024-01-01", "--to", "2024-03-01", "--out", path],
            market: market
        )
        #expect(interval.status == 1 && interval.output.contains("-1120 Invalid interval."), "\(interval.output)")
        #expect(market.klinesRequests.count == 2, "a refusal is not asked again")
    }

    @Test("every argument is checked before a request: dates, --from before --to, the interval, the symbol, the page size, the URL, the file")
    func badArgumentsRefused() async throws {
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        let good = ["--symbol", "BTCUSDT", "--interval", "5m", "--from", "2024-01-01", "--to", "2024-03-01", "--out", Self.file()]
        func with(_ key: String, _ value: String) -> [String] {
            var arguments = good
            if let index = arguments.firstIndex(of: key) { arguments[index + 1] = value } else { arguments += [key, value] }
            return arguments
        }
        let cases: [([String], String)] = [
            (with("--from", "2024-13-01"), "--from must be Unix milliseconds or an ISO 8601 date"),
            (with("--to", "yesterday"), "--to must be Unix milliseconds or an ISO 8601 date"),
            (with("--to", "2023-12-31"), "--from must be before --to"),
            (with("--from", "2999-01-01"), "--from must be in the past"),
            (with("--interval", "1M"), "1M is refused"),
            (with("--interval", "7m"), "--interval must be one of 1s, 1m, 3m, 5m"),
            (with("--symbol", "btc-usdt"), "--symbol must be 2 to 20 upper-case letters or digits"),
            (with("--page-size", "1001"), "--page-size must be 1 to 1000"),
            (with("--rest-url", "ftp://example"), "--rest-url must be an http or https URL"),
            (with("--out", "/nonexistent-dir/x.csv"), "the directory /nonexistent-dir does not exist"),
        ]
        for (arguments, message) in cases {
            let run = try runTool(Self.binary, ["download"] + arguments, environment: ["PATH": "/usr/bin:/bin"], timeoutSeconds: 30)
            #expect(run.status != 0 && run.output.contains(message), "\(arguments): \(run.output)")
        }
        #expect(market.klinesRequests.isEmpty, "no argument error reached the exchange")
    }

    @Test(
        "a run killed mid-way leaves a valid CSV; the same command again appends only the missing candles (an unfinished last line cut), with progress per 10 % and a summary; the backtest and the replay read the file"
    )
    func resumeAfterKill() async throws {
        let step: Int64 = 300_000
        let market = FakeBinanceMarket(symbols: ["BTCUSDT"])
        try await market.start()
        defer { market.stop() }
        market.restFaults { $0.delayMilliseconds = 400 }
        let path = Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let to = Self.january + 2_000 * step
        let arguments = ["--symbol", "BTCUSDT", "--interval", "5m", "--from", "2024-01-01", "--to", "\(to)", "--out", path, "--page-size", "100"]

        // The first run, killed once a few pages are on disk.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["download", "--rest-url", market.restURL] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await waitUntil("a few pages are written", timeout: .seconds(60)) { ((try? Self.candles(path))?.count ?? 0) >= 300 }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let kept = try Self.candles(path)
        #expect(kept.count >= 300 && kept.count < 2_000 && kept.count % 100 == 0, "whole pages only: \(kept.count)")
        try Self.expectCandles(path, market, kept.indices.map { Self.january + Int64($0) * step })
        // As if killed while a line was written: an unfinished line at the end.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(Self.january + Int64(kept.count) * step),100.1".utf8))
        try handle.close()

        market.restFaults { $0.delayMilliseconds = 0 }
        let before = market.klinesRequests.count
        let resumed = try Self.download(arguments, market: market)
        #expect(resumed.status == 0, "\(resumed.output)")
        let expected = (0..<2_000).map { Self.january + Int64($0) * step }
        try Self.expectCandles(path, market, expected)
        let second = Array(market.klinesRequests.dropFirst(before))
        #expect(second.first?.startTime == Self.january + Int64(kept.count) * step, "the second run asks from after the last whole line")
        #expect(second.count == (2_000 - kept.count + 99) / 100)
        let summary = resumed.output.split(separator: "\n").last { $0.hasPrefix("download summary:") } ?? ""
        #expect(summary.contains("\(2_000 - kept.count) candles appended") && summary.contains("(\(kept.count) already there)"), "\(resumed.output)")
        #expect(summary.contains("unfinished line of"), "\(summary)")
        // A pipe: a progress line per 10 %, from the resumed point to 100 %.
        let lines = resumed.output.split(separator: "\n").filter { $0.hasPrefix("download: ") && $0.contains(" %, ") }
        #expect(lines.last?.hasPrefix("download: 100 %") == true && lines.count <= 11 && lines.count >= 2, "\(resumed.output)")

        // Run again: nothing missing, nothing asked but nothing written.
        let third = try Self.download(arguments, market: market)
        #expect(third.status == 0 && third.output.contains("0 candles appended") && third.output.contains("(2000 already there)"), "\(third.output)")
        try Self.expectCandles(path, market, expected)

        // The backtest reads it.
        let backtest = try runTool(
            Self.binary,
            ["backtest", path, "--symbol", "BTCUSDT", "--benchmark"],
            environment: ["PATH": "/usr/bin:/bin"],
            timeoutSeconds: 120
        )
        #expect(backtest.status == 0 && backtest.output.contains("backtest throughput: 2000 candles"), "\(backtest.output)")

        // The replay (FEED_FILE) reads it: the gateway holds its candles.
        let stack = try await MarketFeedTests.stack(market)
        try stack.start(
            "market-feed",
            ["MARKET_SOURCE": "replay", "FEED_FILE": path, "MARKET_SYMBOLS": "BTCUSDT", "GATEWAY_URL": "http://127.0.0.1:\(stack.httpPort)"]
        )
        try await waitUntil("the replay's warm-up is held", timeout: .seconds(30)) { try await MarketFeedTests.held(stack, "BTCUSDT").count >= 50 }
        let held = try await MarketFeedTests.held(stack, "BTCUSDT")
        #expect((held.first?["openTime"] as? Int).map(Int64.init) == Self.january, "\(held.first ?? [:])")
        #expect(abs((held.first?["close"] as? Double ?? 0) - market.candle("BTCUSDT", Self.january).close) < 1e-9)
    }
}
