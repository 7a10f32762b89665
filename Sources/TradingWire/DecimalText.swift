import Foundation

extension Decimal {
    /// `Decimal(string:)`'s value, bit for bit, for `-123.456` written without an exponent with 1
    /// to 19 digits, not zero, read digit by digit (Foundation's parser is the slow part of
    /// reading an amount). Nil for anything else, which `Decimal(string:)` reads instead (its
    /// zeros keep the exponent they were written with, `0.000`).
    /// `DecimalTextTests` holds it to `Decimal(string:)` over edge cases and 200,000 random texts.
    public init?(plainLiteral text: String) {
        guard let (negative, significand, fractionDigits) = Self.plainDigits(text), significand != 0 else { return nil }
        self.init(sign: negative ? .minus : .plus, exponent: -fractionDigits, significand: Decimal(significand))
    }

    /// The sign, the digits as an integer and the count of decimals of `-123.456` written
    /// without an exponent, with 1 to 19 digits; nil for anything else.
    public static func plainDigits(_ text: String) -> (negative: Bool, significand: UInt64, fractionDigits: Int)? {
        var significand: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var point = false
        var negative = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where index == 0:
                negative = true
            case UInt8(ascii: ".") where !point:
                point = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 19 else { return nil }
                significand = significand * 10 + UInt64(byte - UInt8(ascii: "0"))
                if point { fractionDigits += 1 }
            default:
                return nil
            }
        }
        guard digits > 0 else { return nil }
        return (negative, significand, fractionDigits)
    }

    /// Significands below this (at most 18 digits) are written digit by digit; larger ones, and
    /// NaN, by `description`.
    private static let digitByDigitLimit = Decimal(1_000_000_000_000_000_000 as UInt64)

    /// The same text as `description` (what Foundation's JSON encoder writes for an amount, and
    /// what the ledger stores), about five times faster for the amounts of a trading system:
    /// the significand's digits, placed around the decimal point by the exponent.
    /// `DecimalTextTests` holds it to `description` over edge cases and 100,000 random amounts.
    public var plainText: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendPlainText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `plainText` to `bytes`, without making a `String`.
    public func appendPlainText(to bytes: inout [UInt8]) {
        guard !isNaN, case let significand = self.significand, significand < Self.digitByDigitLimit else {
            bytes.append(contentsOf: description.utf8)
            return
        }
        var rest = NSDecimalNumber(decimal: significand).uint64Value
        guard rest != 0 else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if sign == .minus { bytes.append(UInt8(ascii: "-")) }
        // The digits, most significant first, in a buffer on the stack.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var start = buffer.count
            while rest > 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            let digits = UnsafeBufferPointer(rebasing: buffer[start...])
            let exponent = self.exponent
            if exponent >= 0 {
                bytes.append(contentsOf: digits)
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: exponent))
                return
            }
            let point = digits.count + exponent
            if point > 0 {
                bytes.append(contentsOf: digits[..<point])
                bytes.append(UInt8(ascii: "."))
                bytes.append(contentsOf: digits[point...])
            } else {
                bytes.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point))
                bytes.append(contentsOf: digits)
            }
        }
    }
}
