import Foundation
import MarketFeed
import Testing
import TradingWire

/// The parser against frames shaped as Binance documents them (combined streams, kline and
/// bookTicker payloads, the klines REST rows), and against hostile ones.
@Suite struct BinanceMarketParserTests {
    let parser = BinanceMarketParser(symbols: ["BTCUSDT", "ETHUSDT"], interval: MarketInterval("1s")!, maxFrameBytes: 4_096)
    let now: Int64 = 1_700_000_010_000

    func kline(
        stream: String = "btcusdt@kline_1s",
        symbol: String = "BTCUSDT",
        t: Int64 = 1_700_000_000_000,
        interval: String = "1s",
        o: String = "100.5",
        h: String = "101.0",
        l: String = "100.0",
        c: String = "100.8",
        v: String = "12.5",
        x: String = "true"
    ) -> [UInt8] {
        let text = """
            {"stream":"\(stream)","data":{"e":"kline","E":\(t + 1_000),"s":"\(symbol)","k":{"t":\(t),"T":\(t + 999),"s":"\(symbol)",\
            "i":"\(interval)","f":100,"L":200,"o":"\(o)","c":"\(c)","h":"\(h)","l":"\(l)","v":"\(v)","n":100,"x":\(x),\
            "q":"1.0","V":"500","Q":"0.5","B":"123456"}}}
            """
        return Array(text.utf8)
    }

    @Test func closedKlineIsACandle() throws {
        let event = try parser.frame(kline(), now: now)
        #expect(
            event
                == .kline(
                    symbol: "BTCUSDT",
                    candle: Candle(openTime: 1_700_000_000_000, open: 100.5, high: 101, low: 100, close: 100.8, volume: 12.5),
                    closed: true
                )
        )
    }

    @Test func unclosedKlineSaysSo() throws {
        guard case .kline(_, _, let closed) = try parser.frame(kline(x: "false"), now: now) else {
            Issue.record("not a kline")
            return
        }
        #expect(!closed)
    }

    @Test func bookTicker() throws {
        let text =
            #"{"stream":"ethusdt@bookTicker","data":{"u":400900217,"s":"ETHUSDT","b":"25.35190000","B":"31.21000000","#
            + #""a":"25.36520000","A":"40.66000000"}}"#
        #expect(try parser.frame(Array(text.utf8), now: now) == .book(symbol: "ETHUSDT", bid: 25.3519, ask: 25.3652, updateID: 400_900_217))
    }

    func refusal(_ bytes: [UInt8]) -> String? {
        do {
            _ = try parser.frame(bytes, now: now)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func hostileFramesAreRefused() {
        #expect(refusal(kline(c: "NaN")) == "bad_number")
        #expect(refusal(kline(c: "nan")) == "bad_number")
        #expect(refusal(kline(c: "inf")) == "bad_number")
        #expect(refusal(kline(c: "1e5")) == "bad_number")
        #expect(refusal(kline(c: "-100")) == "bad_number")
        #expect(refusal(kline(c: "abc")) == "bad_number")
        #expect(refusal(kline(v: "-1")) == "bad_number")
        #expect(refusal(kline(c: "0")) == "bad_range")
        #expect(refusal(kline(h: "99")) == "bad_range")
        #expect(refusal(kline(t: now + 60_000)) == "future_open_time")
        #expect(refusal(kline(t: 1_700_000_000_500)) == "misaligned_open_time")
        #expect(refusal(kline(stream: "solusdt@kline_1s", symbol: "SOLUSDT")) == "unsubscribed_symbol")
        #expect(refusal(kline(stream: "ethusdt@kline_1s", symbol: "BTCUSDT")) == "unsubscribed_symbol")
        #expect(refusal(kline(stream: "btcusdt@kline_1m", interval: "1m")) == "unknown_stream")
        #expect(refusal(kline(interval: "1m")) == "wrong_interval")
        #expect(refusal(kline(x: "1")) == "malformed")
        #expect(refusal(Array("not json".utf8)) == "malformed")
        #expect(refusal(Array(#"{"stream":"btcusdt@kline_1s","data":{"e":"kline"}}"#.utf8)) == "malformed")
        #expect(refusal(Array(#"{"result":null,"id":1}"#.utf8)) == "malformed")
        #expect(refusal([UInt8](repeating: 0x20, count: 10_000_000)) == "oversized")
    }

    @Test func serverShutdownBareOrUnderEvent() throws {
        #expect(try parser.frame(Array(#"{"e":"serverShutdown","E":1770123456789}"#.utf8), now: now) == .serverShutdown)
        #expect(try parser.frame(Array(#"{"event":{"e":"serverShutdown","E":1770123456789}}"#.utf8), now: now) == .serverShutdown)
        #expect(refusal(Array(#"{"e":"somethingElse"}"#.utf8)) == "malformed")
    }

    @Test func bookWithBidOverAskIsRefused() {
        let text = #"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"101","B":"1","a":"100","A":"1"}}"#
        #expect(refusal(Array(text.utf8)) == "bad_range")
    }

    @Test func restKlinesLeaveTheOpenOneOut() throws {
        let text = """
            [[1699999998000,"1.0","2.0","0.5","1.5","10.0",1699999998999,"0",1,"0","0","0"],\
            [1699999999000,"1.5","2.5","1.0","2.0","11.0",1699999999999,"0",1,"0","0","0"],\
            [1700000010000,"2.0","2.0","2.0","2.0","0.0",1700000010999,"0",0,"0","0","0"]]
            """
        let candles = try parser.klines(Array(text.utf8), symbol: "BTCUSDT", now: now)
        #expect(candles.map(\.openTime) == [1_699_999_998_000, 1_699_999_999_000])
        #expect(candles[1].close == 2.0)
    }

    @Test func restKlinesWithABadRowAreRefusedWhole() {
        for row in [
            #"[1699999998000,"1.0","2.0","0.5","NaN","10.0",1699999998999]"#, #"[1699999998000,1.0,"2.0","0.5","1.5","10.0",1699999998999]"#,
            #"[true,"1.0","2.0","0.5","1.5","10.0",1699999998999]"#, #"[1699999998000,"1.0"]"#,
        ] {
            #expect(throws: MarketRefusal.self) { try parser.klines(Array("[\(row)]".utf8), symbol: "BTCUSDT", now: now) }
        }
        #expect(throws: MarketRefusal.self) { try parser.klines(Array(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8), symbol: "BTCUSDT", now: now) }
    }

    @Test func intervals() {
        #expect(MarketInterval("1s")?.milliseconds == 1_000)
        #expect(MarketInterval("1w")?.milliseconds == 604_800_000)
        #expect(MarketInterval("1M") == nil)
        #expect(MarketInterval("2m") == nil)
    }

    @Test("weekly klines open on Mondays, 00:00 UTC (2024-01-01 was one); the others on multiples of their length")
    func weeklyAlignment() throws {
        let week = try #require(MarketInterval("1w"))
        #expect(week.isAligned(1_704_067_200_000))
        #expect(!week.isAligned(1_704_067_200_000 - 3 * 86_400_000), "a Friday")
        let weekly = BinanceMarketParser(symbols: ["BTCUSDT"], interval: week)
        let row = #"[[1704067200000,"42283.58","44184.10","41500.00","43000.00","12.5",1704671999999,"1.0",2,"0.5","0.5","0"]]"#
        #expect(try weekly.klines(Array(row.utf8), symbol: "BTCUSDT", now: 1_705_000_000_000).map(\.openTime) == [1_704_067_200_000])
        #expect(try #require(MarketInterval("5m")).isAligned(1_704_067_500_000))
        #expect(try !#require(MarketInterval("5m")).isAligned(1_704_067_260_000))
    }

    @Test func streamURLNamesEveryStream() {
        let url = BinanceStreamConnection.url(base: "ws://127.0.0.1:1", symbols: ["BTCUSDT", "ETHUSDT"], interval: MarketInterval("1s")!)
        #expect(url == "ws://127.0.0.1:1/stream?streams=btcusdt@kline_1s/btcusdt@bookTicker/ethusdt@kline_1s/ethusdt@bookTicker")
    }
}
