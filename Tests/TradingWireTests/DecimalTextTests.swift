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
}
