/// Reading a plain decimal into a `Double` without `strtod`, where that gives the same value:
/// the candle files' prices and the wire's numbers are nearly all such decimals.
public enum PlainDouble {
    /// 10^0 ... 10^22: the powers of ten a `Double` holds exactly.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `strtod`'s value for a plain decimal (`-12.5`: a sign, digits, a point, digits; no
    /// exponent) of at most 15 significant digits and 22 decimals: its digits as an integer
    /// divided by a power of ten, both exact in a `Double`, so one correctly rounded division
    /// gives the correctly rounded value (Clinger's fast path, as `strtod` itself takes). Nil for
    /// any other text, which `strtod` reads.
    public static func read(_ buffer: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Double? {
        guard from >= 0, from < to, to <= buffer.count else { return nil }
        var index = from
        var negative = false
        if buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
            negative = buffer[index] == UInt8(ascii: "-")
            index += 1
        }
        var significand: UInt64 = 0
        var significantDigits = 0
        var integerDigits = 0
        var fractionDigits = 0
        var point = false
        while index < to {
            let byte = buffer[index]
            if byte == UInt8(ascii: ".") {
                guard !point else { return nil }
                point = true
            } else {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                if point { fractionDigits += 1 } else { integerDigits += 1 }
                if significand > 0 || digit > 0 { significantDigits += 1 }
                guard significantDigits <= 15 else { return nil }
                significand = significand * 10 + UInt64(digit)
            }
            index += 1
        }
        // `5.` and `.5` are numbers to strtod too; they are left to it.
        guard integerDigits > 0, !point || fractionDigits > 0, fractionDigits <= 22 else { return nil }
        let magnitude = Double(significand) / powersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }
}
