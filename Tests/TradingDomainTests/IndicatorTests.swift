import Foundation
import Testing
import TradingDomain
import TradingWire

/// The first `count` closes of a candle file in `market-data/candles`.
func sharedCloses(_ file: String, count: Int) throws -> [Double] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = root.appendingPathComponent("market-data/candles/\(file)")
    let text = try String(contentsOf: url, encoding: .utf8)
    return text.split(whereSeparator: \.isNewline).dropFirst().prefix(count).compactMap { line in
        Double(line.split(separator: ",")[4])
    }
}

@Suite("indicators")
struct IndicatorTests {
    @Test("momentum on a hand-made series")
    func momentumByHand() throws {
        let closes = (0...20).map { 100 + Double($0) }  // 100 ... 120
        #expect(abs(try #require(Indicators.momentum(closes, period: 20)) - 20) < 1e-9)
        #expect(Indicators.momentum(Array(closes.prefix(20)), period: 20) == nil)
    }

    @Test("realized volatility on a hand-made series")
    func volatilityByHand() throws {
        // Returns alternate +10 % and -10 % in log terms: each squared log return is ln(1.1)^2.
        var closes = [100.0]
        for index in 0..<5 { closes.append(index.isMultiple(of: 2) ? closes.last! * 1.1 : closes.last! / 1.1) }
        let expected = 100 * (5 * pow(log(1.1), 2)).squareRoot()
        #expect(abs(try #require(Indicators.realizedVolatility(closes, period: 5)) - expected) < 1e-9)
    }

    @Test("RSI edge cases: only gains, no movement, too short")
    func rsiEdges() {
        #expect(Indicators.rsi((0...14).map(Double.init)) == 100)
        #expect(Indicators.rsi(Array(repeating: 5.0, count: 30)) == 50)
        #expect(Indicators.rsi(Array(repeating: 5.0, count: 14)) == nil)
        #expect(Indicators.rsi((0...14).map { 100 - Double($0) }) == 0)
    }

    @Test("RSI on Wilder's textbook-style series: first value is the simple average ratio")
    func rsiFirstValue() throws {
        // 14 changes: 7 gains of 2, 7 losses of 1 → RS = 14/7 = 2 → RSI = 66.666...
        var closes = [50.0]
        for index in 0..<14 { closes.append(closes.last! + (index.isMultiple(of: 2) ? 2 : -1)) }
        #expect(abs(try #require(Indicators.rsi(closes)) - 200.0 / 3.0) < 1e-9)
    }

    @Test("every indicator matches an independent computation on real ETH/BTC 5m candles")
    func realCandles() throws {
        // Reference values: a separate Python implementation over the first 100 closes.
        let closes = try sharedCloses("ETH_BTC-5m.csv", count: 100)
        #expect(closes.count == 100)
        #expect(abs(try #require(Indicators.momentum(closes)) - 3.1216250676399326) < 1e-9)
        #expect(abs(try #require(Indicators.realizedVolatility(closes)) - 0.7865815293305156) < 1e-9)
        #expect(abs(try #require(Indicators.rsi(closes)) - 57.69691958039855) < 1e-9)
    }
}

@Suite("feature building")
struct FeatureBuilderTests {
    func candles(_ closes: [Double]) -> [Candle] {
        closes.enumerated().map {
            Candle(openTime: Int64($0.offset) * 60_000 + 1, open: $0.element, high: $0.element, low: $0.element, close: $0.element, volume: 1)
        }
    }

    @Test("given features are used as they are")
    func given() throws {
        let result = try FeatureBuilder.build(given: ["mom_20": 1, "rv_5": 0.2, "rsi_14": 65], candles: nil)
        #expect(result.features == FeatureVector(mom20: 1, rv5: 0.2, rsi14: 65))
        #expect(result.source == "given")
    }

    @Test("missing features come from candles; given ones win")
    func mixed() throws {
        let closes = (0..<30).map { 100 + Double($0) }
        let result = try FeatureBuilder.build(given: ["rsi_14": 40], candles: candles(closes))
        #expect(result.features.rsi14 == 40)
        #expect(result.features.mom20 == Indicators.momentum(closes))
        #expect(result.price == 129)
        #expect(result.source == "mixed")
    }

    @Test(
        "refusals name the problem",
        arguments: [
            (["rsi_14": 101.0], "invalid_feature"),
            (["rsi_14": -1.0], "invalid_feature"),
            (["mom_20": Double.nan], "invalid_feature"),
            (["mom_20": Double.infinity], "invalid_feature"),
            (["volume_z": 1.0], "unknown_feature"),
            (["mom_20": 1.0], "missing_features"),
        ]
    )
    func refusals(given: [String: Double], code: String) {
        #expect { try FeatureBuilder.build(given: given, candles: nil) } throws: { error in
            (error as? WireError)?.code == code && (error as? WireError)?.status == 422
        }
    }
}
