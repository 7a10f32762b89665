import ExchangeAdapter
import Foundation
import Synchronization
import Testing

/// The filter rules and the exchangeInfo reader, in process.
@Suite("exchange filters")
struct ExchangeFiltersTests {
    static func decimal(_ text: String) -> Decimal { Decimal(string: text)! }

    /// BTCUSDT as Binance lists it (values from its documentation's examples).
    static let btc = ExchangeFilters(
        symbol: "BTCUSDT",
        status: "TRADING",
        baseAsset: "BTC",
        quoteAsset: "USDT",
        quoteAssetPrecision: 8,
        quoteOrderQtyMarketAllowed: true,
        lotSize: .init(minQty: decimal("0.00001"), maxQty: 9_000, stepSize: decimal("0.00001")),
        marketLotSize: .init(minQty: 0, maxQty: 120, stepSize: 0),
        notionals: [.init(filterType: "NOTIONAL", minNotional: 5, applyMinToMarket: true, maxNotional: 9_000_000, applyMaxToMarket: false)]
    )

    @Test("a quote order passes, or names the filter and the allowed value")
    func quoteOrders() {
        let filters = Self.btc
        #expect(filters.checkQuoteOrder(quoteAmount: 100, markPrice: 50_000) == nil)
        #expect(filters.checkQuoteOrder(quoteAmount: Self.decimal("1.2"), markPrice: 50_000)?.description == "NOTIONAL: at least 5 USDT (asked 1.2)")
        #expect(
            filters.checkQuoteOrder(quoteAmount: 7_000_000, markPrice: 50_000)?.description
                == "MARKET_LOT_SIZE: at most 120 BTC (expected 140 at 50000)"
        )
        var closed = filters
        closed.status = "BREAK"
        #expect(closed.checkQuoteOrder(quoteAmount: 100, markPrice: 50_000)?.description == "status: BTCUSDT is BREAK, not TRADING")
        var noQuote = filters
        noQuote.quoteOrderQtyMarketAllowed = false
        #expect(noQuote.checkQuoteOrder(quoteAmount: 100, markPrice: 50_000)?.filter == "quoteOrderQtyMarketAllowed")
        var capped = filters
        capped.notionals = [.init(filterType: "NOTIONAL", minNotional: 5, applyMinToMarket: true, maxNotional: 1_000, applyMaxToMarket: true)]
        #expect(capped.checkQuoteOrder(quoteAmount: 2_000, markPrice: 50_000)?.description == "NOTIONAL: at most 1000 USDT (asked 2000)")
        var ignoredMinimum = filters
        ignoredMinimum.notionals = [.init(filterType: "MIN_NOTIONAL", minNotional: 10, applyMinToMarket: false)]
        #expect(ignoredMinimum.checkQuoteOrder(quoteAmount: 6, markPrice: 50_000) == nil, "applyToMarket false: not for MARKET orders")
        ignoredMinimum.notionals[0].applyMinToMarket = true
        #expect(ignoredMinimum.checkQuoteOrder(quoteAmount: 6, markPrice: 50_000)?.description == "MIN_NOTIONAL: at least 10 USDT (asked 6)")
        #expect(
            filters.checkQuoteOrder(quoteAmount: 6, markPrice: 10_000_000)?.description
                == "LOT_SIZE: at least 0.00001 BTC (expected 0.0000006 at 10000000)"
        )
    }

    @Test("a base quantity is rounded down to the step, checked by it, and what cannot be sold is dust")
    func baseOrdersAndDust() {
        let filters = Self.btc
        #expect(filters.marketStep == Self.decimal("0.00001"), "MARKET_LOT_SIZE's step is 0: LOT_SIZE's")
        #expect(filters.roundedDown(Self.decimal("0.123456789")) == Self.decimal("0.12345"))
        #expect(filters.checkBaseOrder(quantity: Self.decimal("0.12345"), markPrice: 50_000) == nil)
        #expect(
            filters.checkBaseOrder(quantity: Self.decimal("0.123456"), markPrice: 50_000)?.description
                == "LOT_SIZE: a multiple of 0.00001 BTC (asked 0.123456)"
        )
        #expect(filters.checkBaseOrder(quantity: Self.decimal("0.00005"), markPrice: 50_000)?.filter == "NOTIONAL")
        #expect(filters.isDust(Self.decimal("0.000009"), markPrice: 50_000), "below the step")
        #expect(filters.isDust(Self.decimal("0.00005"), markPrice: 50_000), "2.5 USDT: below NOTIONAL")
        #expect(!filters.isDust(Self.decimal("0.0002"), markPrice: 50_000))
        #expect(filters.quoteRoundedDown(Self.decimal("0.0019999999999")) == Self.decimal("0.00199999"))
    }

    static let body = #"""
        {"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],"symbols":[
         {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,
          "quoteAssetPrecision":8,"orderTypes":["MARKET"],"quoteOrderQtyMarketAllowed":true,"filters":[
           {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
           {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
           {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"120.00000000","stepSize":"0.00000000"},
           {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000",
            "applyMaxToMarket":false,"avgPriceMins":5},
           {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200}]},
         {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","quoteAsset":"BTC","quoteAssetPrecision":8,
          "quoteOrderQtyMarketAllowed":"true","filters":[{"filterType":"LOT_SIZE","minQty":"0.0001","maxQty":"100000","stepSize":"0.0001"}]},
         {"symbol":"BNBUSDT","status":"TRADING","baseAsset":"BNB","quoteAsset":"USDT","quoteAssetPrecision":8,
          "quoteOrderQtyMarketAllowed":true,"filters":[{"filterType":"LOT_SIZE","minQty":0.001,"maxQty":"9000","stepSize":"0.001"}]},
         {"symbol":"XRPUSDT","status":"TRADING","baseAsset":"XRP","quoteAsset":"USDT","quoteAssetPrecision":8,
          "quoteOrderQtyMarketAllowed":true,"filters":[{"filterType":"LOT_SIZE","minQty":"-1","maxQty":"9000","stepSize":"0.1"}]}
        ]}
        """#

    @Test("exchangeInfo is read as Binance writes it; a malformed entry, answer or missing symbol is unknown, never a trap")
    func parsing() throws {
        let symbols = ["BTCUSDT", "ETHBTC", "BNBUSDT", "XRPUSDT", "SOLUSDT"]
        let read = ExchangeFilters.parse(exchangeInfo: Data(Self.body.utf8), symbols: symbols)
        #expect(try read["BTCUSDT"]?.get() == Self.btc)
        func reason(_ symbol: String) -> String {
            guard case .failure(let unknown)? = read[symbol] else { return "known" }
            return unknown.reason
        }
        #expect(reason("ETHBTC").contains("quoteOrderQtyMarketAllowed"), "a string where a flag is due: \(reason("ETHBTC"))")
        #expect(reason("BNBUSDT").contains("minQty"), "a number where Binance writes a decimal string: \(reason("BNBUSDT"))")
        #expect(reason("XRPUSDT").contains("minQty is not a decimal (-1)"), "\(reason("XRPUSDT"))")
        #expect(reason("SOLUSDT") == "exchangeInfo has no entry for SOLUSDT")

        let cut = Self.body.utf8.count / 2
        for broken in [Data(Self.body.utf8.prefix(cut)), Data(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8), Data(), Data([0xff, 0xfe])] {
            let failed = ExchangeFilters.parse(exchangeInfo: broken, symbols: symbols)
            #expect(failed.count == symbols.count)
            #expect(failed.values.allSatisfy { if case .failure(let unknown) = $0 { unknown.reason.contains("unreadable") } else { false } })
        }
    }

    @Test("the rules book reads at most every retry interval, keeps the last good filters for three refreshes, then fails closed")
    func rulesBook() throws {
        let answer = Mutex<Result<ExchangeFilters, ExchangeFilters.Unknown>>(.success(Self.btc))
        let book = ExchangeRulesBook(refreshMilliseconds: 10_000, retryMilliseconds: 1_000) { symbols in
            Dictionary(uniqueKeysWithValues: symbols.map { ($0, answer.withLock { $0 }) })
        }
        #expect(try book.filters(for: "BTCUSDT", now: 0).get() == Self.btc)
        #expect(book.readCount == 1)
        _ = book.filters(for: "BTCUSDT", now: 9_999)
        #expect(book.readCount == 1, "fresh: not read again")
        answer.withLock { $0 = .failure(.init("exchangeInfo not read: no answer within 2000 ms")) }
        #expect(try book.filters(for: "BTCUSDT", now: 10_000).get() == Self.btc, "a failed refresh keeps the last good filters")
        #expect(book.readCount == 2)
        _ = book.filters(for: "BTCUSDT", now: 10_500)
        #expect(book.readCount == 2, "not asked again within the retry interval")
        guard case .failure(let unknown) = book.filters(for: "BTCUSDT", now: 30_000) else {
            Issue.record("filters three refresh intervals old must not be used")
            return
        }
        #expect(unknown.reason.contains("no answer within 2000 ms"), "\(unknown)")
        #expect(unknown.reason.contains("no live order"), "\(unknown)")
        answer.withLock { $0 = .success(Self.btc) }
        #expect(try book.filters(for: "BTCUSDT", now: 31_000).get() == Self.btc)

        // The background refresh reads once nine tenths of the interval have passed, not before.
        #expect(book.refreshIfDue(now: 39_999) == nil)
        #expect(book.readCount == 4)
        #expect(book.refreshIfDue(now: 40_000) == [:])
        #expect(book.readCount == 5)
        #expect(book.refreshIfDue(now: 40_500) == nil, "just read")
    }

    /// The cost of the pre-send check: the rules book's lookup and every filter, per order.
    /// Prints nanoseconds per check (debug build unless built with `-c release`).
    @Test("the pre-send check costs microseconds at most, and one exchangeInfo request serves many orders")
    func checkCost() throws {
        let book = ExchangeRulesBook(refreshMilliseconds: 3_600_000) { symbols in
            Dictionary(uniqueKeysWithValues: symbols.map { ($0, .success(Self.btc)) })
        }
        let rounds = 100_000
        let clock = ContinuousClock()
        var refused = 0
        let elapsed = clock.measure {
            for index in 0..<rounds {
                guard case .success(let filters) = book.filters(for: "BTCUSDT", now: Int64(index)) else { continue }
                if filters.checkQuoteOrder(quoteAmount: Decimal(index % 200), markPrice: 50_000) != nil { refused += 1 }
            }
        }
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print("pre-send check: \(Int(nanoseconds / Double(rounds))) ns per order over \(rounds) orders; exchangeInfo requests: \(book.readCount)")
        #expect(refused == rounds / 200 * 5, "the orders under 5 USDT")
        #expect(book.readCount == 1, "one request (weight \(BinanceSpotClient.exchangeInfoWeight)) per refresh")
        #expect(nanoseconds / Double(rounds) < 200_000)
    }
}
