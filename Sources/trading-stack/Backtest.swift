import ArgumentParser
import Foundation
import RiskWorker
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire

/// `trading-stack backtest FILE --symbol X [--from T] [--to T]`: the pipeline's domain code over a
/// candle file (see `Backtester`), with the risk worker's and the gateway's configuration read
/// from the environment as they read it.
struct Backtest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Backtest the models, consensus, risk rules and protections over a candle CSV (open_time,open,high,low,close,volume).",
        discussion: """
            Reads the risk worker's keys (CONFIDENCE_THRESHOLD, MAX_ORDER_USD, FEE_BPS, SLIPPAGE_BPS, MAX_DRAWDOWN, \
            DRAWDOWN_ACTION, COOLDOWN_MINUTES, STOPLOSS_GUARD_*, LOW_PROFIT_*, ...) and the gateway's CONSENSUS_QUORUM, \
            CONSENSUS_MIN_AGREEMENT and CANDLE_WINDOW from the environment. Writes report.json, equity.csv and equity.svg.
            """
    )

    @Argument(help: "The candle CSV file.") var file: String
    @Option(help: "The symbol traded (upper-case letters and digits).") var symbol: String
    @Option(help: "First candle traded: Unix milliseconds or an ISO 8601 date/time (UTC). Earlier candles warm the features up.")
    var from: String?
    @Option(help: "Last candle traded: Unix milliseconds or an ISO 8601 date/time (UTC).") var to: String?
    @Option(help: "Models as id=path,... (default $STACK_MODELS, else the three shipped in deploy/models).")
    var models =
        ProcessInfo.processInfo.environment["STACK_MODELS"] ?? "logit=deploy/models/logit.json,rsi=deploy/models/rsi.json,xgb=deploy/models/xgb.json"
    @Option(help: "Quote currency per entry (default MAX_ORDER_USD).") var stake: Double?
    @Option(help: "Directory for report.json, equity.csv and equity.svg.") var out: String?
    @Flag(help: "Only the throughput line, no files (a benchmark).") var benchmark = false

    func run() throws {
        do {
            try execute()
        } catch let error as WireError {
            FileHandle.standardError.write(Data("backtest: \(error.code): \(error.detail)\n".utf8))
            throw ExitCode(2)
        }
    }

    private func execute() throws {
        guard Identifier.symbol.accepts(symbol) else {
            throw WireError(code: "invalid_symbol", detail: "--symbol must be \(Identifier.symbol.grammar)", status: 422)
        }
        let reader = EnvironmentReader()
        let risk = try RiskConfiguration(reader: reader)
        let consensus = ConsensusPolicy(
            quorum: try reader.int("CONSENSUS_QUORUM", default: 1, in: 1...100),
            minAgreement: try reader.double("CONSENSUS_MIN_AGREEMENT", default: 0.5, in: 0...1)
        )
        let window = try reader.int("CANDLE_WINDOW", default: 200, in: 21...10_000)
        let stakeUsd: Decimal
        if let stake {
            guard stake.isFinite, stake > 0, let decimal = Decimal(exactly: stake, scale: 2) else {
                throw WireError(code: "invalid_stake", detail: "--stake must be a positive number", status: 422)
            }
            stakeUsd = decimal
        } else {
            stakeUsd = risk.limits.maxOrderNotionalUsd
        }
        let settings = BacktestSettings(
            symbol: symbol,
            limits: risk.limits,
            consensus: consensus,
            stakeUsd: stakeUsd,
            window: window,
            from: try from.map(Self.time),
            to: try to.map(Self.time)
        )
        // End to end: the models and the CSV read, the run, the three files rendered (and written
        // unless --benchmark).
        let started = Clock()
        // The models are read on another core while this one reads the candles.
        let (loaded, candles) = try Self.concurrently({ [models] in try Self.loadModels(models) }, { try CandleFeed.readCandles(file) })
        let run = Clock()
        let result = try Backtester.run(candles: candles, models: loaded, settings: settings)
        let ran = run.elapsed
        let files = try Self.render(result)
        let directory = out ?? "backtest-\(symbol)"
        if !benchmark {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (name, data) in files { try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name)) }
        }
        let total = started.elapsed
        let count = result.report.candles
        // Wall clock, and CPU time of every thread: on a shared machine the second is the steadier figure.
        let throughput =
            "\(count) candles in \(Clock.rate(count, ran, "; \(loaded.count) models")); "
            + "end to end (models and CSV read, run, report, CSV and SVG \(benchmark ? "rendered" : "written")) in \(Clock.rate(count, total))"
        if benchmark {
            print("backtest throughput: " + throughput)
            return
        }
        print(BacktestRendering.summary(result.report))
        print("  speed        " + throughput)
        print("  files        \(directory)/report.json, \(directory)/equity.csv, \(directory)/equity.svg")
    }

    /// Wall clock and CPU time of the whole process (every thread) since it was made.
    struct Clock {
        let wall = DispatchTime.now().uptimeNanoseconds
        let cpu = Backtest.processCPUSeconds()

        var elapsed: (wall: Double, cpu: Double) {
            (Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e9, Backtest.processCPUSeconds() - cpu)
        }

        /// `0.123 s: 111226 candles/s (110000 per CPU second<note>)`.
        static func rate(_ count: Int, _ time: (wall: Double, cpu: Double), _ note: String = "") -> String {
            "\(String(format: "%.3f", time.wall)) s: \(String(format: "%.0f", Double(count) / max(time.wall, 1e-9))) candles/s "
                + "(\(String(format: "%.0f", Double(count) / max(time.cpu, 1e-9))) per CPU second\(note))"
        }
    }

    /// `report.json`, `equity.csv` and `equity.svg`, each rendered on a core of its own.
    static func render(_ result: BacktestResult) throws -> [(name: String, data: Data)] {
        let renderers: [@Sendable () throws -> Data] = [
            {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                return try encoder.encode(result.report)
            },
            { Data(BacktestRendering.csv(result.curve).utf8) },
            { Data(BacktestRendering.svg(result).utf8) },
        ]
        let rendered = Mutex<[Result<Data, any Error>?]>(Array(repeating: nil, count: renderers.count))
        DispatchQueue.concurrentPerform(iterations: renderers.count) { index in
            let data = Result { try renderers[index]() }
            rendered.withLock { $0[index] = data }
        }
        let results = rendered.withLock { $0 }
        return try zip(["report.json", "equity.csv", "equity.svg"], results).map { name, result in
            guard let result else { throw WireError(code: "render_failed", detail: "\(name) was not rendered", status: 500) }
            return (name, try result.get())
        }
    }

    /// `background` on another thread while `foreground` runs on this one; both results, or the
    /// background's error first (as if it had run first), then the foreground's.
    static func concurrently<Background: Sendable, Foreground>(
        _ background: @escaping @Sendable () throws -> Background,
        _ foreground: () throws -> Foreground
    ) throws -> (Background, Foreground) {
        let outcome = Mutex<Result<Background, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global(qos: .userInitiated).async {
            let result = Result { try background() }
            outcome.withLock { $0 = result }
            done.signal()
        }
        let foregroundResult = Result { try foreground() }
        done.wait()
        guard let backgroundResult = outcome.withLock({ $0 }) else {
            throw WireError(code: "internal", detail: "the background work gave no result", status: 500)
        }
        return (try backgroundResult.get(), try foregroundResult.get())
    }

    private static func loadModels(_ models: String) throws -> [BacktestModel] {
        var loaded: [BacktestModel] = []
        for entry in models.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw WireError(code: "invalid_models", detail: "--models is id=path,...; \"\(entry)\" is not", status: 422)
            }
            guard let data = FileManager.default.contents(atPath: parts[1]) else {
                throw WireError(code: "invalid_models", detail: "cannot read the model artifact \(parts[1])", status: 422)
            }
            do {
                let artifact = try ModelArtifact.load(from: data)
                loaded.append(
                    BacktestModel(id: parts[0], version: artifact.embeddedVersion ?? (parts[1] as NSString).lastPathComponent, artifact: artifact)
                )
            } catch {
                throw WireError(code: "invalid_models", detail: "\(parts[1]): \(error)", status: 422)
            }
        }
        guard !loaded.isEmpty else { throw WireError(code: "invalid_models", detail: "no model given", status: 422) }
        return loaded
    }

    /// CPU time of the whole process (every thread), in seconds.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Unix milliseconds, or an ISO 8601 date (`2018-01-10`) or date-time (`2018-01-10T12:00:00Z`) in UTC.
    static func time(_ text: String) throws -> Int64 {
        if let milliseconds = Int64(text) { return milliseconds }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.count == 10 ? [.withFullDate] : [.withInternetDateTime]
        guard let date = formatter.date(from: text) else {
            throw WireError(code: "invalid_time", detail: "\"\(text)\" is neither Unix milliseconds nor an ISO 8601 date or date-time", status: 422)
        }
        return Int64(date.timeIntervalSince1970 * 1000)
    }
}
