import Foundation
import Testing
import TradingDomain
import TradingWire

/// `x * .basisPoint` stands for `x / 10_000` in the paper fills and the fill checks: the two must
/// be the same decimal, bit for bit, so that no fill, fee or ledger text moves.
@Suite("basis points")
struct BasisPointTests {
    static func bytes(_ value: Decimal) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    @Test("times one basis point is the division by 10,000, bit for bit")
    func sameAsDivision() {
        var generator = SystemRandomNumberGenerator()
        var values: [Decimal] = [
            0, 1, 10, 10_000, Decimal(string: "0.00000001")!, Decimal(string: "123456789.12345678")!, Decimal(string: "99999999999999999999")!,
        ]
        for _ in 0..<50_000 {
            let significand = UInt64.random(in: 1...999_999_999_999, using: &generator)
            let exponent = Int.random(in: -12...4, using: &generator)
            values.append(Decimal(sign: Bool.random(using: &generator) ? .plus : .minus, exponent: exponent, significand: Decimal(significand)))
        }
        var mismatches: [String] = []
        for value in values {
            let divided = value / 10_000
            let multiplied = value * .basisPoint
            if divided != multiplied || Self.bytes(divided) != Self.bytes(multiplied) || divided.description != multiplied.description {
                mismatches.append("\(value): \(divided) against \(multiplied)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("a paper fill is the one the division made")
    func paperFillUnchanged() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let mark = Decimal(
                sign: .plus,
                exponent: -Int.random(in: 0...8, using: &generator),
                significand: Decimal(UInt64.random(in: 1...9_999_999_999, using: &generator))
            )
            let slippage = Decimal(
                sign: .plus,
                exponent: -Int.random(in: 0...2, using: &generator),
                significand: Decimal(Int.random(in: 0...50_000, using: &generator))
            )
            let fee = Decimal(
                sign: .plus,
                exponent: -Int.random(in: 0...2, using: &generator),
                significand: Decimal(Int.random(in: 0...10_000, using: &generator))
            )
            let notional = Decimal(
                sign: .plus,
                exponent: -Int.random(in: 0...2, using: &generator),
                significand: Decimal(Int.random(in: 1_000...100_000_000, using: &generator))
            )
            let side: Side = Bool.random(using: &generator) ? .buy : .sell
            guard let fill = try? PaperFill.fill(side: side, notional: notional, markPrice: mark, slippageBps: slippage, feeBps: fee, at: 0) else {
                continue
            }
            // The formula as it was written with divisions.
            let slip = mark * slippage / 10_000
            let price = (side == .buy ? mark + slip : mark - slip).rounded(scale: 8)
            let quantity = (notional / price).rounded(scale: 8)
            let filled = (quantity * price).rounded(scale: 8)
            let charged = (filled * fee / 10_000).rounded(scale: 8)
            #expect(Self.bytes(fill.price) == Self.bytes(price), "price \(fill.price) against \(price)")
            #expect(Self.bytes(fill.quantity) == Self.bytes(quantity))
            #expect(Self.bytes(fill.notional) == Self.bytes(filled))
            #expect(Self.bytes(fill.fee) == Self.bytes(charged), "fee \(fill.fee) against \(charged)")
        }
    }
}
