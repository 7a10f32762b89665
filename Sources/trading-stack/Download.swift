import ArgumentParser
import Foundation
import MarketFeed
import Synchronization
import TradingWire

/// `trading-stack download --symbol X --interval 5m --from T --to T --out FILE.csv`: Binance's
/// klines for a backtest or a replay (`HistoryDownload`), resumable, with a progress bar and a
/// summary.
struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a symbol's candles from Binance into a candle CSV (open_time,open,high,low,close,volume), resumably.",
        discussion: """
            Pages GET /api/v3/klines (1000 candles a request, weight 2, within Binance's weight a minute; a 429 or 418 waits \
            its Retry-After). A file already there is read and only the candles after its last one are appended, so running \
            the same command again after an interruption finishes it. The CSV is what `backtest` and the replay (FEED_FILE) read.
            """
    )

    @Option(help: "The symbol (2 to 20 upper-case letters or digits, like BTCUSDT).") var symbol: String
    @Option(help: "The candle interval: \(MarketInterval.names).") var interval: String
    @Option(help: "First candle: Unix milliseconds or an ISO 8601 date/time (UTC), inclusive.") var from: String
    @Option(help: "End: Unix milliseconds or an ISO 8601 date/time (UTC), exclusive (default now: every closed candle).") var to: String?
    @Option(help: "The CSV file written (appended to when it exists).") var out: String
    @Option(name: .customLong("rest-url"), help: "Binance's REST base URL ($BINANCE_MARKET_REST_URL when set).")
    var restURL = ProcessInfo.processInfo.environment["BINANCE_MARKET_REST_URL"] ?? "https://api.binance.com"
    @Option(name: .customLong("page-size"), help: "Candles asked for per request, 1 to 1000.") var pageSize = 1_000
    @Flag(help: "No progress, only the summary.") var quiet = false

    /// The arguments, checked: every refusal names the argument and what it must be.
    func plan(now: Int64) throws -> HistoryDownload.Plan {
        guard Identifier.symbol.accepts(symbol) else { throw ValidationError("--symbol must be \(Identifier.symbol.grammar), not \"\(symbol)\"") }
        guard let parsedInterval = MarketInterval(interval) else {
            let month = interval == "1M" ? " (1M is refused: months differ in length)" : ""
            throw ValidationError("--interval must be one of \(MarketInterval.names), not \"\(interval)\"\(month)")
        }
        let start = try Self.time(from, "--from")
        let end = try to.map { try Self.time($0, "--to") } ?? now
        guard start >= 0 else { throw ValidationError("--from must not be before 1970") }
        guard start < now else { throw ValidationError("--from must be in the past") }
        guard start < end else { throw ValidationError("--from must be before --to") }
        guard (1...BinanceKlinesClient.maxLimit).contains(pageSize) else { throw ValidationError("--page-size must be 1 to 1000") }
        guard let url = URL(string: restURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ValidationError("--rest-url must be an http or https URL, not \"\(restURL)\"")
        }
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        return HistoryDownload.Plan(symbol: symbol, interval: parsedInterval, from: start, to: end, file: out, pageSize: pageSize)
    }

    func validate() throws {
        _ = try plan(now: Int64(Date().timeIntervalSince1970 * 1_000))
    }

    func run() throws {
        let plan = try plan(now: Int64(Date().timeIntervalSince1970 * 1_000))
        let base = restURL.hasSuffix("/") ? String(restURL.dropLast()) : restURL
        let interactive = isatty(STDOUT_FILENO) != 0
        let quiet = quiet
        let outcome = Mutex<Result<HistoryDownload.Summary, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            var lastTenth = -1
            let result = await Result {
                try await HistoryDownload.run(plan, restURL: base, notice: { FileHandle.standardError.write(Data("download: \($0)\n".utf8)) }) {
                    progress in
                    guard !quiet else { return }
                    let percent = Int(progress.fraction * 100)
                    let reached = progress.lastOpenTime.map(Self.iso) ?? "-"
                    if interactive {
                        // A terminal: one bar rewritten in place.
                        let width = 30
                        let filled = min(width, Int(progress.fraction * Double(width)))
                        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                        FileHandle.standardOutput.write(
                            Data(
                                "\r[\(bar)] \(percent) %, \(progress.appended) new candles, file up to \(reached), \(progress.requests) requests".utf8
                            )
                        )
                    } else if percent / 10 != lastTenth {
                        // A pipe: a line per 10 %.
                        lastTenth = percent / 10
                        print("download: \(percent) %, \(progress.appended) new candles, file up to \(reached), \(progress.requests) requests")
                    }
                }
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        if interactive && !quiet { print("") }
        switch outcome.withLock({ $0 }) {
        case .success(let summary)?:
            print(Self.summaryLine(plan, summary))
        case .failure(let error)?:
            FileHandle.standardError.write(
                Data("download failed: \(error)\nthe file keeps every candle written; run the same command again to resume\n".utf8)
            )
            throw ExitCode.failure
        case nil:
            throw ExitCode.failure
        }
    }

    /// `download summary: BTCUSDT 5m from ... to ...: N candles appended to FILE (M already there), ...`.
    static func summaryLine(_ plan: HistoryDownload.Plan, _ summary: HistoryDownload.Summary) -> String {
        "download summary: \(plan.symbol) \(plan.interval.name) from \(iso(plan.from)) to \(iso(plan.to)): "
            + "\(summary.appended) candles appended to \(plan.file) (\(summary.existing) already there), "
            + "\(summary.requests) requests, \(summary.retries) retried, \(summary.gaps) missing at Binance, "
            + "file up to \(summary.lastOpenTime.map(iso) ?? "-"), weight used \(summary.weightUsed)/min, "
            + "\(summary.truncatedBytes > 0 ? "an unfinished line of \(summary.truncatedBytes) bytes cut, " : "")"
            + "\(String(format: "%.1f", summary.seconds)) s"
    }

    static func iso(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000))
    }

    /// Unix milliseconds or an ISO 8601 date or date-time (UTC), as `backtest` reads them.
    static func time(_ text: String, _ option: String) throws -> Int64 {
        do {
            return try Backtest.time(text)
        } catch {
            throw ValidationError(
                "\(option) must be Unix milliseconds or an ISO 8601 date (2024-01-01) or date-time (2024-01-01T12:00:00Z), not \"\(text)\""
            )
        }
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
