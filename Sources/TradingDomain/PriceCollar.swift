import Foundation
import TradingWire

/// The price collar (`MAX_PRICE_DEVIATION_BPS`): an order whose price (a limit price, or the
/// price a market order is expected to fill at) lies further than the collar from the mark is
/// refused. Pure: the caller picks the prices, so market and (later) limit orders share it.
public enum PriceCollar {
    /// An order price outside the collar.
    public struct Breach: Sendable, Equatable {
        public var side: Side
        public var price: Double
        public var mark: Double
        /// How far `price` is from `mark`, in basis points of the mark.
        public var deviationBps: Double
        public var maxDeviationBps: Double

        /// The refusal's sentence, naming both prices.
        public var detail: String {
            "the \(side.rawValue) price \(price) is \(String(format: "%.1f", deviationBps)) bps from the mark \(mark), "
                + "beyond the collar of \(String(format: "%.0f", maxDeviationBps)) bps (MAX_PRICE_DEVIATION_BPS)"
        }
    }

    /// The breach when `price` is more than `maxDeviationBps` from `mark` (either way), else nil.
    /// A price or mark that is not a finite positive number is a breach too (fail closed).
    public static func check(side: Side, price: Double, mark: Double, maxDeviationBps: Double) -> Breach? {
        guard price.isFinite, mark.isFinite, price > 0, mark > 0 else {
            return Breach(side: side, price: price, mark: mark, deviationBps: .infinity, maxDeviationBps: maxDeviationBps)
        }
        let deviation = abs(price - mark) / mark * 10_000
        guard deviation > maxDeviationBps else { return nil }
        return Breach(side: side, price: price, mark: mark, deviationBps: deviation, maxDeviationBps: maxDeviationBps)
    }

    /// What a market order is judged by: the mark is the last close (the mid of the book when no
    /// candle is held), the expected price the best ask for a buy and the best bid for a sell
    /// when a fresh book is known, else the last close. Nil when neither is known.
    public static func marketPrices(side: Side, lastClose: Double?, book: (bid: Double, ask: Double)?) -> (expected: Double, mark: Double)? {
        let mid = book.map { ($0.bid + $0.ask) / 2 }
        guard let mark = lastClose ?? mid else { return nil }
        let expected = book.map { side == .buy ? $0.ask : $0.bid } ?? mark
        return (expected, mark)
    }
}
