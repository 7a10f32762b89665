import Foundation
import TradingWire

/// Cash and positions in decimal, marked to the latest prices; tracks peak equity and drawdown.
/// Positions are signed: a sell beyond the position opens a short.
public struct Portfolio: Sendable, Equatable {
    public struct Position: Sendable, Equatable {
        public var quantity: Decimal = 0
        public var averagePrice: Decimal = 0
        public var realizedPnl: Decimal = 0
        /// The part of `quantity` the exchange cannot trade, left by a sell that closed the
        /// position (below the step or a minimum): shown as dust, not as an open position; the
        /// next fill in the symbol makes it part of the position again.
        public var dust: Decimal = 0

        public init(quantity: Decimal = 0, averagePrice: Decimal = 0, realizedPnl: Decimal = 0, dust: Decimal = 0) {
            self.quantity = quantity
            self.averagePrice = averagePrice
            self.realizedPnl = realizedPnl
            self.dust = dust
        }
    }

    public private(set) var cash: Decimal
    public private(set) var positions: [String: Position] = [:]
    public private(set) var marks: [String: Decimal] = [:]
    public private(set) var peakEquity: Decimal {
        didSet { if !oldValue.isIdentical(to: peakEquity) { peakEquityValue = peakEquity.doubleValue } }
    }
    /// Commissions in assets with no USD mark yet, by asset: taken from cash (at that asset's
    /// mark) as soon as a `<ASSET>USDT`-like price arrives.
    public private(set) var feesOwed: [String: Decimal] = [:]
    /// Cash plus every position at its mark (at its average price while no mark is known). Kept
    /// by every change (the only ones are `mark` and `apply`), so reading it costs nothing: the
    /// risk engine reads it for the peak, the drawdown and the daily loss on every mark.
    public private(set) var equity: Decimal {
        didSet { if !oldValue.isIdentical(to: equity) { equityValue = equity.doubleValue } }
    }
    /// `equity.doubleValue`, converted once per change (for ratios and charts, never for sums).
    public private(set) var equityValue: Double
    /// `peakEquity.doubleValue`, converted once per change.
    private var peakEquityValue: Double

    public init(startingCash: Decimal) {
        cash = startingCash
        peakEquity = startingCash
        equity = startingCash
        equityValue = startingCash.doubleValue
        peakEquityValue = equityValue
    }

    /// Restores a saved state.
    public init(
        cash: Decimal,
        positions: [String: Position],
        marks: [String: Decimal],
        peakEquity: Decimal,
        feesOwed: [String: Decimal] = [:]
    ) {
        self.cash = cash
        self.positions = positions
        self.marks = marks
        self.peakEquity = peakEquity
        self.feesOwed = feesOwed
        equity = Self.equity(cash: cash, positions: positions, marks: marks)
        equityValue = equity.doubleValue
        peakEquityValue = peakEquity.doubleValue
    }

    /// Equal accounts: the amounts, positions, marks and fees owed (the drawdown follows from them).
    public static func == (lhs: Portfolio, rhs: Portfolio) -> Bool {
        lhs.cash == rhs.cash && lhs.positions == rhs.positions && lhs.marks == rhs.marks && lhs.peakEquity == rhs.peakEquity
            && lhs.feesOwed == rhs.feesOwed && lhs.equity == rhs.equity
    }

    static func equity(cash: Decimal, positions: [String: Position], marks: [String: Decimal]) -> Decimal {
        positions.reduce(cash) { sum, entry in
            let price = marks[entry.key] ?? entry.value.averagePrice
            // A flat position adds nothing: Foundation's product with a zero is a zero, and a sum
            // with a zero is the other operand unchanged, so `sum` itself is the result (a NaN
            // price still goes through the arithmetic, which makes the sum NaN).
            if entry.value.quantity.isZero && !price.isNaN { return sum }
            return sum + entry.value.quantity * price
        }
    }

    /// `peakEquity = max(peakEquity, equity)`, without assigning the peak to itself.
    private mutating func raisePeak() {
        // `max(x, y)` is `y >= x ? y : x`: an equal equity replaces the peak (the same value,
        // possibly written otherwise), as it did.
        if !(equity < peakEquity) { peakEquity = equity }
    }

    /// Sum of absolute position values at their marks.
    public var grossExposure: Decimal {
        positions.reduce(Decimal(0)) { sum, entry in
            let value = entry.value.quantity * (marks[entry.key] ?? entry.value.averagePrice)
            return sum + (value < 0 ? -value : value)
        }
    }

    /// Fraction of equity below its peak, 0...1.
    public var drawdown: Double {
        // At or above the peak there is no drawdown: no division needed.
        guard peakEquity > 0, equity < peakEquity else { return 0 }
        let fraction = ((peakEquity - equity) / peakEquity).doubleValue
        return max(0, fraction)
    }

    /// `drawdown >= limit`, without the decimal division while the drawdown, estimated from the
    /// equity and its peak as doubles (an error below 1e-15), is clearly below the limit: the risk
    /// engine asks on every mark.
    public func drawdownReaches(_ limit: Double) -> Bool {
        if peakEquityValue > 0, (peakEquityValue - equityValue) / peakEquityValue < limit - 1e-9 { return false }
        return drawdown >= limit
    }

    /// The value of the position in `symbol` at its mark.
    public func positionValue(_ symbol: String) -> Decimal {
        guard let position = positions[symbol] else { return 0 }
        return position.quantity * (marks[symbol] ?? position.averagePrice)
    }

    /// A new price for a symbol; raises the peak if equity reached a new high.
    public mutating func mark(_ symbol: String, price: Decimal) {
        marks[symbol] = price
        if !feesOwed.isEmpty, let pair = TradingPair(symbol: symbol), let owed = feesOwed.removeValue(forKey: pair.base) {
            cash -= (owed * price).rounded(scale: 8)
        }
        equity = Self.equity(cash: cash, positions: positions, marks: marks)
        raisePeak()
    }

    /// The USD value of a commission charged in `asset` on a fill of `symbol` at `price`: the
    /// quote asset counts as dollars, the base asset at the fill's own price, any other asset at
    /// its latest USD mark; nil when no such mark is known.
    public func usdValue(ofCommission amount: Decimal, in asset: String, symbol: String, price: Decimal) -> Decimal? {
        if TradingPair.usdQuotes.contains(asset) { return amount }
        // The base asset at the fill's price (in USD: the account's prices are), a non-USD quote at its mark.
        if let pair = TradingPair(anyQuote: symbol), asset == pair.base { return (amount * price).rounded(scale: 8) }
        guard let mark = TradingPair.usdSymbols(of: asset).lazy.compactMap({ self.marks[$0] }).first else { return nil }
        return (amount * mark).rounded(scale: 8)
    }

    /// Books a fill with its commissions in other assets: each is converted to USD and paid with
    /// the fee when its price is known, and owed (`feesOwed`) until then.
    public mutating func apply(symbol: String, side: Side, fill: Fill) {
        var fee = fill.fee
        for (asset, amount) in (fill.commissions ?? [:]).sorted(by: { $0.key < $1.key }) where amount > 0 {
            if let usd = usdValue(ofCommission: amount, in: asset, symbol: symbol, price: fill.price) {
                fee += usd
            } else {
                feesOwed[asset, default: 0] += amount
            }
        }
        apply(symbol: symbol, side: side, quantity: fill.quantity, price: fill.price, fee: fee)
        if fill.dust != nil, let left = positions[symbol]?.quantity, left > 0 { positions[symbol]?.dust = left }
    }

    /// Books a fill: cash moves by the notional and the fee; the position's average price and
    /// realized PnL follow (average cost; closing part realizes against the average).
    public mutating func apply(symbol: String, side: Side, quantity: Decimal, price: Decimal, fee: Decimal) {
        let signed = side == .buy ? quantity : -quantity
        cash -= signed * price
        cash -= fee
        var position = positions[symbol] ?? Position()
        let old = position.quantity
        let new = old + signed
        if signed == 0 {
            // A zero fill (Fill refuses those): nothing to blend or realise.
        } else if old == 0 || (old > 0) == (signed > 0) {
            // Opening or adding: blend the average price.
            position.averagePrice = ((old * position.averagePrice + signed * price) / new).rounded(scale: 8)
        } else {
            // Reducing, closing or flipping: realize against the average on the closed part.
            let closed = min(abs(old), abs(signed))
            let direction: Decimal = old > 0 ? 1 : -1
            position.realizedPnl += (closed * (price - position.averagePrice) * direction).rounded(scale: 8)
            if new == 0 {
                position.averagePrice = 0
            } else if (new > 0) != (old > 0) {
                position.averagePrice = price
            }
        }
        position.realizedPnl -= fee
        position.quantity = new
        position.dust = 0
        positions[symbol] = position
        if marks[symbol] == nil { marks[symbol] = price }
        equity = Self.equity(cash: cash, positions: positions, marks: marks)
        raisePeak()
    }

    /// The first amount that is not a number (NaN), named, or nil when every amount is one:
    /// the ledger refuses to write an account that fails this.
    public var nonFiniteAmount: String? {
        if cash.isNaN { return "cash" }
        if peakEquity.isNaN { return "peak equity" }
        for (symbol, position) in positions
        where position.quantity.isNaN || position.averagePrice.isNaN || position.realizedPnl.isNaN || position.dust.isNaN {
            return "the position in \(symbol)"
        }
        for (symbol, mark) in marks where mark.isNaN || mark <= 0 { return "the mark of \(symbol)" }
        for (asset, owed) in feesOwed where owed.isNaN || owed < 0 { return "the fee owed in \(asset)" }
        return nil
    }

    /// The account as `/health` and the wire show it.
    public var snapshot: AccountSnapshot {
        let positionSnapshots = positions.keys.sorted().compactMap { symbol -> PositionSnapshot? in
            guard let position = positions[symbol] else { return nil }
            let mark = marks[symbol]
            let unrealized = mark.map { (position.quantity * ($0 - position.averagePrice)).rounded(scale: 8) } ?? 0
            return PositionSnapshot(
                symbol: symbol,
                quantity: position.quantity - position.dust,
                averagePrice: position.averagePrice,
                markPrice: mark,
                realizedPnl: position.realizedPnl,
                unrealizedPnl: unrealized,
                dust: position.dust > 0 ? position.dust : nil
            )
        }
        return AccountSnapshot(
            cash: cash.rounded(scale: 8),
            equity: equity.rounded(scale: 8),
            peakEquity: peakEquity.rounded(scale: 8),
            drawdown: drawdown,
            grossExposure: grossExposure.rounded(scale: 8),
            realizedPnl: positionSnapshots.reduce(0) { $0 + $1.realizedPnl },
            unrealizedPnl: positionSnapshots.reduce(0) { $0 + $1.unrealizedPnl },
            positions: positionSnapshots,
            feesOwed: feesOwed.isEmpty ? nil : feesOwed
        )
    }
}

extension Order {
    /// The first amount of this order that is not a number, named, or nil.
    public var nonFiniteAmount: String? {
        if intent.qtyUsd.isNaN { return "order \(intent.clientOrderId) notional" }
        if let terms, terms.markPrice.isNaN || terms.slippageBps.isNaN || terms.feeBps.isNaN || terms.quoteMarkUsd?.isNaN == true {
            return "order \(intent.clientOrderId) terms"
        }
        if let fill, fill.price.isNaN || fill.quantity.isNaN || fill.notional.isNaN || fill.fee.isNaN { return "order \(intent.clientOrderId) fill" }
        return nil
    }
}

private func abs(_ value: Decimal) -> Decimal { value < 0 ? -value : value }
