extension FastJSON {
    /// The first key written twice in one object of `bytes`, its escapes read (`"side"` and
    /// `"\u0073ide"` are one key); nil when each object's keys are distinct, or when the text is
    /// not JSON (the decoder then says why).
    ///
    /// JSON leaves a repeated key to the reader: Foundation keeps the first value, other readers
    /// the last. An order that says `"side": "buy", "side": "sell"` means one thing to a proxy
    /// and another to the gateway, so every body the fast reader declines is checked with this
    /// before Foundation reads it, and refused when a key repeats.
    public static func repeatedKey(in bytes: [UInt8]) -> String? {
        /// Per open container: the keys seen, and whether it is an object (an array has no keys).
        var keys: [Set<String>] = []
        var isObject: [Bool] = []
        var expectingKey = false
        var repeated: String?
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                keys.append([])
                isObject.append(bytes[index] == UInt8(ascii: "{"))
                expectingKey = bytes[index] == UInt8(ascii: "{")
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard isObject.last == (bytes[index] == UInt8(ascii: "}")) else { return nil }
                keys.removeLast()
                isObject.removeLast()
                expectingKey = false
                index += 1
            case UInt8(ascii: ","):
                expectingKey = isObject.last ?? false
                index += 1
            case UInt8(ascii: "\""):
                guard let (text, end) = quoted(bytes, from: index) else { return nil }
                index = end
                if expectingKey, let last = keys.indices.last {
                    if !keys[last].insert(text).inserted, repeated == nil { repeated = text }
                    expectingKey = false
                }
            default:
                index += 1
            }
        }
        // Only a whole document: a truncated one is the decoder's to name.
        return keys.isEmpty ? repeated : nil
    }

    /// The error detail for a repeated key: what was refused, and why.
    public static func repeatedKeyDetail(_ key: String) -> String {
        let shown = String(String.UnicodeScalarView(key.unicodeScalars.prefix(80).map { $0.value >= 0x20 && $0.value != 0x7F ? $0 : "?" }))
        return "the key \"\(shown)\" is written twice in one object: each field must be given once"
    }

    /// The string that starts at the quote at `start`, escapes read, and the index after its
    /// closing quote; nil when it is not a JSON string.
    private static func quoted(_ bytes: [UInt8], from start: Int) -> (String, Int)? {
        var index = start + 1
        var text: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                return (String(decoding: text, as: UTF8.self), index + 1)
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { return nil }
                let escape = bytes[index + 1]
                index += 2
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    guard var unit = hex4(bytes, at: index) else { return nil }
                    index += 4
                    var scalar = Unicode.Scalar(unit)
                    // A high surrogate followed by `\u` and a low one: one scalar.
                    if (0xD800..<0xDC00).contains(unit), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u"), let low = hex4(bytes, at: index + 2), (0xDC00..<0xE000).contains(low)
                    {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        scalar = Unicode.Scalar(unit)
                        index += 6
                    }
                    text.append(contentsOf: String(Character(scalar ?? "\u{FFFD}")).utf8)
                default:
                    return nil
                }
            default:
                text.append(byte)
                index += 1
            }
        }
        return nil
    }

    /// Four hex digits at `index` as a number.
    private static func hex4(_ bytes: [UInt8], at index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
