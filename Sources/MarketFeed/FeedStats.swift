import Metrics
import Synchronization
import TradingWire

/// What the feed has done, for `/health` and `/metrics`: per symbol the newest candle handed
/// on and the best bid and ask; for the feed its connections, reconnects, gaps and refusals.
public final class FeedStats: Sendable {
    /// One symbol's state.
    public struct SymbolState: Codable, Sendable, Equatable {
        public var symbol: String
        public var lastOpenTime: Int64?
        public var bid: Double?
        public var ask: Double?
        public var bookAt: Int64?
    }

    /// The `/health` body.
    public struct Snapshot: Codable, Sendable {
        public var ok: Bool
        public var service: String
        public var interval: String
        /// What the feed reports to the gateway: counts, message rate and books.
        public var feed: MarketFeedReport
        public var symbols: [SymbolState]
    }

    private struct State {
        var symbols: [String: SymbolState] = [:]
        var connected: Set<Int> = []
        var reconnects = 0
        var gapCandles = 0
        var refused = 0
        var messages = 0
        var rateWindowStart = 0
        var rate = 0.0
    }

    private let state = Mutex(State())
    private let source: MarketSource
    private let name: String
    private let interval: MarketInterval
    private let connections: Int
    private let reconnectCounter = Counter(label: "market_reconnects_total")
    private let gapCounter = Counter(label: "market_gap_candles_total")
    private let candleCounter = Counter(label: "market_candles_total")

    public init(name: String, source: MarketSource, interval: MarketInterval, symbols: [String], connections: Int) {
        self.name = name
        self.source = source
        self.interval = interval
        self.connections = connections
        state.withLock { state in
            for symbol in symbols { state.symbols[symbol] = SymbolState(symbol: symbol) }
        }
    }

    func connection(_ index: Int, up: Bool) {
        state.withLock { state in
            if up { state.connected.insert(index) } else { state.connected.remove(index) }
        }
    }

    func reconnected() {
        reconnectCounter.increment()
        state.withLock { $0.reconnects += 1 }
    }

    func gapFilled(_ count: Int) {
        guard count > 0 else { return }
        gapCounter.increment(by: count)
        state.withLock { $0.gapCandles += count }
    }

    func refused(_ refusal: MarketRefusal) {
        Counter(label: "market_refused_frames_total", dimensions: [("reason", refusal.reason)]).increment()
        state.withLock { $0.refused += 1 }
    }

    func message(now: Int) {
        state.withLock { state in
            state.messages += 1
            if now - state.rateWindowStart >= 2_000 {
                state.rate = Double(state.messages) * 1_000 / Double(max(1, now - state.rateWindowStart))
                state.messages = 0
                state.rateWindowStart = now
            }
        }
    }

    func delivered(symbol: String, _ candles: [Candle]) {
        guard let last = candles.last else { return }
        candleCounter.increment(by: candles.count)
        state.withLock { $0.symbols[symbol]?.lastOpenTime = last.openTime }
    }

    func book(symbol: String, bid: Double, ask: Double, at: Int64) {
        state.withLock { state in
            state.symbols[symbol]?.bid = bid
            state.symbols[symbol]?.ask = ask
            state.symbols[symbol]?.bookAt = at
        }
    }

    /// Healthy when every connection is up (always for the replay and `none`).
    public func snapshot() -> Snapshot {
        state.withLock { state in
            let ok = source != .binance || state.connected.count == connections
            let symbols = state.symbols.values.sorted { $0.symbol < $1.symbol }
            let books = symbols.compactMap { state -> MarketFeedReport.Book? in
                guard let bid = state.bid, let ask = state.ask, let at = state.bookAt else { return nil }
                return MarketFeedReport.Book(symbol: state.symbol, bid: bid, ask: ask, at: at)
            }
            let feed = MarketFeedReport(
                feed: name,
                source: source.rawValue,
                connected: state.connected.count,
                connections: connections,
                reconnects: state.reconnects,
                gapCandles: state.gapCandles,
                refusedFrames: state.refused,
                messagesPerSecond: state.rate,
                books: books
            )
            return Snapshot(ok: ok, service: "market-feed", interval: interval.name, feed: feed, symbols: symbols)
        }
    }
}
