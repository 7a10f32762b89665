import Foundation
import Testing
import TradingWire

@testable import TradingDomain

/// The backtest's fast paths give what the slow ones gave: the incremental features, the byte
/// CSV reader, the formatter, the drawdown check.
@Suite("backtest fast paths, equal to the slow ones")
struct BacktestEquivalenceTests {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static func bytes(_ name: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent("market-data/candles/\(name)"))
    }

    @Test(
        "signals from IncrementalFeatures equal the batch features over a copied window, votes and consensus included, wherever a chunk starts",
        arguments: ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]
    )
    func incrementalSignals(_ name: String) throws {
        let candles = try BacktestFileTests.load(name)
        let models = try BacktestFileTests.shippedModels()
        let settings = BacktestSettings(
            symbol: "TEST",
            limits: RiskLimits(
                confidenceThreshold: 0.6,
                maxOrderNotionalUsd: 1_000,
                maxPositionUsd: 5_000,
                maxDrawdown: 0.5,
                startingEquityUsd: 100_000,
                slippageBps: 0,
                feeBps: 0
            ),
            consensus: ConsensusPolicy(),
            stakeUsd: 1_000,
            window: 200
        )
        // The computation before IncrementalFeatures: the window copied, every feature recomputed.
        func reference(_ index: Int) -> (Decimal, ConsensusSignal?)? {
            guard let price = Decimal(exactly: candles[index].close, scale: 8), price > 0 else { return nil }
            let window = Array(candles[max(0, index - settings.window + 1)...index])
            guard let features = try? FeatureBuilder.build(given: nil, candles: window) else { return (price, nil) }
            let votes = models.map { ModelVote(modelId: $0.id, version: $0.version, probabilityUp: $0.artifact.probabilityUp(features.features)) }
            return (price, settings.consensus.combine(votes))
        }
        var mismatches = 0
        var computed = 0
        for start in [0, 1, 19, 20, 199, 200, 1_000, candles.count - 300] {
            let indices = start..<min(candles.count, start + 300)
            let fast = Backtester.signals(candles: candles, indices: indices, models: models, settings: settings)
            for (offset, index) in indices.enumerated() {
                let slow = reference(index)
                let same = fast[offset]?.0 == slow?.0 && fast[offset]?.1 == slow?.1 && (fast[offset] == nil) == (slow == nil)
                if !same { mismatches += 1 }
                if slow?.1 != nil { computed += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(computed > 2_000, "most candles have features")
    }

    @Test(
        "CandleCSV reads the repository's files exactly as Double(String) and Int64(String) do",
        arguments: ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]
    )
    func csvBytes(_ name: String) throws {
        let fast = try CandleCSV.parse(try Self.bytes(name))
        let slow = try BacktestFileTests.load(name)
        #expect(fast.count == slow.count)
        #expect(fast == slow)
        #expect(zip(fast, slow).allSatisfy { $0.close.bitPattern == $1.close.bitPattern && $0.volume.bitPattern == $1.volume.bitPattern })
    }

    @Test("CandleCSV: CRLF and empty lines, extra fields; a bad line is named by its number")
    func csvEdges() throws {
        let text = "open_time,open,high,low,close,volume\r\n\r\n1,1.5,2,1e-3,0.1,7,extra\r\n2,-0,3,1,2.25,0\n"
        let candles = try CandleCSV.parse(Data(text.utf8))
        #expect(
            candles == [
                Candle(openTime: 1, open: 1.5, high: 2, low: 0.001, close: 0.1, volume: 7),
                Candle(openTime: 2, open: -0.0, high: 3, low: 1, close: 2.25, volume: 0),
            ]
        )
        for bad in ["1,2,3,4,5", "x,1,1,1,1,1", "1,1,1,1,1,nan", "1,1,1,1,1, 2", "1,1,1,1,,1", "99999999999999999999,1,1,1,1,1", "1,1,1,1,1e,1"] {
            #expect(throws: CandleCSV.ParseError(line: 3)) { try CandleCSV.parse(Data("h\n1,1,1,1,1,1\n\(bad)\n".utf8)) }
        }
        #expect(try CandleCSV.parse(Data()).isEmpty)
    }

    @Test("CandleCSV's plain-decimal path reads what strtod reads, bit for bit, and leaves it every other text")
    func csvPlainDecimals() {
        var generator = SystemRandomNumberGenerator()
        var texts = [
            "0", "-0", "+0", "0.0", "-0.0", "5", "+5", "0.1", "0.3", "1.5", "123456789012345", "1234567890123456", "0.0000000000000000000001",
            "0.00000000000000000000001", "000000.1000000", "9007199254740993", "999999999999999", "0.999999999999999", "5.", ".5", "1.2.3", "1e5",
            "-.5",
        ]
        for _ in 0..<50_000 {
            let integer = String(UInt64.random(in: 0...UInt64(Int.random(in: 0...15) == 0 ? 9 : 999_999_999), using: &generator))
            let fraction = String(
                (0..<Int.random(in: 0...16, using: &generator)).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) }
            )
            let sign = ["", "-", "+"][Int.random(in: 0...2, using: &generator)]
            texts.append(sign + integer + (fraction.isEmpty ? "" : "." + fraction))
        }
        var mismatches: [String] = []
        var fast = 0
        for text in texts {
            let bytes = Array(text.utf8)
            let expected = strtod(text, nil)
            bytes.withUnsafeBytes { buffer in
                guard let value = PlainDouble.read(buffer, 0, buffer.count) else { return }
                fast += 1
                if value.bitPattern != expected.bitPattern && mismatches.count < 5 { mismatches.append("\(text): \(value) vs \(expected)") }
            }
            let read = bytes.withUnsafeBytes { CandleCSV.double($0, 0, $0.count) }
            if read?.bitPattern != Double(text)?.bitPattern && mismatches.count < 5 { mismatches.append("\(text): \(String(describing: read))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(fast > texts.count / 4)
        for text in ["5.", ".5", "1.2.3", "1e5", "-.5", "1234567890123456", "0.00000000000000000000001"] {
            #expect(Array(text.utf8).withUnsafeBytes { PlainDouble.read($0, 0, $0.count) } == nil, "\(text)")
        }
    }

    @Test("Portfolio: a flat position adds exactly nothing to the equity, byte for byte, as the product and the sum did")
    func flatPositionEquity() throws {
        var generator = SystemRandomNumberGenerator()
        var portfolio = Portfolio(startingCash: 100_000)
        let fill = try Fill(
            price: Decimal(string: "0.05123")!,
            quantity: Decimal(string: "19.51981261")!,
            notional: 1_000,
            fee: 1,
            dryRun: true,
            filledAt: 0
        )
        portfolio.apply(symbol: "ETHBTC", side: .buy, fill: fill)
        portfolio.apply(symbol: "ETHBTC", side: .sell, fill: fill)
        let flat = try #require(portfolio.positions["ETHBTC"])
        #expect(flat.quantity.isZero)
        var cashes: [Decimal] = [portfolio.cash, 0, 100_000, Decimal(string: "-12.5")!, Decimal(string: "100373.03221451")!]
        var prices: [Decimal] = [Decimal(string: "0.05123")!, 1, Decimal(string: "123456.78901234")!]
        for _ in 0..<2_000 {
            cashes.append(
                Decimal(
                    sign: .plus,
                    exponent: -Int.random(in: 0...8, using: &generator),
                    significand: Decimal(UInt64.random(in: 0...1 << 50, using: &generator))
                )
            )
            prices.append(Decimal(sign: .plus, exponent: -8, significand: Decimal(UInt64.random(in: 1...1 << 40, using: &generator))))
        }
        for (cash, price) in zip(cashes, prices.cycled(to: cashes.count)) {
            let slow = cash + flat.quantity * price
            let fast = Portfolio.equity(cash: cash, positions: ["ETHBTC": flat], marks: ["ETHBTC": price])
            #expect(fast.isIdentical(to: slow), "\(cash) at \(price)")
        }
        #expect(Portfolio.equity(cash: 100, positions: ["ETHBTC": flat], marks: ["ETHBTC": .nan]).isNaN)
    }

    @Test("the gate's refusals are its reasons, and the backtest's code for each is the one it read from the sentence")
    func gateRefusalCodes() {
        let lock = ProtectionLock(
            id: "cooldown-ETHBTC-1",
            symbol: "ETHBTC",
            rule: "cooldown",
            reason: "a losing trade",
            since: 0,
            until: 60_000
        )
        let refusals: [RiskEngine.GateRefusal] = [
            .halted(reason: nil), .halted(reason: "operator"), .riskLocked(reason: nil), .riskLocked(reason: "drawdown"), .reducingOnly(reason: nil),
            .reducingOnly(reason: "drawdown 0.2"), .symbolLocked(lock), .staleMarketData("the newest candle is old"),
            .confidenceBelowThreshold(confidence: 0.5123, threshold: 0.55), .confidenceBelowThreshold(confidence: 0, threshold: 1),
            .symbolNotAllowed("ETHBTC"),
        ]
        for refusal in refusals {
            #expect(Backtester.code(of: refusal) == Backtester.code(of: refusal.reason), "\(refusal)")
        }
        #expect(Backtester.code(of: refusals[8]) == "confidence_below_threshold")
        #expect(refusals[8].reason == "confidence 0.5123 is below the threshold 0.55")
        let flags = RiskFlags(halted: true, haltReason: "maintenance", riskLocked: true, lockReason: nil, locks: [lock])
        let limits = RiskLimits(
            confidenceThreshold: 0.6,
            maxOrderNotionalUsd: 1_000,
            maxPositionUsd: 5_000,
            maxDrawdown: 0.5,
            symbolAllowlist: ["BTCUSDT"],
            startingEquityUsd: 100_000,
            slippageBps: 0,
            feeBps: 0
        )
        let request = GateRequest(symbol: "ETHBTC", side: .buy, confidence: 0.51)
        let context = RiskEngine.GateContext(now: 30_000, position: 0, clock: CandleClock(newestOpenTime: 0, intervalMilliseconds: 1_000))
        let gate = RiskEngine.gate(request, flags: flags, limits: limits, context: context)
        #expect(gate.reasons == RiskEngine.gateRefusals(request, flags: flags, limits: limits, context: context).map(\.reason))
        #expect(gate.reasons.count == 6 && !gate.allow)  // every rule but REDUCING
        #expect(gate.reasons.first == "trading halted: maintenance")
    }

    @Test(
        "Decimal(exactly:scale:) is the rounded decimal of the double's text, byte for byte: unrounded within the scale, rounded on its digits beyond"
    )
    func decimalFromDouble() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 0.1, 0.05123, 1e-5, 1.23456789e-9, 123_456.789_012_345, 1e20, 5e-324, 0.000_000_005, 0.000_000_015]
        for candles in ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"] { values += try CandleCSV.parse(try Self.bytes(candles)).map(\.close) }
        for _ in 0..<50_000 {
            values.append(
                Double(Int.random(in: 1...10_000_000_000, using: &generator)) / Foundation.pow(10, Double(Int.random(in: 0...12, using: &generator)))
            )
            values.append(Foundation.pow(10, Double.random(in: -12...12, using: &generator)))
            values.append(Double(Int.random(in: 0...100_000_000, using: &generator) * 2 + 1) / 2e8)  // halves at the 9th place
            values.append(Double(Int.random(in: 0...100_000, using: &generator) * 2 + 1) / 2e2)  // halves at the 3rd place
        }
        values += values.map { -$0 }
        var mismatches: [String] = []
        for value in values {
            for scale in [2, 8] {
                let text = "\(value)"
                let slow = (Decimal.plainDecimal(text) ?? Decimal(string: text))?.rounded(scale: scale)
                let fast = Decimal(exactly: value, scale: scale)
                let same =
                    switch (fast, slow) {
                    case (nil, nil): true
                    case (let fast?, let slow?): fast.isIdentical(to: slow)
                    default: false
                    }
                if !same && mismatches.count < 5 {
                    mismatches.append("\(value) at \(scale): \(String(describing: fast)) vs \(String(describing: slow))")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test(
        "Indicators.rsi(windowsOf:endingAt:in:) is rsi over each window, bit for bit, four lanes or one at a time",
        arguments: ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]
    )
    func rsiWindows(_ name: String) throws {
        var closes = try CandleCSV.parse(try Self.bytes(name)).map(\.close)
        closes[700] = .nan  // a window with a close that is not a number
        closes[900] = 0
        closes.replaceSubrange(1_000..<1_030, with: Array(repeating: 0.05, count: 30))  // no movement at all
        for length in [15, 16, 21, 200] {
            let ends = (length - 1)..<min(closes.count, 3_000 + length)
            let fast = Indicators.rsi(windowsOf: length, endingAt: ends, in: closes)
            #expect(fast.count == ends.count)
            var mismatches = 0
            for (offset, end) in ends.enumerated() {
                let slow = Indicators.rsi(Array(closes[(end - length + 1)...end]))
                if fast[offset]?.bitPattern != slow?.bitPattern { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(name), windows of \(length)")
        }
        #expect(Indicators.rsi(windowsOf: 14, endingAt: 13..<20, in: closes) == Array(repeating: nil, count: 7))
        #expect(Indicators.rsi(windowsOf: 200, endingAt: 199..<199, in: closes).isEmpty)
    }

    @Test("TextBytes writes %.Nf and ISO 8601 as String(format:) and ISO8601Millis do")
    func formatting() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [
            0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.0000000049, 0.000000005, 100_833.333333333, 1e15, 1e18, 1e-300, -1e-9,
            .leastNonzeroMagnitude, 0x1p59, 12_345.678_9, 99.999_999_995, 0.049_999_999_999_999_996,
        ]
        for _ in 0..<20_000 {
            let magnitude = Double.random(in: -12...16, using: &generator)
            values.append((Bool.random(using: &generator) ? -1 : 1) * Foundation.pow(10, magnitude) * Double.random(in: 1...10, using: &generator))
            values.append(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 8)  // exact ties at 1 and 2 places
        }
        var mismatches: [String] = []
        for value in values {
            for places in [0, 1, 2, 6, 8] {
                var text = TextBytes()
                text.appendFixed(value, places: places)
                let expected = String(format: "%.\(places)f", value)
                if text.string != expected && mismatches.count < 5 { mismatches.append("\(value) at \(places): \(text.string) vs \(expected)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        for milliseconds: Int64 in [0, 1, 999, 1_515_110_400_000, 1_767_225_599_999, 253_402_300_799_999, -1, -86_400_001] {
            var text = TextBytes()
            text.appendISO8601(milliseconds)
            #expect(text.string == ISO8601Millis.format(milliseconds))
        }
        var days: [Int64] = [0, -1, 1, 59, 60, 365, 10_957, 11_016, 2_932_896, 2_932_897, -719_528, -719_529, -800_000]
        for _ in 0..<5_000 { days.append(Int64.random(in: -800_000...3_000_000, using: &generator)) }
        for day in days {
            let milliseconds = day * 86_400_000 + Int64.random(in: 0..<86_400_000, using: &generator)
            let (y, m, d) = ISO8601Millis.civil(days: Int(floor(Double(milliseconds) / 86_400_000)))
            #expect(RiskEngine.utcDate(milliseconds) == String(format: "%04d-%02d-%02d", y, m, d), "\(milliseconds)")
        }
    }

    @Test("Portfolio.drawdownReaches is drawdown >= limit, marked down and up through a limit")
    func drawdownCheck() throws {
        var portfolio = Portfolio(startingCash: 100_000)
        portfolio.apply(symbol: "BTCUSDT", side: .buy, fill: try Fill(price: 100, quantity: 500, notional: 50_000, fee: 0, dryRun: true, filledAt: 0))
        var price = Decimal(100)
        for step in 0..<2_000 {
            price += Decimal(step % 7 == 0 ? 3 : -1) / 100
            portfolio.mark("BTCUSDT", price: price)
            for limit in [0, 0.0001, 0.001, portfolio.drawdown, portfolio.drawdown.nextUp, portfolio.drawdown.nextDown, 0.5] {
                #expect(portfolio.drawdownReaches(limit) == (portfolio.drawdown >= limit))
            }
        }
        #expect(portfolio.drawdown > 0.001)
    }
}

extension Array {
    /// The elements repeated until there are `count` of them.
    fileprivate func cycled(to count: Int) -> [Element] {
        isEmpty ? [] : (0..<count).map { self[$0 % self.count] }
    }
}
