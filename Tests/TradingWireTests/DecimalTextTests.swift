import Foundation
import Testing
import TradingWire

/// `Decimal.plainText` is the fast writer of every amount on the wire and in the ledger: it must
/// be `description`, character for character.
@Suite("amounts as text")
struct DecimalTextTests {
    @Test("edge cases: zero, signs, trailing zeros, tiny and huge exponents, 18 and more digits, NaN")
    func edgeCases() throws {
        let texts = [
            "0", "-0", "1", "-1", "10", "1000", "5e10", "-0.3", "0.000001", "1e-20", "1.000", "100.5000", "112.12345678",
            "123456789012345678", "999999999999999999", "1000000000000000000", "1234567890123456789", "-0.00000000000000000001234",
            "12345678901234567890123", "-99999999999999999999999999999999999999", "0.1", "91500", "0.09",
        ]
        for text in texts {
            let amount = try #require(Decimal(string: text))
            #expect(amount.plainText == amount.description, "\(text)")
        }
        #expect(Decimal.nan.plainText == Decimal.nan.description)
        let sum = try #require(Decimal(string: "0.1")) + (try #require(Decimal(string: "0.2")))
        #expect(sum.plainText == sum.description)
    }

    @Test("100,000 random amounts: parsed ones of 1 to 30 digits, and quotients of up to 38")
    func randomAmounts() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50_000 {
            var digits = String(Int.random(in: 1...9, using: &generator))
            for _ in 0..<Int.random(in: 0...29, using: &generator) { digits.append(String(Int.random(in: 0...9, using: &generator))) }
            let sign = Bool.random(using: &generator) ? "-" : ""
            let parsed = try #require(Decimal(string: "\(sign)\(digits)e\(Int.random(in: -25...10, using: &generator))"))
            #expect(parsed.plainText == parsed.description)
            let quotient = Decimal(Int.random(in: -1_000_000...1_000_000, using: &generator)) / Decimal(Int.random(in: 1...10_000, using: &generator))
            #expect(quotient.plainText == quotient.description)
        }
    }

    /// The same bytes, not merely the same value.
    static func bytes(_ amount: Decimal) -> [UInt8] { withUnsafeBytes(of: amount) { Array($0) } }

    @Test("a plain literal reads as Decimal(string:) reads it, bit for bit; zeros, exponents and 20 digits are left to it")
    func plainLiterals() throws {
        let read = [
            "1", "-1", "1.50", "0.0001", "-12.3400", "100", "123456789012345678", "1234567890123456789", "9999999999999999999",
            "0.1", "1000000", "00012.5", "0.00000001", "-0.5", "91500.12345678",
        ]
        for text in read {
            let fast = try #require(Decimal(plainLiteral: text), "\(text)")
            #expect(Self.bytes(fast) == Self.bytes(try #require(Decimal(string: text))), "\(text)")
        }
        for text in ["0", "-0", "0.000", "-0.0", "00", "12345678901234567890", "1e5", "1E-2", "-", "", ".", "1.2.3", "--1", "1-", "+1", " 1", "NaN"] {
            #expect(Decimal(plainLiteral: text) == nil, "\(text)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            var text = (0..<Int.random(in: 1...19, using: &generator)).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            if Bool.random(using: &generator) {
                text.insert(".", at: text.index(text.startIndex, offsetBy: Int.random(in: 1...text.count, using: &generator)))
                if text.hasSuffix(".") { text.append("0") }
            }
            if Bool.random(using: &generator) { text = "-" + text }
            guard let fast = Decimal(plainLiteral: text) else {
                #expect(Decimal(string: text) == 0 || text.filter(\.isNumber).count > 19, "\(text) declined, not zero, 19 digits or fewer")
                continue
            }
            #expect(Self.bytes(fast) == Self.bytes(try #require(Decimal(string: text))), "\(text)")
        }
    }
}
