import ArgumentParser
import Foundation

/// `trading-stack`: the local launcher and supervisor, and the candle replay.
@main
struct TradingStack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trading-stack",
        abstract: "Runs the whole pipeline locally, replays a candle file into a running gateway, or backtests one.",
        discussion: """
            Environment of `run`: STACK_LOG_DIR (logs), STACK_DATA_DIR (data), STACK_MODELS (id=path,...), \
            STACK_HEALTH_PORT_BASE (9100), FEATURE_WORKERS, MODEL_WORKERS, EXECUTION_WORKERS (1), FEED_FILE, FEED_SYMBOL, \
            FEED_INTERVAL_MS; every other variable passes through to the services.
            """,
        subcommands: [Run.self, Replay.self, Backtest.self],
        defaultSubcommand: Run.self
    )

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the gateway and every worker, restart any that die (Ctrl-C stops them).")

        func run() throws { runStack() }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream a candle CSV (open_time,open,high,low,close,volume) into a running gateway, with progress and a summary."
        )

        @Argument(help: "The candle CSV file.") var file: String
        @Argument(help: "The symbol to post the candles as.") var symbol = "BTCUSDT"
        @Option(help: "The gateway's base URL (default $GATEWAY_URL, else http://127.0.0.1:$HTTP_PORT).")
        var gateway =
            ProcessInfo.processInfo.environment["GATEWAY_URL"] ?? "http://127.0.0.1:\(ProcessInfo.processInfo.environment["HTTP_PORT"] ?? "8000")"
        @Option(name: .customLong("interval-ms"), help: "Milliseconds between candles after the warm-up (default $FEED_INTERVAL_MS, else 1000).")
        var intervalMilliseconds = Int(ProcessInfo.processInfo.environment["FEED_INTERVAL_MS"] ?? "") ?? 1000
        @Option(name: .customLong("warm-up"), help: "Candles posted at once first.") var warmUp = 50
        @Option(help: "Bearer token (default $API_TOKEN).") var token = ProcessInfo.processInfo.environment["API_TOKEN"] ?? ""
        @Flag(help: "No progress line, only the summary.") var quiet = false

        func validate() throws {
            guard intervalMilliseconds >= 0 else { throw ValidationError("--interval-ms must be 0 or more") }
            guard warmUp >= 1 else { throw ValidationError("--warm-up must be at least 1") }
        }

        func run() throws {
            var feed = CandleFeed(
                gateway: gateway,
                file: file,
                symbol: symbol,
                intervalMilliseconds: intervalMilliseconds,
                token: token.isEmpty ? nil : token
            )
            feed.warmUp = warmUp
            let interactive = isatty(STDOUT_FILENO) != 0
            var lastPrinted = -1
            do {
                let summary = try feed.run(
                    log: { print($0) },
                    progress: { done, total, rate in
                        guard !quiet else { return }
                        let percent = total > 0 ? done * 100 / total : 100
                        // A terminal gets one line rewritten in place; a pipe a line per 10 %.
                        if interactive {
                            let line =
                                "\rreplay: \(done)/\(total) candles (\(percent) %), \(String(format: "%.1f", rate)) candles/s"
                                + (done == total ? "\n" : "")
                            FileHandle.standardOutput.write(Data(line.utf8))
                        } else if percent / 10 != lastPrinted / 10 || done == total {
                            lastPrinted = percent
                            print("replay: \(done)/\(total) candles (\(percent) %), \(String(format: "%.1f", rate)) candles/s")
                        }
                    }
                )
                print(
                    "replay summary: \(summary.sent) of \(summary.total) candles sent as \(symbol), \(summary.failed) failed, "
                        + "\(String(format: "%.1f", summary.seconds)) s, \(String(format: "%.1f", summary.rate)) candles/s"
                )
                if summary.failed > 0 { throw ExitCode.failure }
            } catch let error as CandleFeed.FeedError {
                FileHandle.standardError.write(Data("replay failed: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
