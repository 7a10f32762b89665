import Foundation
import Testing
import TradingDomain
import TradingWire

/// Every candle of a file in `market-data/candles`, oldest first.
func sharedCandles(_ file: String) throws -> [Candle] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("market-data/candles/\(file)"), encoding: .utf8)
    return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
        let fields = line.split(separator: ",")
        guard fields.count >= 6, let time = Int64(fields[0]), let open = Double(fields[1]), let high = Double(fields[2]),
            let low = Double(fields[3]), let close = Double(fields[4]), let volume = Double(fields[5])
        else { return nil }
        return Candle(openTime: time, open: open, high: high, low: low, close: close, volume: volume)
    }
}

/// The features kept candle by candle are the batch computation's, bit for bit, over the real
/// candle files: while the window grows (Wilder's RSI in O(1)) and once it slides.
@Suite("incremental features")
struct IncrementalFeatureTests {
    /// The outcome of a build, comparable: the vector and price, or the error code.
    static func outcome(_ build: () throws(WireError) -> FeatureResult) -> String {
        do {
            let result = try build()
            let f = result.features
            return "\(f.mom20.bitPattern) \(f.rv5.bitPattern) \(f.rsi14.bitPattern) \(result.price?.bitPattern ?? 0) \(result.source)"
        } catch {
            return "error \(error.code)"
        }
    }

    @Test(
        "incremental equals batch at every candle of every file, for windows of 21, 200 and 1000",
        arguments: ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]
    )
    func equalsBatch(file: String) throws {
        let candles = try sharedCandles(file)
        #expect(candles.count > 5_000)
        for window in [21, 200, 1_000] {
            var incremental = IncrementalFeatures(window: window)
            var held: [Candle] = []
            var compared = 0
            for (index, candle) in candles.enumerated() {
                incremental.append(candle)
                held.append(candle)
                if held.count > window { held.removeFirst() }
                // Every candle for the small windows; every 7th for the large one (the batch is O(window)).
                guard window < 1_000 || index % 7 == 0 || index < 1_100 else { continue }
                let fromBatch = Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, candles: held) }
                let fromIncremental = Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, indicators: incremental) }
                #expect(fromIncremental == fromBatch, "\(file), window \(window), candle \(index)")
                if fromIncremental != fromBatch { return }
                compared += 1
            }
            #expect(compared > 700)
        }
    }

    @Test("given and mixed features: the same answer and the same refusals as the batch")
    func givenAndMixed() throws {
        let candles = Array(try sharedCandles("ETH_BTC-5m.csv").prefix(300))
        var incremental = IncrementalFeatures(window: 200)
        for candle in candles { incremental.append(candle) }
        let held = Array(candles.suffix(200))
        for given: [String: Double]? in [nil, [:], ["rsi_14": 40], ["mom_20": 1, "rv_5": 0.2, "rsi_14": 65], ["nope": 1], ["rsi_14": 400]] {
            #expect(
                Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: given, indicators: incremental) }
                    == Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: given, candles: held) }
            )
        }
        // Too few candles, and a bad close: the same refusals.
        var short = IncrementalFeatures(window: 200)
        for candle in candles.prefix(10) { short.append(candle) }
        #expect(Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, indicators: short) } == "error missing_features")
        var bad = IncrementalFeatures(window: 30)
        for candle in candles.prefix(40) { bad.append(candle) }
        var broken = candles[40]
        broken.close = -1
        bad.append(broken)
        #expect(Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, indicators: bad) } == "error invalid_candles")
        for candle in candles[41..<71] { bad.append(candle) }
        #expect(
            Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, indicators: bad) }
                == Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, candles: Array(candles[41..<71])) }
        )
    }

    @Test("reset keeps the newest window and equals appending one by one")
    func resetEqualsAppend() throws {
        let candles = Array(try sharedCandles("UNITTEST_BTC-1m.csv").prefix(500))
        var appended = IncrementalFeatures(window: 200)
        for candle in candles { appended.append(candle) }
        var reset = IncrementalFeatures(window: 200)
        reset.reset(to: Array(candles.suffix(200)))
        reset.append(candles[0])  // any further candle: both slide the same way
        appended.append(candles[0])
        #expect(reset.candles == appended.candles)
        #expect(reset.rsi == appended.rsi && reset.momentum == appended.momentum && reset.realizedVolatility == appended.realizedVolatility)
    }

    /// Crafted series of what 1 s klines look like: windows without a single price change,
    /// single-tick moves between flat stretches, candles without volume.
    static func craftedSeries(_ name: String) -> [Candle] {
        var closes: [Double]
        switch name {
        case "flat from the start": closes = Array(repeating: 100, count: 80)
        case "flat, one tick up, flat": closes = Array(repeating: 100, count: 30) + Array(repeating: 100.01, count: 50)
        case "flat, one tick down, flat": closes = Array(repeating: 100, count: 30) + Array(repeating: 99.99, count: 50)
        case "moves, then a flat stretch longer than the window":
            closes = (0..<40).map { 100 + Double($0 % 5) * 0.5 } + Array(repeating: 101, count: 260)
        default:
            // Single ticks up or down or none, from a fixed generator (the same series every run).
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            var price = 2_000.0
            closes = (0..<600).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                price += [0, 0, 0, -0.01, 0.01][Int(state >> 61) % 5]
                return price
            }
        }
        return closes.enumerated().map { index, close in
            Candle(openTime: Int64(index) * 1_000, open: close, high: close, low: close, close: close, volume: index % 3 == 0 ? 0 : 1.5)
        }
    }

    static let craftedNames = [
        "flat from the start", "flat, one tick up, flat", "flat, one tick down, flat", "moves, then a flat stretch longer than the window",
        "single ticks and no volume",
    ]

    @Test("incremental equals batch on flat stretches, single-tick moves and zero-volume candles", arguments: craftedNames)
    func equalsBatchOnFlatMarkets(name: String) throws {
        let candles = Self.craftedSeries(name)
        for window in [21, 200] {
            var incremental = IncrementalFeatures(window: window)
            var held: [Candle] = []
            for (index, candle) in candles.enumerated() {
                incremental.append(candle)
                held.append(candle)
                if held.count > window { held.removeFirst() }
                let fromBatch = Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, candles: held) }
                let fromIncremental = Self.outcome { () throws(WireError) in try FeatureBuilder.build(given: nil, indicators: incremental) }
                #expect(fromIncremental == fromBatch, "\(name), window \(window), candle \(index)")
                if fromIncremental != fromBatch { return }
            }
        }
    }

    @Test("a window without a price change has RSI 50, no momentum and no volatility, in both computations")
    func flatWindowValues() throws {
        let candles = Self.craftedSeries("flat from the start")
        var incremental = IncrementalFeatures(window: 21)
        for candle in candles.prefix(21) { incremental.append(candle) }
        let fromIncremental = try FeatureBuilder.build(given: nil, indicators: incremental).features
        let fromBatch = try FeatureBuilder.build(given: nil, candles: Array(candles.prefix(21))).features
        for features in [fromIncremental, fromBatch] {
            #expect(features.rsi14 == 50)
            #expect(features.mom20 == 0)
            #expect(features.rv5 == 0)
        }
    }
}
