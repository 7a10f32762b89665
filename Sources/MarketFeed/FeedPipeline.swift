import Logging
import ServiceSupport
import TradingWire

/// Turns closed klines into contiguous candles at the gateway: judges each (`KlineSequencer`),
/// backfills the window and any gap through REST, and posts the result (`GatewaySink`). One
/// actor per symbol (`FeedRouter`), so a symbol's candles go out one batch at a time, in order.
public actor FeedPipeline {
    private var sequencer: KlineSequencer
    private let klines: BinanceKlinesClient
    private let sink: GatewaySink
    private let stats: FeedStats
    private let backfill: Int
    private let logger: Logger
    private let clock: @Sendable () -> Int64

    public init(
        interval: MarketInterval,
        klines: BinanceKlinesClient,
        sink: GatewaySink,
        stats: FeedStats,
        backfill: Int,
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { unixMilliseconds() }
    ) {
        self.sequencer = KlineSequencer(intervalMilliseconds: interval.milliseconds)
        self.klines = klines
        self.sink = sink
        self.stats = stats
        self.backfill = backfill
        self.logger = logger
        self.clock = clock
    }

    private var step: Int64 { sequencer.intervalMilliseconds }

    /// After a connection is made: fetches, for each symbol, what closed since the newest candle
    /// handed on (or the whole window), so the held candles are contiguous before the stream's.
    public func connected(symbols: [String]) async {
        let now = clock()
        let lastClosed = (now / step) * step - step
        for symbol in symbols {
            let from = sequencer.newestOpenTime(symbol).map { $0 + step } ?? lastClosed - Int64(backfill - 1) * step
            guard from <= lastClosed else { continue }
            await fill(symbol: symbol, from: from, to: lastClosed, then: nil, gap: sequencer.newestOpenTime(symbol) != nil)
        }
    }

    /// A closed kline from the stream.
    public func closed(symbol: String, candle: Candle) async {
        switch sequencer.judge(symbol: symbol, openTime: candle.openTime) {
        case .old:
            return
        case .next:
            await deliver(symbol: symbol, [candle])
        case .gap(let from, let to):
            logger.info("gap in the stream: backfilling", metadata: ["symbol": "\(symbol)", "from": "\(from)", "to": "\(to)"])
            await fill(symbol: symbol, from: from, to: to, then: candle, gap: true)
        case .first:
            await fill(symbol: symbol, from: candle.openTime - Int64(backfill - 1) * step, to: candle.openTime - step, then: candle, gap: false)
        }
    }

    private func fill(symbol: String, from: Int64, to: Int64, then candle: Candle?, gap: Bool) async {
        var candles: [Candle] = []
        do {
            candles = try await klines.closedCandles(symbol: symbol, from: from, to: to, now: clock)
        } catch {
            logger.warning("backfill failed: the next candle tries again", metadata: ["symbol": "\(symbol)", "error": "\(error)"])
            if candle == nil { return }
            // Without the backfill the candle would leave a hole: it waits for the next try.
            if gap { return }
        }
        if gap { stats.gapFilled(candles.count) }
        if let candle { candles.append(candle) }
        await deliver(symbol: symbol, candles)
    }

    private func deliver(symbol: String, _ candles: [Candle]) async {
        let previous = sequencer.newestOpenTime(symbol)
        let fresh = sequencer.accept(symbol: symbol, candles)
        guard !fresh.isEmpty else { return }
        do {
            for start in stride(from: 0, to: fresh.count, by: 1_000) {
                let taken = try await sink.post(symbol: symbol, Array(fresh[start..<min(fresh.count, start + 1_000)]))
                stats.delivered(symbol: symbol, taken)
            }
        } catch {
            // Not delivered: forget them, so the next kline backfills from where the gateway stands.
            logger.warning("candles not delivered to the gateway", metadata: ["symbol": "\(symbol)", "error": "\(error)"])
            sequencer.reset(symbol: symbol, newestOpenTime: previous)
        }
    }
}
