/// A market feed's own state, as it tells the gateway (`POST /api/market/feeds`): its
/// connections, reconnects, gaps filled, refused frames, message rate, and the newest best bid
/// and ask of each symbol.
public struct MarketFeedReport: Codable, Sendable, Equatable {
    /// A symbol's best bid and ask, and when the feed received them (Unix ms).
    public struct Book: Codable, Sendable, Equatable {
        public var symbol: String
        public var bid: Double
        public var ask: Double
        public var at: Int64

        public init(symbol: String, bid: Double, ask: Double, at: Int64) {
            self.symbol = symbol
            self.bid = bid
            self.ask = ask
            self.at = at
        }
    }

    public var feed: String
    public var source: String
    public var connected: Int
    public var connections: Int
    public var reconnects: Int
    public var gapCandles: Int
    public var refusedFrames: Int
    public var messagesPerSecond: Double
    public var books: [Book]

    public init(
        feed: String,
        source: String,
        connected: Int,
        connections: Int,
        reconnects: Int,
        gapCandles: Int,
        refusedFrames: Int,
        messagesPerSecond: Double,
        books: [Book]
    ) {
        self.feed = feed
        self.source = source
        self.connected = connected
        self.connections = connections
        self.reconnects = reconnects
        self.gapCandles = gapCandles
        self.refusedFrames = refusedFrames
        self.messagesPerSecond = messagesPerSecond
        self.books = books
    }
}
