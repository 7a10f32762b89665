import Synchronization
import TradingWire

/// What the market feeds last reported of themselves (`POST /api/market/feeds`): per feed its
/// connections, reconnects, gaps and message rate; per symbol the newest best bid and ask. Held
/// for the market status and the price collar (a fresh book is a market order's expected
/// price; nothing fills at it); at most `maxFeeds` feeds, the
/// longest silent one forgotten first, and books only for symbols the market cache holds.
final class MarketFeedBoard: Sendable {
    /// One feed's report as the gateway received it.
    struct Feed: Sendable {
        var report: MarketFeedReport
        var receivedAt: Int64
    }

    /// A symbol's best bid and ask, with when the feed saw it and which feed.
    struct Book: Sendable {
        var bid: Double
        var ask: Double
        var at: Int64
        var feed: String
    }

    private let feeds = Mutex<[String: Feed]>([:])
    private let books = Mutex<[String: Book]>([:])
    let maxFeeds: Int

    init(maxFeeds: Int = 16) {
        self.maxFeeds = maxFeeds
    }

    /// Keeps `report` (validated) at `now`; `held` says which symbols the cache holds.
    func record(_ report: MarketFeedReport, now: Int64, held: (String) -> Bool) {
        feeds.withLock { all in
            all[report.feed] = Feed(report: report, receivedAt: now)
            while all.count > maxFeeds, let oldest = all.min(by: { $0.value.receivedAt < $1.value.receivedAt })?.key {
                all[oldest] = nil
            }
        }
        let fresh = report.books.filter { held($0.symbol) }
        books.withLock { all in
            for book in fresh where (all[book.symbol]?.at ?? Int64.min) <= book.at {
                all[book.symbol] = Book(bid: book.bid, ask: book.ask, at: book.at, feed: report.feed)
            }
        }
    }

    func allFeeds() -> [Feed] { feeds.withLock { $0.values.sorted { $0.report.feed < $1.report.feed } } }

    func book(for symbol: String) -> Book? { books.withLock { $0[symbol] } }
}
