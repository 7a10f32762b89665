import Foundation
import Testing
import TradingWire

@testable import Gateway

/// The feeds' reports: validation beyond the schema, and what the board keeps.
@Suite struct MarketFeedBoardTests {
    let now: Int64 = 1_800_000_000_000

    func report(_ feed: String = "feed-a", connected: Int = 1, books: [MarketFeedReport.Book] = []) -> MarketFeedReport {
        MarketFeedReport(
            feed: feed,
            source: "binance",
            connected: connected,
            connections: 1,
            reconnects: 2,
            gapCandles: 3,
            refusedFrames: 0,
            messagesPerSecond: 2.5,
            books: books
        )
    }

    func refusal(_ report: MarketFeedReport) -> String? {
        do {
            _ = try GatewayAPI.validate(report, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func reportsRefusedAsAWhole() {
        #expect(refusal(report()) == nil)
        #expect(refusal(report(books: [.init(symbol: "BTCUSDT", bid: 101, ask: 100, at: now)])) == "invalid_feed_report")
        #expect(refusal(report(books: [.init(symbol: "BTCUSDT", bid: .nan, ask: 100, at: now)])) == "invalid_feed_report")
        #expect(refusal(report(books: [.init(symbol: "BTCUSDT", bid: 99, ask: 100, at: now + 120_000)])) == "invalid_feed_report")
        #expect(refusal(report(books: [.init(symbol: "btc", bid: 99, ask: 100, at: now)])) == "invalid_symbol")
        #expect(refusal(report(connected: 2)) == "invalid_feed_report")
        #expect(refusal(report("")) == "invalid_feed_report")
        #expect(refusal(report("a b")) == "invalid_feed_report")
    }

    @Test func boardKeepsTheNewestBookOfHeldSymbolsAndAtMostMaxFeeds() {
        let board = MarketFeedBoard(maxFeeds: 2)
        let held: (String) -> Bool = { $0 == "BTCUSDT" }
        board.record(
            report("a", books: [.init(symbol: "BTCUSDT", bid: 99, ask: 100, at: now), .init(symbol: "ETHUSDT", bid: 1, ask: 2, at: now)]),
            now: now,
            held: held
        )
        board.record(report("b", books: [.init(symbol: "BTCUSDT", bid: 98, ask: 99, at: now - 1)]), now: now + 1, held: held)
        #expect(board.book(for: "BTCUSDT")?.bid == 99, "an older book does not replace a newer one")
        #expect(board.book(for: "ETHUSDT") == nil, "no book for a symbol not held")
        board.record(report("c"), now: now + 2, held: held)
        #expect(board.allFeeds().map(\.report.feed) == ["b", "c"], "the longest silent feed is forgotten")
    }

    @Test("the paper price's book: fresh within the bound, its age the longer of the feed's and the gateway's; only a Binance feed's; 0 is off")
    func freshBook() {
        let board = MarketFeedBoard()
        board.record(report(books: [.init(symbol: "BTCUSDT", bid: 99.5, ask: 100.5, at: now - 300)]), now: now) { _ in true }
        let fresh = board.freshBook(for: "BTCUSDT", maxAge: 1_000, now: now + 200)
        #expect(fresh?.bid == 99.5 && fresh?.ask == 100.5 && fresh?.ageMs == 500)
        #expect(board.freshBook(for: "BTCUSDT", maxAge: 1_000, now: now + 701) == nil, "801 ms old")
        #expect(board.freshBook(for: "BTCUSDT", maxAge: 0, now: now) == nil, "off")
        #expect(board.freshBook(for: "ETHUSDT", maxAge: 1_000, now: now) == nil)
        // A feed clock running ahead: the gateway's receipt bounds the age.
        board.record(report(books: [.init(symbol: "ETHUSDT", bid: 9, ask: 10, at: now + 30_000)]), now: now) { _ in true }
        #expect(board.freshBook(for: "ETHUSDT", maxAge: 1_000, now: now + 2_000) == nil)
        var replay = report("replayer", books: [.init(symbol: "BTCUSDT", bid: 99, ask: 100, at: now + 10)])
        replay.source = "replay"
        board.record(replay, now: now + 10) { _ in true }
        #expect(board.freshBook(for: "BTCUSDT", maxAge: 1_000, now: now + 20) == nil, "not a Binance feed's book")
    }
}
