import AsyncHTTPClient
import Foundation
import Logging
import TradingDomain
import TradingWire

/// Downloads a symbol's closed klines from Binance (`GET /api/v3/klines`, in pages) into the
/// candle CSV the backtest and the replay read (`open_time,open,high,low,close,volume`, a header
/// line first, oldest first), resumably: a file already there is read, and only what opens after
/// its last candle is asked for and appended. Each page is appended as whole lines and flushed to
/// disk before the next request, so a run killed at any point leaves a valid CSV, and the next
/// run goes on from its last line; no row is ever written twice or out of order.
///
/// A 429 or 418 waits its `Retry-After` (up to `maxWaitSeconds`, else the run stops, resumable);
/// a 5xx or no answer is tried again up to `attempts` times; Binance's refusals (`-1121 Invalid
/// symbol.`, `-1120 Invalid interval.`) stop it at once with their message.
public struct HistoryDownload: Sendable {
    /// What to download.
    public struct Plan: Sendable {
        public var symbol: String
        public var interval: MarketInterval
        /// Candles opening at or after this (Unix ms)...
        public var from: Int64
        /// ...and before this (Unix ms, exclusive); candles still open at the run's time are left out.
        public var to: Int64
        public var file: String
        /// Candles asked for per request, 1...1000.
        public var pageSize: Int

        public init(symbol: String, interval: MarketInterval, from: Int64, to: Int64, file: String, pageSize: Int = 1_000) {
            self.symbol = symbol
            self.interval = interval
            self.from = from
            self.to = to
            self.file = file
            self.pageSize = pageSize
        }
    }

    /// After each page.
    public struct Progress: Sendable {
        /// Candles appended by this run so far.
        public var appended: Int
        /// How far through `from..<to` the file now reaches, 0...1.
        public var fraction: Double
        /// The newest candle in the file.
        public var lastOpenTime: Int64?
        public var requests: Int
    }

    /// What a run did.
    public struct Summary: Sendable, Equatable {
        /// Candles the file held in the range before the run, and candles this run appended.
        public var existing: Int
        public var appended: Int
        public var requests: Int
        /// Requests answered 429/418 or unavailable and asked again.
        public var retries: Int
        /// Candles missing inside the file's span in the range (Binance has none for them:
        /// trading halted), counted over what this run appended.
        public var gaps: Int
        public var firstOpenTime: Int64?
        public var lastOpenTime: Int64?
        /// Bytes of an unfinished last line (a run killed while writing) cut before resuming.
        public var truncatedBytes: Int
        /// `X-MBX-USED-WEIGHT-1M` after the last request.
        public var weightUsed: Int
        public var seconds: Double
    }

    /// Why a download stopped; the file keeps every whole page written before.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// The candle CSV's first line.
    public static let header = "open_time,open,high,low,close,volume"

    public let plan: Plan
    public let klines: BinanceKlinesClient
    public var maxWaitSeconds = 300
    public var attempts = 5
    /// Told of each request tried again (a rate limit, an outage), as one line.
    public var notice: @Sendable (String) -> Void = { _ in }

    public init(plan: Plan, klines: BinanceKlinesClient) {
        self.plan = plan
        self.klines = klines
    }

    /// Runs the download; `progress` after every page appended.
    public func run(
        now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) },
        progress: (Progress) -> Void = { _ in }
    ) async throws
        -> Summary
    {
        let started = Date()
        let step = plan.interval.milliseconds
        let existingFile = try Self.prepare(plan.file, interval: plan.interval)
        var summary = Summary(
            existing: existingFile.candles.filter { $0 >= plan.from && $0 < plan.to }.count,
            appended: 0,
            requests: 0,
            retries: 0,
            gaps: 0,
            firstOpenTime: existingFile.candles.first,
            lastOpenTime: existingFile.candles.last,
            truncatedBytes: existingFile.truncatedBytes,
            weightUsed: 0,
            seconds: 0
        )
        var start = max(plan.from, (existingFile.candles.last.map { $0 + step }) ?? plan.from)
        let handle: FileHandle
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: plan.file))
            try handle.seekToEnd()
        } catch {
            throw Failure("\(plan.file) cannot be opened for appending: \(error)")
        }
        defer { try? handle.close() }
        var previous = existingFile.candles.last
        func fraction(_ reached: Int64) -> Double {
            plan.to > plan.from ? min(1, max(0, Double(reached - plan.from) / Double(plan.to - plan.from))) : 1
        }
        progress(Progress(appended: 0, fraction: fraction(start), lastOpenTime: previous, requests: 0))
        var failures = 0
        while start < plan.to {
            try Task.checkCancellation()
            let wanted = (plan.to - start + step - 1) / step
            let limit = Int(min(Int64(plan.pageSize), wanted))
            let page: [Candle]
            do {
                summary.requests += 1
                page = try await klines.page(symbol: plan.symbol, startTime: start, endTime: plan.to - 1, limit: limit, now: now())
                failures = 0
            } catch let failure as BinanceKlinesClient.Failure {
                failures += 1
                switch failure.kind {
                case .refused, .malformed:
                    throw Failure(failure.description)
                case .rateLimited(_, let seconds) where seconds > maxWaitSeconds:
                    throw Failure("\(failure.description): longer than \(maxWaitSeconds) s to wait; run the same command again after that")
                case .rateLimited, .unavailable:
                    guard failures < attempts else { throw Failure("\(failure.description) (\(failures) tries in a row)") }
                    summary.retries += 1
                    notice("\(failure.description); trying again (\(failures) of \(attempts - 1))")
                    if case .unavailable = failure.kind { try await Task.sleep(for: .milliseconds(250 << min(failures, 6))) }
                    continue  // A rate limit: the client itself waits Retry-After before the next request.
                }
            }
            // Only what this request asked for, each after the one before: never a repeat, never
            // out of order (the parser already refused an answer whose open times do not increase).
            let fresh = page.filter { $0.openTime >= start && $0.openTime < plan.to }
            guard let last = fresh.last else { break }
            var text = ""
            text.reserveCapacity(fresh.count * 64)
            for candle in fresh {
                if let previous, candle.openTime > previous + step { summary.gaps += Int((candle.openTime - previous) / step) - 1 }
                previous = candle.openTime
                text += Self.line(candle)
            }
            do {
                try handle.write(contentsOf: Data(text.utf8))
                try handle.synchronize()
            } catch {
                throw Failure("\(plan.file): writing failed: \(error)")
            }
            summary.appended += fresh.count
            summary.firstOpenTime = summary.firstOpenTime ?? fresh.first?.openTime
            summary.lastOpenTime = last.openTime
            start = last.openTime + step
            progress(Progress(appended: summary.appended, fraction: fraction(start), lastOpenTime: last.openTime, requests: summary.requests))
        }
        summary.weightUsed = await klines.weightUsed
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Downloads `plan` from the Binance REST API at `restURL` with a client of its own.
    public static func run(
        _ plan: Plan,
        restURL: String,
        notice: @escaping @Sendable (String) -> Void = { _ in },
        progress: (Progress) -> Void = { _ in }
    ) async throws -> Summary {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let parser = BinanceMarketParser(symbols: [plan.symbol], interval: plan.interval)
        var logger = Logger(label: "download")
        logger.logLevel = .warning
        var download = HistoryDownload(
            plan: plan,
            klines: BinanceKlinesClient(client: client, baseURL: restURL, parser: parser, logger: logger)
        )
        download.notice = notice
        do {
            let summary = try await download.run(progress: progress)
            try? await client.shutdown()
            return summary
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// One CSV line: the open time, then each number as the shortest text that reads back as the
    /// same `Double` (what `CandleCSV` reads).
    static func line(_ candle: Candle) -> String {
        "\(candle.openTime),\(candle.open),\(candle.high),\(candle.low),\(candle.close),\(candle.volume)\n"
    }

    /// What the file holds: its candles' open times (oldest first). A missing or empty file is
    /// created with the header; an unfinished last line (no newline: a run killed while writing)
    /// is cut. A file that is not a candle CSV, or whose candles do not increase or do not fit
    /// the interval, is refused and left as it is.
    static func prepare(_ path: String, interval: MarketInterval) throws -> (candles: [Int64], truncatedBytes: Int) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw Failure("\(path) is a directory") }
        } else {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty, !manager.fileExists(atPath: directory) { throw Failure("the directory \(directory) does not exist") }
            // Written whole under a temporary name, then renamed: the file never exists half made.
            let temporary = path + ".partial-\(getpid())"
            guard manager.createFile(atPath: temporary, contents: Data((header + "\n").utf8)) else { throw Failure("\(path) cannot be created") }
            guard rename(temporary, path) == 0 else {
                try? manager.removeItem(atPath: temporary)
                throw Failure("\(path) cannot be created")
            }
            return ([], 0)
        }
        guard let data = manager.contents(atPath: path) else { throw Failure("\(path) cannot be read") }
        var truncated = 0
        var content = data
        if let lastNewline = content.lastIndex(of: UInt8(ascii: "\n")) {
            truncated = content.count - (lastNewline + 1)
            content = content.prefix(lastNewline + 1)
        } else {
            // No whole line: an empty file, or one killed while its header was written.
            guard header.utf8.starts(with: content) else { throw Failure("\(path) is not a candle CSV (\(header))") }
            truncated = content.count
            content = Data()
        }
        if content.isEmpty {
            try write(Data((header + "\n").utf8), to: path)
            return ([], truncated)
        }
        let firstLine = content.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard firstLine.elementsEqual(header.utf8) else {
            throw Failure("\(path) does not start with the header \(header): not resumed, nothing written")
        }
        let candles: [Candle]
        do {
            candles = try CandleCSV.parse(content)
        } catch {
            throw Failure("\(path):\(error.line) is not open_time,open,high,low,close,volume: not resumed, nothing written")
        }
        for (index, candle) in candles.enumerated() {
            guard interval.isAligned(candle.openTime) else {
                throw Failure("\(path): the candle opening at \(candle.openTime) is not a \(interval.name) candle: not resumed, nothing written")
            }
            if index > 0, candle.openTime <= candles[index - 1].openTime {
                throw Failure("\(path): open times do not increase at \(candle.openTime): not resumed, nothing written")
            }
        }
        if truncated > 0 {
            guard truncate(path, off_t(content.count)) == 0 else { throw Failure("\(path): its unfinished last line cannot be cut") }
        }
        return (candles.map(\.openTime), truncated)
    }

    private static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw Failure("\(path) cannot be written: \(error)")
        }
    }
}
