import TradingWire

/// Validates the features a caller gave and completes missing ones from candles.
public enum FeatureBuilder {
    /// The sane range of each feature; anything outside is refused as absurd.
    public static let ranges: [String: ClosedRange<Double>] = [
        "mom_20": -100...1_000,
        "rv_5": 0...500,
        "rsi_14": 0...100,
    ]

    /// Candles needed to compute every feature (RSI needs 15 closes, momentum 21).
    public static let minimumCandles = 21

    /// Builds the feature vector from given values, filling what is missing from `candles`.
    public static func build(given: [String: Double]?, candles: [Candle]?) throws(WireError) -> FeatureResult {
        let given = given ?? [:]
        try validate(given)
        var computed: [String: Double] = [:]
        var price: Double?
        let closes = (candles ?? []).map(\.close)
        if let candles, !candles.isEmpty {
            guard closes.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw WireError(code: "invalid_candles", detail: "candle closes must be finite and positive", status: 422)
            }
            price = closes.last
            computed["mom_20"] = Indicators.momentum(closes, period: 20)
            computed["rv_5"] = Indicators.realizedVolatility(closes, period: 5)
            computed["rsi_14"] = Indicators.rsi(closes, period: 14)
        }
        return try complete(given: given, computed: computed, price: price, candleCount: closes.count)
    }

    /// Builds the feature vector from given values, filling what is missing from indicators kept
    /// current candle by candle (`IncrementalFeatures`): the same checks, the same answer as
    /// `build(given:candles:)` over the same candles.
    public static func build(given: [String: Double]?, indicators: IncrementalFeatures) throws(WireError) -> FeatureResult {
        let given = given ?? [:]
        try validate(given)
        var computed: [String: Double] = [:]
        if indicators.count > 0 {
            guard indicators.closesAreValid else {
                throw WireError(code: "invalid_candles", detail: "candle closes must be finite and positive", status: 422)
            }
            computed["mom_20"] = indicators.momentum
            computed["rv_5"] = indicators.realizedVolatility
            computed["rsi_14"] = indicators.rsi
        }
        return try complete(given: given, computed: computed, price: indicators.lastClose, candleCount: indicators.count)
    }

    /// The features computed from `indicators` alone, as `try? build(given: nil, indicators:)`
    /// gives them, without its dictionaries (the backtest asks once per candle): nil when that
    /// throws (no candles, a close that is not finite and positive, a feature missing, not finite or
    /// out of its range).
    /// `ranges` of `mom_20`, `rv_5` and `rsi_14`, looked up once rather than per candle.
    private static let computedRanges = (ranges["mom_20"], ranges["rv_5"], ranges["rsi_14"])

    public static func computed(from indicators: IncrementalFeatures) -> FeatureVector? {
        guard indicators.count > 0, indicators.closesAreValid, let mom = indicators.momentum, let rv = indicators.realizedVolatility,
            let rsi = indicators.rsi
        else { return nil }
        let (momRange, rvRange, rsiRange) = computedRanges
        for (value, range) in [(mom, momRange), (rv, rvRange), (rsi, rsiRange)] {
            guard value.isFinite, range?.contains(value) ?? false else { return nil }
        }
        return FeatureVector(mom20: mom, rv5: rv, rsi14: rsi)
    }

    private static func validate(_ given: [String: Double]) throws(WireError) {
        for (name, value) in given {
            guard let range = ranges[name] else {
                throw WireError(
                    code: "unknown_feature",
                    detail: "unknown feature \"\(name)\"; known: \(FeatureVector.names.joined(separator: ", "))",
                    status: 422
                )
            }
            guard value.isFinite else { throw WireError(code: "invalid_feature", detail: "\(name) must be a finite number", status: 422) }
            guard range.contains(value) else {
                throw WireError(code: "invalid_feature", detail: "\(name)=\(value) is outside \(range.lowerBound)...\(range.upperBound)", status: 422)
            }
        }
    }

    private static func complete(
        given: [String: Double],
        computed: [String: Double],
        price: Double?,
        candleCount: Int
    ) throws(WireError) -> FeatureResult {
        if candleCount > 0 {
            for name in FeatureVector.names where given[name] == nil {
                guard let value = computed[name], let range = ranges[name] else { continue }
                guard value.isFinite, range.contains(value) else {
                    throw WireError(
                        code: "features_out_of_range",
                        detail: "\(name) computed from the candles is \(value), outside \(range.lowerBound)...\(range.upperBound)",
                        status: 422
                    )
                }
            }
        }
        var values: [String: Double] = [:]
        var missing: [String] = []
        for name in FeatureVector.names {
            if let value = given[name] ?? computed[name] { values[name] = value } else { missing.append(name) }
        }
        guard missing.isEmpty, let mom = values["mom_20"], let rv = values["rv_5"], let rsi = values["rsi_14"] else {
            throw WireError(
                code: "missing_features",
                detail:
                    "missing \(missing.joined(separator: ", ")): give them in \"features\", or feed at least \(minimumCandles) candles for the symbol (have \(candleCount))",
                status: 422
            )
        }
        let source = given.isEmpty ? "candles" : (computed.isEmpty || given.count == FeatureVector.names.count ? "given" : "mixed")
        return FeatureResult(features: FeatureVector(mom20: mom, rv5: rv, rsi14: rsi), price: price, source: source)
    }
}
