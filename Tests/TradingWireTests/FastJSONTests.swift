import Foundation
import Testing

@testable import TradingWire

@Suite("fast JSON for the hot wire messages")
struct FastJSONTests {
    let features = FeatureVector(mom20: -3.125, rv5: 0.2, rsi14: 65)

    @Test("what the fast writer writes, Foundation reads back unchanged")
    func writerAgreesWithFoundation() throws {
        let predict = WireRequest(op: "predict", requestId: "r-1", payload: PredictRequest(features: features))
        let bytes = try #require(predict.fastJSON())
        let decoded = try JSONDecoder().decode(WireRequest<PredictRequest>.self, from: Data(bytes))
        #expect(decoded.payload.features == features && decoded.op == "predict" && decoded.requestId == "r-1" && decoded.v == 1)

        let featureRequest = WireRequest(
            op: "features",
            requestId: "q\"uo\\te\u{1}",
            payload: FeatureRequest(symbol: "BTCUSDT", features: ["mom_20": 1e-7, "rsi_14": 99.5], candles: nil)
        )
        let decodedFeature = try JSONDecoder().decode(WireRequest<FeatureRequest>.self, from: Data(try #require(featureRequest.fastJSON())))
        #expect(decodedFeature.requestId == "q\"uo\\te\u{1}")
        #expect(decodedFeature.payload.features == ["mom_20": 1e-7, "rsi_14": 99.5])

        let vote = WireReply(result: ModelVote(modelId: "xgb", version: "v-ü", probabilityUp: 0.123456789012345))
        let decodedVote = try JSONDecoder().decode(WireReply<ModelVote>.self, from: Data(try #require(vote.fastJSON())))
        #expect(decodedVote.result == vote.result)

        let result = WireReply(result: FeatureResult(features: features, price: 0.0913, source: "mixed"))
        let decodedResult = try JSONDecoder().decode(WireReply<FeatureResult>.self, from: Data(try #require(result.fastJSON())))
        #expect(decodedResult.result?.features == features && decodedResult.result?.price == 0.0913)
    }

    @Test("what Foundation writes, the fast reader reads the same")
    func readerAgreesWithFoundation() throws {
        let vote = ModelVote(modelId: "logit", version: "eth-btc-5m-v1", probabilityUp: 0.61)
        let bytes = Array(try JSONEncoder().encode(WireReply(result: vote)))
        let parsed = try #require(FastJSON.parse(bytes))
        #expect(WireReply<ModelVote>.fromFastJSON(parsed)?.result == vote)
        let request = Array(try JSONEncoder().encode(WireRequest(op: "predict", requestId: "x", payload: PredictRequest(features: features))))
        #expect(WireRequest<PredictRequest>.fromFastJSON(try #require(FastJSON.parse(request)))?.payload.features == features)
    }

    @Test(
        "malformed or unusual documents are declined, never half-read",
        arguments: [
            "{", "[1,", #"{"a":1,}"#, "01", "1.", ".5", "+1", "-", "1e", #"{"a":1 "b":2}"#, #"{"a":1,"a":2}"#, "nul", "[1] x",
            #""esc\"aped""#, "\"tab\t\"", "NaN", "1e999",
        ]
    )
    func declines(text: String) {
        #expect(FastJSON.parse(Array(text.utf8)) == nil)
    }

    @Test(
        "the first key written twice in one object is found, escapes read; keys of other objects and string values are not keys",
        arguments: [
            (#"{"a":1,"a":2}"#, "a"),
            (#"{"o":{"x":1,"y":[1,{"x":2}],"x":3}}"#, "x"),
            (#"{"a":[1,2],"a":3}"#, "a"),
            (#"{"side":"buy","\u0073ide":"sell"}"#, "side"),
            (#"{"q\"k":1,"q\u0022k":2}"#, "q\"k"),
            (#"{"\ud83d\ude00":1,"😀":2}"#, "😀"),
            (#"[{"a":1},{"a":2}]"#, nil),
            (#"{"a":{"a":{"a":1}}}"#, nil),
            (#"{"a":"a","b":"a","c":["a","a"]}"#, nil),
            (#"{"a":"x\",\"a\":\"","b":1}"#, nil),
            (#"{"a":1,"b":2}"#, nil),
            (#"{"a":1,"a""#, nil),
            ("[1, 2", nil),
        ] as [(String, String?)]
    )
    func repeatedKeys(text: String, repeated: String?) {
        #expect(FastJSON.repeatedKey(in: Array(text.utf8)) == repeated)
    }

    @Test("a number's Double is Double(text)'s, bit for bit, whether the plain-decimal path or strtod reads it")
    func numbersAsStrtod() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = [
            "0", "-0", "0.1", "0.3", "-1.5", "123456789012345", "1234567890123456", "9007199254740993", "0.0000000000000000000001",
            "0.00000000000000000000001", "999999999999999", "0.999999999999999", "1e5", "-2.5E-3", "91445.609955", "4.27e-07",
        ]
        for _ in 0..<20_000 {
            let integer = Int.random(in: 0...3, using: &generator) == 0 ? "0" : String(UInt64.random(in: 1...999_999_999, using: &generator))
            let fraction = String(
                (0..<Int.random(in: 0...17, using: &generator)).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) }
            )
            let exponent = Int.random(in: 0...4, using: &generator) == 0 ? "e\(Int.random(in: -30...30, using: &generator))" : ""
            texts.append((Bool.random(using: &generator) ? "-" : "") + integer + (fraction.isEmpty ? "" : "." + fraction) + exponent)
        }
        var mismatches: [String] = []
        for text in texts {
            let read = FastJSON.parse(Array("[\(text)]".utf8)).flatMap { value -> Double? in
                if case .array(let elements) = value { return elements.first?.double }
                return nil
            }
            if read?.bitPattern != Double(text)?.bitPattern, mismatches.count < 5 { mismatches.append("\(text): \(String(describing: read))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("a wire body with a key written twice is refused, not read either way")
    func wireRefusesRepeatedKeys() throws {
        let order = Array(
            #"{"v":1,"op":"reserve","requestId":"r","payload":{"intent":{"clientOrderId":"o-1","symbol":"ETHBTC","side":"buy","side":"sell","qtyUsd":10,"confidence":0.9},"mode":"paper"}}"#
                .utf8
        )
        #expect(throws: DecodingError.self) { try WireCodec.decodeRequest(ReserveRequest.self, from: order) }
        let vote = Array(#"{"v":1,"result":{"modelId":"logit","version":"1","probabilityUp":0.9,"probabilityUp":0.1}}"#.utf8)
        #expect(throws: DecodingError.self) { try WireCodec.decode(WireReply<ModelVote>.self, from: vote) }
    }

    @Test("objects keep their members in order; a key repeated anywhere, in a small or a large object, is declined")
    func objectMembers() throws {
        let parsed = try #require(FastJSON.parse(Array(#"{"b": 1, "a": [true, false, null], "c": {"d": "e"}}"#.utf8)))
        guard case .object(let members) = parsed else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["b", "a", "c"])
        #expect(parsed["a"] == .array([.bool(true), .bool(false), .null]))
        #expect(parsed["c"]?["d"]?.string == "e")
        #expect(parsed["z"] == nil)
        // Equal whatever the order the members were written in.
        #expect(FastJSON.parse(Array(#"{"c": {"d": "e"}, "a": [true, false, null], "b": 1}"#.utf8)) == parsed)
        #expect(FastJSON.parse(Array(#"{"c": {"d": "f"}, "a": [true, false, null], "b": 1}"#.utf8)) != parsed)
        for size in [2, 16, 17, 40, 2_000] {
            let keys = (0..<size).map { "\"k\($0)\": \($0)" }
            let large = try #require(FastJSON.parse(Array("{\(keys.joined(separator: ","))}".utf8)), "\(size) members")
            #expect(large["k\(size - 1)"]?.int == size - 1)
            for repeated in [0, size / 2, size - 1] {
                let text = "{\(keys.joined(separator: ",")), \"k\(repeated)\": 0}"
                #expect(FastJSON.parse(Array(text.utf8)) == nil, "k\(repeated) repeated in \(size) members")
            }
        }
        #expect(FastJSON.parse(Array("[true, false, null, tru]".utf8)) == nil)
        #expect(FastJSON.parse(Array("nulls".utf8)) == nil)
        #expect(FastJSON.parse(Array("false".utf8)) == .bool(false))
    }

    @Test(
        "valid numbers parse as JSON defines them",
        arguments: [("0", 0.0), ("-0.5", -0.5), ("12e3", 12000.0), ("1E-2", 0.01), ("-10.25e+1", -102.5)]
    )
    func numbers(text: String, expected: Double) {
        #expect(FastJSON.parse(Array(text.utf8))?.double == expected)
    }

    @Test("the codec falls back to Foundation for everything the fast path declines")
    func fallback() throws {
        // An escaped string: the fast reader declines, Foundation reads it.
        let text = #"{"v":1,"result":{"modelId":"a\"b","version":"1","probabilityUp":0.5}}"#
        let reply = try WireCodec.decode(WireReply<ModelVote>.self, from: Array(text.utf8))
        #expect(reply.result?.modelId == "a\"b")
        // An error reply: Foundation reads it.
        let error = try WireCodec.decode(WireReply<ModelVote>.self, from: WireCodec.encode(WireReply<ModelVote>(error: .invalid("x"))))
        #expect(error.error?.code == "invalid_request")
        // A non-finite number cannot be written fast; Foundation refuses it.
        #expect(WireReply(result: ModelVote(modelId: "a", version: "1", probabilityUp: .nan)).fastJSON() == nil)
        #expect(throws: (any Error).self) { try WireCodec.encode(WireReply(result: ModelVote(modelId: "a", version: "1", probabilityUp: .infinity))) }
        // Candles go through Foundation in both directions.
        let candle = Candle(openTime: 1_515_560_100_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10)
        let withCandles = WireRequest(op: "features", requestId: "c", payload: FeatureRequest(symbol: "ETHBTC", features: nil, candles: [candle]))
        #expect(withCandles.fastJSON() == nil)
        let back = try WireCodec.decodeRequest(FeatureRequest.self, from: WireCodec.encode(withCandles))
        #expect(back.payload.candles == [candle])
    }

    // MARK: the order path

    static let lock = ProtectionLock(id: "cooldown-ETHBTC-1", symbol: "ETHBTC", rule: "cooldown", reason: "a losing trade", since: 1, until: 60_001)
    static let allLock = ProtectionLock(id: "stoploss-guard-ALL-2", symbol: nil, rule: "stoploss_guard", reason: "3 losing", since: 2, until: 3)
    static let intent = OrderIntent(
        clientOrderId: "o-1",
        symbol: "ETHBTC",
        side: .sell,
        qtyUsd: Decimal(string: "10.25")!,
        confidence: 0.7312345678901
    )
    static func fill(commissions: [String: Decimal]?) throws -> Fill {
        try Fill(
            price: Decimal(string: "0.09134567")!,
            quantity: Decimal(string: "112.12345678")!,
            notional: Decimal(string: "10.2412345678901234567")!,
            fee: Decimal(string: "0.00000001")!,
            commissions: commissions,
            dryRun: false,
            filledAt: 1_764_000_000_123
        )
    }
    /// A paper order reserved at a book ticker's ask, and its fill naming it.
    static let bookTerms = ExecutionTerms(
        markPrice: Decimal(string: "91345.51")!,
        slippageBps: 5,
        feeBps: 10,
        priceSource: .bookAsk,
        bookAgeMs: 1_234
    )
    static func bookFill() throws -> Fill {
        var fill = try fill(commissions: nil)
        fill.priceSource = .bookAsk
        return fill
    }
    static func orders() throws -> [Order] {
        let terms = ExecutionTerms(markPrice: Decimal(string: "91345.5")!, slippageBps: 5, feeBps: Decimal(string: "7.5")!)
        return [
            Order(intent: intent, status: .pending, mode: .paper, createdAt: 1),
            Order(
                intent: intent,
                status: .filled,
                mode: .live,
                createdAt: 2,
                terms: terms,
                fill: try fill(commissions: ["BNB": Decimal(string: "0.0005")!, "ETH": 1])
            ),
            Order(
                intent: intent,
                status: .rejected,
                mode: .paper,
                createdAt: 3,
                terms: terms,
                fill: try fill(commissions: nil),
                rejectReason: "no_price: none"
            ),
            Order(intent: intent, status: .filled, mode: .paper, createdAt: 4, terms: bookTerms, fill: try bookFill()),
        ]
    }
    static let flags = [
        RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil),
        RiskFlags(
            halted: true,
            haltReason: "operator",
            riskLocked: true,
            lockReason: "drawdown",
            reducing: true,
            reducingReason: "brake",
            locks: [lock, allLock]
        ),
        RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil, accountHold: "account_mismatch: BTC: exchange 3, live book 2"),
    ]
    static let accounts = [
        AccountSnapshot(cash: 10_000, equity: 10_000, peakEquity: 10_000, drawdown: 0, grossExposure: 0, positions: []),
        AccountSnapshot(
            cash: Decimal(string: "-12.5")!,
            equity: Decimal(string: "9987.123456789")!,
            peakEquity: 10_001,
            drawdown: 0.0013,
            grossExposure: 7,
            dailyLoss: 1,
            realizedPnl: Decimal(string: "-0.3")!,
            unrealizedPnl: Decimal(string: "0.000001")!,
            pendingOrders: 4,
            positions: [
                PositionSnapshot(
                    symbol: "ETHBTC",
                    quantity: -3,
                    averagePrice: Decimal(string: "0.09")!,
                    markPrice: nil,
                    realizedPnl: 0,
                    unrealizedPnl: 0
                ),
                PositionSnapshot(
                    symbol: "BTCUSDT",
                    quantity: Decimal(string: "0.001")!,
                    averagePrice: 91_000,
                    markPrice: 91_500,
                    realizedPnl: 1,
                    unrealizedPnl: Decimal(string: "0.5")!
                ),
            ],
            feesOwed: ["BNB": Decimal(string: "0.0005")!]
        ),
    ]

    /// Both directions for one value: the fast writer's bytes read back equal through Foundation
    /// and through the fast reader, and Foundation's bytes read back equal through the fast reader.
    func agree<T: FastJSONObject & Codable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fast = try #require(value.fastJSON(), sourceLocation: sourceLocation)
        #expect(try JSONDecoder().decode(T.self, from: Data(fast)) == value, sourceLocation: sourceLocation)
        #expect(T.fromFastJSON(try #require(FastJSON.parse(fast))) == value, sourceLocation: sourceLocation)
        let foundation = Array(try JSONEncoder().encode(value))
        #expect(T.fromFastJSON(try #require(FastJSON.parse(foundation))) == value, sourceLocation: sourceLocation)
        // Key for key: the same members as Foundation writes, with the same values.
        let fastObject = try JSONSerialization.jsonObject(with: Data(fast)) as? NSDictionary
        let foundationObject = try JSONSerialization.jsonObject(with: Data(foundation)) as? NSDictionary
        #expect(fastObject == foundationObject, sourceLocation: sourceLocation)
    }

    @Test("the order path's messages: the fast writer and reader agree with Foundation, amounts exact")
    func orderPathAgrees() throws {
        for order in try Self.orders() {
            try agree(order)
            try agree(order.intent)
            if let fill = order.fill { try agree(fill) }
            try agree(ExecuteRequest(order: order))
            for flags in Self.flags {
                try agree(ReserveResult(order: order, duplicate: order.status != .pending, flags: flags))
                for account in Self.accounts { try agree(SettleResult(order: order, account: account, flags: flags)) }
            }
            try agree(SettleRequest(clientOrderId: "o-1", fill: order.fill, rejectReason: order.rejectReason))
        }
        try agree(ReserveRequest(intent: Self.intent, mode: .paper, requestPrice: Decimal(string: "0.00012345")!))
        try agree(ReserveRequest(intent: Self.intent, mode: .live))
        let book = BookQuote(bid: Decimal(string: "91345.5")!, ask: Decimal(string: "91345.51")!, ageMs: 812)
        try agree(ReserveRequest(intent: Self.intent, mode: .paper, book: book))
        try agree(book)
        for source in [PriceSource.bookAsk, .bookBid, .lastClose, .requestPrice] {
            try agree(ExecutionTerms(markPrice: 1, slippageBps: 0, feeBps: 0, priceSource: source))
        }
        for account in Self.accounts { try agree(account) }
        for flags in Self.flags { try agree(flags) }
    }

    @Test("a whole request and reply of the order path go the fast way through WireCodec")
    func orderPathThroughTheCodec() throws {
        let order = try Self.orders()[1]
        let request = WireRequest(op: "settle", requestId: "r-9", payload: SettleRequest(clientOrderId: "o-1", fill: order.fill, rejectReason: nil))
        let bytes = try #require(request.fastJSON())
        let decoded = try WireCodec.decodeRequest(SettleRequest.self, from: bytes)
        #expect(decoded.payload.fill == order.fill && decoded.requestId == "r-9" && decoded.op == "settle")
        let reply = WireReply(result: SettleResult(order: order, account: Self.accounts[1], flags: Self.flags[1]))
        let replyBytes = try #require(reply.fastJSON())
        let back = try WireCodec.decode(WireReply<SettleResult>.self, from: replyBytes)
        #expect(back.result?.order == order && back.result?.account == Self.accounts[1] && back.result?.flags == Self.flags[1])
    }

    @Test("on the order path, what the fast reader cannot read exactly it leaves to Foundation")
    func orderPathDeclines() throws {
        let good = try #require(try Self.orders()[1].fastJSON())
        let text = String(decoding: good, as: UTF8.self)
        for bad in [
            text.replacingOccurrences(of: #""quantity":112.12345678"#, with: #""quantity":0"#),  // a fill Fill refuses
            text.replacingOccurrences(of: #""quantity":112.12345678"#, with: #""quantity":"1""#),  // a string for an amount
            text.replacingOccurrences(of: #""createdAt":2"#, with: #""createdAt":2.5"#),  // not an integer
            text.replacingOccurrences(of: #""status":"filled""#, with: #""status":"lost""#),  // no such status
            text.replacingOccurrences(of: #""qtyUsd":10.25"#, with: #""qtyUsd":1e200"#),  // beyond Decimal
        ] {
            #expect(bad != text)
            #expect(Order.fromFastJSON(try #require(FastJSON.parse(Array(bad.utf8)))) == nil, "\(bad)")
            #expect(throws: (any Error).self) { try WireCodec.decode(Order.self, from: Array(bad.utf8)) }
        }
        // NaN cannot be written fast; the codec leaves it to Foundation.
        var nan = Self.intent
        nan.qtyUsd = .nan
        #expect(nan.fastJSON() == nil)
    }

    @Test("the control state: the broker's fast writer and every worker's fast reader agree with Foundation")
    func controlStateAgrees() throws {
        var states = [
            ControlState(seq: 1_795_772_385_692, halted: false, haltReason: nil, riskLocked: false, lockReason: nil, tradingMode: .paper, ts: 0),
            ControlState(
                seq: UInt64.max,
                halted: true,
                haltReason: "operator: stop now \u{1F6D1}",
                riskLocked: true,
                lockReason: "drawdown 21% ≥ 20%",
                tradingMode: .live,
                ts: -1,
                stateReason: "halted by ops"
            ),
            ControlState(
                seq: 7,
                halted: false,
                haltReason: nil,
                riskLocked: false,
                lockReason: nil,
                tradingMode: .paper,
                ts: 1_700_000_000_000,
                tradingState: .reducing,
                stateReason: "reduce only"
            ),
            ControlState(
                seq: 8,
                halted: false,
                haltReason: nil,
                riskLocked: false,
                lockReason: nil,
                tradingMode: .live,
                ts: 1_700_000_000_000,
                accountHold: "account_unknown: the exchange's account could not be read"
            ),
            ControlState(
                seq: 9,
                halted: false,
                haltReason: nil,
                riskLocked: false,
                lockReason: nil,
                tradingMode: .live,
                ts: 1_700_000_000_000,
                exchangeBackoff: ExchangeBackoff(
                    ordersUntil: 1_700_000_060_000,
                    requestsUntil: 1_700_000_030_000,
                    reason: "the exchange answered HTTP 429: wait 30 s"
                )
            ),
        ]
        // From a publisher that predates trading states: no state at all, as Foundation reads it.
        states[0].tradingState = nil
        for state in states { try agree(state) }
        // Through the codec, as the broker and the workers call it; a reason with escapes is
        // written fast and read back by Foundation (the fast reader declines escaped strings).
        var escaped = states[1]
        escaped.haltReason = "operator: \"stop\" now\n"
        #expect(try WireCodec.decode(ControlState.self, from: try WireCodec.encode(escaped)) == escaped)
        #expect(try JSONDecoder().decode(ControlState.self, from: Data(try #require(escaped.fastJSON()))) == escaped)
    }

    @Test("a control state the fast reader cannot read is left to Foundation, which refuses it")
    func controlStateDeclines() throws {
        let text = String(
            decoding: try #require(
                ControlState(
                    seq: 5,
                    halted: true,
                    haltReason: "x",
                    riskLocked: false,
                    lockReason: nil,
                    tradingMode: .paper,
                    ts: 9
                ).fastJSON()
            ),
            as: UTF8.self
        )
        for bad in [
            text.replacingOccurrences(of: #""seq":5"#, with: #""seq":-5"#),  // no negative sequence
            text.replacingOccurrences(of: #""seq":5"#, with: #""seq":5.5"#),  // not an integer
            text.replacingOccurrences(of: #""tradingState":"HALTED""#, with: #""tradingState":"PAUSED""#),  // no such state
            text.replacingOccurrences(of: #""tradingMode":"paper""#, with: #""tradingMode":"demo""#),  // no such mode
            text.replacingOccurrences(of: #""halted":true,"#, with: ""),  // a required member missing
            text.replacingOccurrences(of: #""haltReason":"x""#, with: #""haltReason":5"#),  // a reason that is not text
        ] {
            #expect(bad != text, "\(bad)")
            #expect(ControlState.fromFastJSON(try #require(FastJSON.parse(Array(bad.utf8)))) == nil, "\(bad)")
            #expect(throws: (any Error).self) { try WireCodec.decode(ControlState.self, from: Array(bad.utf8)) }
        }
    }
}
