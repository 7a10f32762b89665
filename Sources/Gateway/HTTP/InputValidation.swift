import Foundation
import Hummingbird
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire

/// Checks the gateway applies before anything reaches a worker.
enum InputValidation {
    /// The largest order notional the API accepts at all; risk limits are usually far lower.
    static let absurdNotionalUsd = 1_000_000_000.0

    /// `BTCUSDT`-style symbols: 2 to 20 upper-case letters or digits.
    static func symbol(_ value: String) throws(APIError) -> String {
        guard Identifier.symbol.accepts(value) else {
            throw APIError(.unprocessableContent, "invalid_symbol", "symbol must be \(Identifier.symbol.grammar)")
        }
        return value
    }

    static func side(_ value: String) throws(APIError) -> Side {
        guard let side = Side(rawValue: value.lowercased()) else {
            throw APIError(.unprocessableContent, "invalid_side", "side must be \"buy\" or \"sell\", not \"\(value.prefix(20))\"")
        }
        return side
    }

    static func notional(_ value: Double) throws(APIError) -> Decimal {
        guard value.isFinite, value >= 0.01, value <= absurdNotionalUsd, let decimal = Decimal(exactly: value, scale: 2), decimal > 0 else {
            throw APIError(.unprocessableContent, "invalid_quantity", "qtyUsd must be a finite amount from 0.01 to \(Int(absurdNotionalUsd))")
        }
        return decimal
    }

    static func confidence(_ value: Double) throws(APIError) -> Double {
        guard value.isFinite, (0...1).contains(value) else {
            throw APIError(.unprocessableContent, "invalid_confidence", "confidence must be a number from 0 to 1")
        }
        return value
    }

    /// Client order ids: 1 to 36 letters, digits, `-` or `_` (what exchanges accept).
    static func clientOrderID(_ value: String?) throws(APIError) -> String {
        guard let value else { return newClientOrderID() }
        guard Identifier.clientOrderID.accepts(value) else {
            throw APIError(.unprocessableContent, "invalid_client_order_id", "clientOrderId must be \(Identifier.clientOrderID.grammar)")
        }
        return value
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A new client order id: "o-", the time in milliseconds as 12 hex digits, then 18 random
    /// hex digits (72 bits from the system's random source). An id made later sorts after one
    /// made earlier, so the ledger's and the execution journal's indexes on the id grow at their
    /// end, instead of taking a random page per order into every commit. The random part keeps
    /// ids made in the same millisecond (or by gateway replicas) apart; a clock that steps back
    /// only makes them sort out of order.
    static func newClientOrderID() -> String {
        var generator = SystemRandomNumberGenerator()
        var text: [UInt8] = [UInt8(ascii: "o"), UInt8(ascii: "-")]
        text.reserveCapacity(32)
        /// The low `count` hex digits of `value`, most significant first.
        func append(_ value: UInt64, digits count: Int) {
            for shift in stride(from: 4 * (count - 1), through: 0, by: -4) {
                text.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
            }
        }
        append(UInt64(clamping: max(0, unixMilliseconds())), digits: 12)
        append(generator.next(), digits: 16)
        append(generator.next(), digits: 2)
        return String(decoding: text, as: UTF8.self)
    }

    /// Names, finiteness and ranges of given features.
    static func features(_ features: [String: Double]?) throws(APIError) {
        guard let features else { return }
        for (name, value) in features {
            guard let range = FeatureBuilder.ranges[name] else {
                throw APIError(
                    .unprocessableContent,
                    "unknown_feature",
                    "unknown feature \"\(name.prefix(40))\"; known: \(FeatureVector.names.joined(separator: ", "))"
                )
            }
            guard value.isFinite, range.contains(value) else {
                throw APIError(
                    .unprocessableContent,
                    "invalid_feature",
                    "\(name) must be a finite number in \(range.lowerBound)...\(range.upperBound)"
                )
            }
        }
    }

    /// The one value of query parameter `name`, nil when absent; given twice it is refused
    /// (`?limit=5&limit=500`: a proxy may read the last where we would read the first).
    static func single(_ parameters: Parameters, _ name: String) throws(APIError) -> String? {
        let values = parameters.getAll(name)
        guard values.count <= 1 else {
            throw APIError(.badRequest, "repeated_parameter", "query parameter \(name) is given \(values.count) times; give it once")
        }
        return values.first
    }

    /// An integer query parameter within `range`, `fallback` when absent.
    static func integer(_ parameters: Parameters, _ name: String, in range: ClosedRange<Int>, default fallback: Int) throws(APIError) -> Int {
        guard let text = try single(parameters, name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIError(.unprocessableContent, "invalid_\(name)", "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The smallest price a candle may carry: 1e-8, the finest tick an exchange quotes (and the
    /// scale prices are kept at, so a smaller one would be a zero mark).
    static let minimumPrice = 0.000_000_01

    /// The largest open time a candle may carry: 2^53 - 1 ms, the largest integer every JSON
    /// reader keeps exactly (the OpenAPI document's maximum).
    static let maximumOpenTime: Int64 = 9_007_199_254_740_991

    /// Candles: at most `limit`, finite positive prices, high ≥ low, non-negative volume.
    static func candles(_ candles: [Candle], limit: Int) throws(APIError) {
        guard candles.count <= limit else {
            throw APIError(.unprocessableContent, "too_many_candles", "at most \(limit) candles per request")
        }
        for (index, candle) in candles.enumerated() {
            let prices = [candle.open, candle.high, candle.low, candle.close]
            guard prices.allSatisfy({ $0.isFinite && $0 >= minimumPrice && $0 < 1e12 }), candle.volume.isFinite, candle.volume >= 0,
                candle.high >= candle.low, candle.openTime > 0, candle.openTime <= maximumOpenTime
            else {
                throw APIError(
                    .unprocessableContent,
                    "invalid_candle",
                    "candle [\(index)] needs finite prices from 0.00000001 to below 1e12, high >= low, volume >= 0 and openTime in Unix ms (1 to 2^53 - 1)"
                )
            }
        }
    }

    /// The caller's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else a new one.
    static func requestID(_ header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count), header.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            return header
        }
        return RequestIDs.next()
    }
}

/// Request ids: a random per-process prefix and a counter, cheap enough for every request.
enum RequestIDs {
    private static let prefix = String(UInt64.random(in: 0..<(1 << 40)), radix: 16)
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(prefix)-\(value)"
    }
}
