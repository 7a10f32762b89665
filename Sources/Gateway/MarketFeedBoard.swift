import Foundation
import Synchronization
import TradingDomain
import TradingWire

/// What the market feeds last reported of themselves (`POST /api/market/feeds`): per feed its
/// connections, reconnects, gaps and message rate; per symbol the newest best bid and ask. The
/// market status shows it; while it is fresh (`freshBook`), a paper execute fills at a Binance
/// feed's book and the price collar takes it as a market order's expected price; at most
/// `maxFeeds` feeds, the longest silent one forgotten first, and books only for symbols the
/// market cache holds.
final class MarketFeedBoard: Sendable {
    /// One feed's report as the gateway received it.
    struct Feed: Sendable {
        var report: MarketFeedReport
        var receivedAt: Int64
    }

    /// A symbol's best bid and ask, with when the feed saw it, which feed (and its source), and
    /// when the gateway received it.
    struct Book: Sendable {
        var bid: Double
        var ask: Double
        var at: Int64
        var feed: String
        var source: String = "binance"
        var receivedAt: Int64 = 0

        /// Its age at `now`: since the feed saw it, or since the gateway received it if that is
        /// longer (a feed whose clock runs ahead cannot make a book look younger than its report).
        func age(now: Int64) -> Int64 { max(now - at, now - receivedAt, 0) }
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
                all[book.symbol] = Book(bid: book.bid, ask: book.ask, at: book.at, feed: report.feed, source: report.source, receivedAt: now)
            }
        }
    }

    func allFeeds() -> [Feed] { feeds.withLock { $0.values.sorted { $0.report.feed < $1.report.feed } } }

    func book(for symbol: String) -> Book? { books.withLock { $0[symbol] } }

    /// The book of `symbol` from a Binance feed no older than `maxAge` ms at `now`, as the paper
    /// fill price; nil when there is none, it is older, or `maxAge` is 0 (off).
    func freshBook(for symbol: String, maxAge: Int64, now: Int64) -> BookQuote? {
        guard maxAge > 0, let book = book(for: symbol), book.source == "binance" else { return nil }
        let age = book.age(now: now)
        guard age <= maxAge, let bid = Decimal(exactly: book.bid, scale: 8), let ask = Decimal(exactly: book.ask, scale: 8) else { return nil }
        let quote = BookQuote(bid: bid, ask: ask, ageMs: age)
        return quote.isUsable ? quote : nil
    }
}
