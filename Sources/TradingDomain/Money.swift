import Foundation
import TradingWire

extension Decimal {
    /// Rounded half-up to `scale` decimal places.
    public func rounded(scale: Int) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, .plain)
        return result
    }

    /// A finite binary float as a decimal rounded to `scale` places, via its shortest decimal text,
    /// so that 0.1 becomes exactly 0.1.
    public init?(exactly double: Double, scale: Int) {
        guard double.isFinite else { return nil }
        let text = "\(double)"
        guard let parsed = Self.plainDecimal(text) ?? Decimal(string: text) else { return nil }
        // With no more places than `scale`, rounding gives the number back as it is (the
        // backtest converts every close): it is not asked then; with more, a plain decimal is
        // rounded on its digits, as Foundation rounds and compacts it.
        if parsed.exponent >= -scale {
            self = parsed
        } else {
            self = Self.plainDecimal(text, roundedTo: scale) ?? parsed.rounded(scale: scale)
        }
    }

    /// `plainDecimal(text)?.rounded(scale:)` for a text with more than `scale` decimals, byte
    /// for byte: half up on the digits (the first dropped digit 5 or more rounds the magnitude
    /// up), then the trailing zeros taken into the exponent, as `NSDecimalRound` compacts its
    /// result. Nil for anything else (no more than `scale` decimals, over 19 digits, a result of
    /// zero), which `rounded(scale:)` handles.
    static func plainDecimal(_ text: String, roundedTo scale: Int) -> Decimal? {
        guard let (negative, significand, fractionDigits) = plainDigits(text), scale >= 0, fractionDigits > scale else { return nil }
        var divisor: UInt64 = 1
        for _ in 0..<(fractionDigits - scale - 1) { divisor *= 10 }
        let firstDropped = significand / divisor % 10
        var kept = significand / divisor / 10
        if firstDropped >= 5 { kept += 1 }
        guard kept > 0 else { return nil }
        var exponent = -scale
        while kept % 10 == 0 {
            kept /= 10
            exponent += 1
        }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: Decimal(kept))
    }

    /// `-123.456` written without an exponent and with at most 19 digits, read digit by digit
    /// (Foundation's parser is the slow part of marking a price); nil for anything else, which
    /// `Decimal(string:)` reads instead.
    static func plainDecimal(_ text: String) -> Decimal? {
        guard let (negative, significand, fractionDigits) = plainDigits(text) else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: -fractionDigits, significand: Decimal(significand))
    }

    /// The same bytes: a decimal that did not change at all (not merely equal in value; a
    /// numerically equal one may be written otherwise).
    func isIdentical(to other: Decimal) -> Bool {
        withUnsafeBytes(of: self) { left in
            withUnsafeBytes(of: other) { right in
                guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return left.count == right.count }
                return left.count == right.count && memcmp(leftBase, rightBase, left.count) == 0
            }
        }
    }

    /// For ratios and logs only, never for sums of money.
    public var doubleValue: Double { NSDecimalNumber(decimal: self).doubleValue }
}

/// Simulated fills with slippage and fees, in decimal.
public enum PaperFill {
    /// Fills `notional` (quote currency) at `markPrice` moved against the taker by `slippageBps`;
    /// the fee is `feeBps` of the filled notional. Price, quantity and money to 8 places.
    /// Throws `order_too_small` (422) when the price or the quantity rounds to zero.
    public static func fill(
        side: Side,
        notional: Decimal,
        markPrice: Decimal,
        slippageBps: Decimal,
        feeBps: Decimal,
        at time: Int64
    ) throws(WireError) -> Fill {
        let slip = markPrice * slippageBps * .basisPoint
        let price = (side == .buy ? markPrice + slip : markPrice - slip).rounded(scale: 8)
        guard !price.isNaN, price > 0 else {
            throw WireError(code: "order_too_small", detail: "the price \(markPrice) rounds to zero at 8 decimal places", status: 422)
        }
        let quantity = (notional / price).rounded(scale: 8)
        guard !quantity.isNaN, quantity > 0 else {
            throw WireError(
                code: "order_too_small",
                detail: "\(notional) USD at \(price) is a quantity that rounds to zero at 8 decimal places",
                status: 422
            )
        }
        let filledNotional = (quantity * price).rounded(scale: 8)
        let fee = (filledNotional * feeBps * .basisPoint).rounded(scale: 8)
        return try Fill(price: price, quantity: quantity, notional: filledNotional, fee: fee, dryRun: true, filledAt: time)
    }
}

extension Decimal {
    /// One basis point, 0.0001. `x * .basisPoint` equals `x / 10_000` exactly (only the exponent
    /// moves) and costs a fraction of it: Foundation divides at full precision, then strips the
    /// quotient's trailing zeros one by one.
    public static let basisPoint = Decimal(sign: .plus, exponent: -4, significand: 1)

    /// True when this is a number (Foundation's `Decimal` has NaN but no infinities).
    public var isUsable: Bool { !isNaN }
}
