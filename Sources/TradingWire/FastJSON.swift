import Foundation

/// A small JSON reader and writer for the hot wire messages (the consensus path), about five
/// times cheaper than Foundation's Codable coders for these flat bodies. Anything it does not
/// recognise, it declines (`nil`), and `WireCodec` falls back to Foundation, which then gives the
/// precise error: it can only be faster, never more lenient.
public enum FastJSON {
    /// A parsed JSON value.
    public enum Value: Equatable, Sendable {
        case null
        case bool(Bool)
        /// A number: its value as a Double, and its text as written (exact amounts are read from
        /// the text, as Foundation reads a `Decimal`).
        case number(Double, literal: String)
        case string(String)
        case array([Value])
        case object(Members)

        public subscript(key: String) -> Value? {
            if case .object(let members) = self { return members[key] }
            return nil
        }

        public var double: Double? {
            if case .number(let value, _) = self { return value }
            return nil
        }

        /// The number, read exactly from its text; nil when it is not a number `Decimal` reads.
        public var decimal: Decimal? {
            guard case .number(_, let literal) = self else { return nil }
            return Decimal(plainLiteral: literal) ?? Decimal(string: literal)
        }

        /// A number written as a plain integer, read from its text.
        public var int64: Int64? {
            guard case .number(_, let literal) = self else { return nil }
            return Int64(literal)
        }

        /// A number written as a plain non-negative integer, read from its text.
        public var uint64: UInt64? {
            guard case .number(_, let literal) = self else { return nil }
            return UInt64(literal)
        }

        public var bool: Bool? {
            if case .bool(let value) = self { return value }
            return nil
        }

        public var string: String? {
            if case .string(let value) = self { return value }
            return nil
        }

        public var int: Int? {
            guard case .number(let value, _) = self, value.rounded() == value, abs(value) < 9e15 else { return nil }
            return Int(value)
        }
    }

    /// An object's members in the order written. The wire's objects have a handful of members,
    /// so a member is found by comparing keys in place, without hashing every key into a
    /// dictionary first. Equal when they hold the same keys with equal values, in any order.
    public struct Members: Equatable, Sendable, Sequence {
        private var keys: [String] = []
        private var values: [Value] = []

        public init() {}

        /// Room for `capacity` members without growing: the reader's objects are small.
        init(capacity: Int) {
            keys.reserveCapacity(capacity)
            values.reserveCapacity(capacity)
        }

        public var count: Int { keys.count }

        public subscript(key: String) -> Value? {
            guard let position = keys.firstIndex(of: key) else { return nil }
            return values[position]
        }

        mutating func append(_ key: String, _ value: Value) {
            keys.append(key)
            values.append(value)
        }

        public func makeIterator() -> Zip2Sequence<[String], [Value]>.Iterator { zip(keys, values).makeIterator() }

        public static func == (lhs: Members, rhs: Members) -> Bool {
            lhs.count == rhs.count && zip(lhs.keys, lhs.values).allSatisfy { rhs[$0] == $1 }
        }
    }

    // MARK: reading

    /// Parses a whole document; nil when it is not plain JSON this reader handles.
    public static func parse(_ bytes: [UInt8]) -> Value? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.index == bytes.count ? value : nil
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func value(depth: Int) -> Value? {
            guard depth < 32 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(Value.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString, _ value: Value) -> Value? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
            index += count
            return value
        }

        mutating func object(depth: Int) -> Value? {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(Members())
            }
            // Room for a wire object's members at once: growing two arrays one by one cost a
            // quarter of a settle reply's parse.
            var members = Members(capacity: 8)
            /// Keys already seen, kept only once an object is larger than the wire's: a repeated
            /// key declines, and a large object must not cost a comparison per pair of keys.
            var seen: Set<String>?
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let member = value(depth: depth + 1) else { return nil }
                if members.count < 16 {
                    guard members[key] == nil else { return nil }
                } else {
                    if seen == nil { seen = Set(members.map(\.0)) }
                    guard seen?.insert(key).inserted == true else { return nil }
                }
                members.append(key, member)
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                } else {
                    return nil
                }
            }
        }

        mutating func array(depth: Int) -> Value? {
            index += 1
            var elements: [Value] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                elements.append(element)
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    return nil
                }
            }
        }

        /// Plain strings only: an escape or a control character declines (Foundation handles them).
        mutating func string() -> String? {
            index += 1
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        /// JSON's number grammar exactly: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
        mutating func number() -> Value? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                return index - from
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                return nil
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            let literal = String(decoding: bytes[start..<index], as: UTF8.self)
            let end = index
            guard let value = bytes.withUnsafeBytes({ PlainDouble.read($0, start, end) }) ?? Double(literal), value.isFinite else { return nil }
            return .number(value, literal: literal)
        }
    }

    // MARK: writing

    /// Builds a JSON object: `writer.field("v", 1)`, ..., then `bytes`.
    public struct ObjectWriter {
        public private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
        private var first = true
        /// False once a value could not be written (a non-finite number): the caller falls back.
        public private(set) var valid = true

        /// Room for a wire object's text at once, so that writing one does not grow it byte
        /// by byte.
        public init() {
            bytes.reserveCapacity(128)
        }

        mutating func key(_ name: String) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            FastJSON.appendString(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }

        public mutating func field(_ name: String, _ value: Double) {
            key(name)
            guard value.isFinite else {
                valid = false
                return
            }
            bytes.append(contentsOf: "\(value)".utf8)
        }

        public mutating func field(_ name: String, _ value: Int) {
            key(name)
            bytes.append(contentsOf: "\(value)".utf8)
        }

        public mutating func field(_ name: String, _ value: String) {
            key(name)
            FastJSON.appendString(value, to: &bytes)
        }

        public mutating func field(_ name: String, _ value: Bool) {
            key(name)
            bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }

        /// Writes the field only when there is a value.
        public mutating func field(_ name: String, _ value: Double?) {
            if let value { field(name, value) }
        }

        public mutating func field(_ name: String, _ value: Int64) {
            key(name)
            bytes.append(contentsOf: "\(value)".utf8)
        }

        public mutating func field(_ name: String, _ value: UInt64) {
            key(name)
            bytes.append(contentsOf: "\(value)".utf8)
        }

        /// An exact amount, written as Foundation writes a `Decimal` (its description); NaN is
        /// not JSON, so the caller falls back.
        public mutating func field(_ name: String, _ value: Decimal) {
            key(name)
            guard !value.isNaN else {
                valid = false
                return
            }
            value.appendPlainText(to: &bytes)
        }

        /// Writes the field only when there is a value.
        public mutating func field(_ name: String, _ value: Decimal?) {
            if let value { field(name, value) }
        }

        /// Writes the field only when there is a value.
        public mutating func field(_ name: String, _ value: String?) {
            if let value { field(name, value) }
        }

        /// Amounts by name, as an object with its keys in order.
        public mutating func field(_ name: String, decimals: [String: Decimal]) {
            var inner = ObjectWriter()
            for (key, value) in decimals.sorted(by: { $0.key < $1.key }) { inner.field(key, value) }
            field(name, object: inner)
        }

        public mutating func field(_ name: String, strings: [String]) {
            key(name)
            bytes.append(UInt8(ascii: "["))
            for (index, string) in strings.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                FastJSON.appendString(string, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }

        public mutating func field(_ name: String, objects: [ObjectWriter]) {
            key(name)
            bytes.append(UInt8(ascii: "["))
            for (index, object) in objects.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                valid = valid && object.valid
                bytes.append(contentsOf: object.bytes)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append(UInt8(ascii: "]"))
        }

        /// Writes a nested object.
        public mutating func field(_ name: String, object: ObjectWriter) {
            key(name)
            valid = valid && object.valid
            bytes.append(contentsOf: object.bytes)
            bytes.append(UInt8(ascii: "}"))
        }

        /// The closed object.
        public var finished: [UInt8] {
            var closed = bytes
            closed.append(UInt8(ascii: "}"))
            return closed
        }
    }

    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Nearly every string on the wire needs no escape: copied whole, not byte by byte.
        let needsNoEscape = text.utf8.withContiguousStorageIfAvailable { utf8 in
            !utf8.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
        }
        if needsNoEscape == true {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20: bytes.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// A wire body with a hand-written writer for the hot path.
public protocol FastJSONEncodable {
    /// The body, or nil to fall back to Foundation's encoder.
    func fastJSON() -> [UInt8]?
}

/// A wire body with a hand-written reader for the hot path.
public protocol FastJSONDecodable {
    /// The value, or nil to fall back to Foundation's decoder.
    static func fromFastJSON(_ value: FastJSON.Value) -> Self?
}

// MARK: the hot messages

extension FeatureVector {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("mom_20", mom20)
        writer.field("rv_5", rv5)
        writer.field("rsi_14", rsi14)
        return writer
    }

    static func fromFast(_ value: FastJSON.Value?) -> FeatureVector? {
        guard let value, let mom = value["mom_20"]?.double, let rv = value["rv_5"]?.double, let rsi = value["rsi_14"]?.double else { return nil }
        return FeatureVector(mom20: mom, rv5: rv, rsi14: rsi)
    }
}

extension PredictRequest: FastJSONDecodable {
    public static func fromFastJSON(_ value: FastJSON.Value) -> PredictRequest? {
        FeatureVector.fromFast(value["features"]).map(PredictRequest.init(features:))
    }
}

extension PredictModelsRequest: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("features", object: features.fastObject)
        writer.field("modelIds", strings: modelIds)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> PredictModelsRequest? {
        guard let features = FeatureVector.fromFast(value["features"]), let ids = value.elements("modelIds", \.string) else { return nil }
        return PredictModelsRequest(features: features, modelIds: ids)
    }
}

extension ModelVotes: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("votes", objects: votes.map(\.fastObject))
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ModelVotes? {
        value.elements("votes", ModelVote.fromFastJSON).map(ModelVotes.init(votes:))
    }
}

extension FeatureRequest: FastJSONDecodable {
    /// Only the common shape: given features, no candles (with candles, Foundation decodes).
    public static func fromFastJSON(_ value: FastJSON.Value) -> FeatureRequest? {
        guard case .object(let members) = value, let symbol = members["symbol"]?.string else { return nil }
        if let candles = members["candles"], candles != .null { return nil }
        var features: [String: Double]?
        switch members["features"] {
        case nil, .null?: features = nil
        case .object(let given)?:
            var parsed: [String: Double] = [:]
            for (name, number) in given {
                guard let double = number.double else { return nil }
                parsed[name] = double
            }
            features = parsed
        default: return nil
        }
        var asOf: Int64?
        switch members["asOf"] {
        case nil, .null?: asOf = nil
        case let value?:
            guard let time = value.int else { return nil }
            asOf = Int64(time)
        }
        return FeatureRequest(symbol: symbol, features: features, candles: nil, asOf: asOf)
    }
}

extension WireRequest: FastJSONEncodable {
    public func fastJSON() -> [UInt8]? {
        var writer = FastJSON.ObjectWriter()
        writer.field("v", v)
        writer.field("op", op)
        writer.field("requestId", requestId)
        switch payload {
        case let predict as PredictRequest:
            var inner = FastJSON.ObjectWriter()
            inner.field("features", object: predict.features.fastObject)
            writer.field("payload", object: inner)
        case let feature as FeatureRequest where feature.candles == nil:
            var inner = FastJSON.ObjectWriter()
            inner.field("symbol", feature.symbol)
            if let features = feature.features {
                var given = FastJSON.ObjectWriter()
                for (name, value) in features.sorted(by: { $0.key < $1.key }) { given.field(name, value) }
                inner.field("features", object: given)
            }
            if let asOf = feature.asOf { inner.field("asOf", Int(asOf)) }
            writer.field("payload", object: inner)
        case let fast as any FastJSONObject:
            writer.field("payload", object: fast.fastObject)
        default:
            return nil
        }
        return writer.valid ? writer.finished : nil
    }
}

extension WireRequest: FastJSONDecodable where Payload: FastJSONDecodable {
    public static func fromFastJSON(_ value: FastJSON.Value) -> WireRequest<Payload>? {
        guard let v = value["v"]?.int, let op = value["op"]?.string, let requestId = value["requestId"]?.string,
            let payloadValue = value["payload"], let payload = Payload.fromFastJSON(payloadValue)
        else { return nil }
        var request = WireRequest(op: op, requestId: requestId, payload: payload)
        request.v = v
        return request
    }
}

extension WireReply: FastJSONEncodable {
    public func fastJSON() -> [UInt8]? {
        var writer = FastJSON.ObjectWriter()
        writer.field("v", v)
        switch result {
        case let vote as ModelVote:
            writer.field("result", object: vote.fastObject)
        case let fast as any FastJSONObject:
            writer.field("result", object: fast.fastObject)
        case let features as FeatureResult:
            var inner = FastJSON.ObjectWriter()
            inner.field("features", object: features.features.fastObject)
            if let price = features.price { inner.field("price", price) }
            inner.field("source", features.source)
            writer.field("result", object: inner)
        default:
            return nil
        }
        return writer.valid ? writer.finished : nil
    }
}

extension ModelVote: FastJSONDecodable {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("modelId", modelId)
        writer.field("version", version)
        writer.field("probabilityUp", probabilityUp)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ModelVote? {
        guard let id = value["modelId"]?.string, let version = value["version"]?.string, let p = value["probabilityUp"]?.double else { return nil }
        return ModelVote(modelId: id, version: version, probabilityUp: p)
    }
}

extension FeatureResult: FastJSONDecodable {
    public static func fromFastJSON(_ value: FastJSON.Value) -> FeatureResult? {
        guard let features = FeatureVector.fromFast(value["features"]), let source = value["source"]?.string else { return nil }
        let price: Double?
        switch value["price"] {
        case nil, .null?: price = nil
        case .number(let number, _)?: price = number
        default: return nil
        }
        return FeatureResult(features: features, price: price, source: source)
    }
}

extension WireReply: FastJSONDecodable where Result: FastJSONDecodable {
    /// Results only: an error reply goes through Foundation.
    public static func fromFastJSON(_ value: FastJSON.Value) -> WireReply<Result>? {
        guard let v = value["v"]?.int, v == WireVersion.current, value["error"] == nil || value["error"] == .null,
            let resultValue = value["result"], let result = Result.fromFastJSON(resultValue)
        else { return nil }
        return WireReply(result: result)
    }
}
