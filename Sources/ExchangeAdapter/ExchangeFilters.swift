import Foundation

/// One symbol's trading rules as the exchange publishes them in `GET /api/v3/exchangeInfo`, and
/// the checks a MARKET order must pass before it is sent. Pure: no I/O, no clock.
///
/// The filters read (Binance spot, `filters.md`): `LOT_SIZE` and `MARKET_LOT_SIZE` (`minQty`,
/// `maxQty`, `stepSize`), `NOTIONAL` (`minNotional` with `applyMinToMarket`, `maxNotional` with
/// `applyMaxToMarket`), the older `MIN_NOTIONAL` (`minNotional` with `applyToMarket`); and the
/// symbol's `status`, `quoteOrderQtyMarketAllowed` and `quoteAssetPrecision`. Amounts are in the
/// symbol's own units: quantities in the base asset, notionals in the quote asset.
public struct ExchangeFilters: Sendable, Equatable {
    /// `LOT_SIZE` or `MARKET_LOT_SIZE`. A zero `maxQty` or `stepSize` disables that rule.
    public struct LotSize: Sendable, Equatable {
        public var minQty: Decimal
        public var maxQty: Decimal
        public var stepSize: Decimal

        public init(minQty: Decimal, maxQty: Decimal, stepSize: Decimal) {
            self.minQty = minQty
            self.maxQty = maxQty
            self.stepSize = stepSize
        }
    }

    /// `NOTIONAL` (min and max, each applied to MARKET orders when its flag says so) or
    /// `MIN_NOTIONAL` (a minimum only, `applyToMarket`), told apart by `filterType`.
    public struct Notional: Sendable, Equatable {
        public var filterType: String
        public var minNotional: Decimal
        public var applyMinToMarket: Bool
        public var maxNotional: Decimal
        public var applyMaxToMarket: Bool

        public init(filterType: String, minNotional: Decimal, applyMinToMarket: Bool, maxNotional: Decimal = 0, applyMaxToMarket: Bool = false) {
            self.filterType = filterType
            self.minNotional = minNotional
            self.applyMinToMarket = applyMinToMarket
            self.maxNotional = maxNotional
            self.applyMaxToMarket = applyMaxToMarket
        }
    }

    public var symbol: String
    public var status: String
    public var baseAsset: String
    public var quoteAsset: String
    /// Decimal places a quote amount (`quoteOrderQty`) may have.
    public var quoteAssetPrecision: Int
    public var quoteOrderQtyMarketAllowed: Bool
    public var lotSize: LotSize
    public var marketLotSize: LotSize?
    /// `NOTIONAL` and/or `MIN_NOTIONAL`, as listed.
    public var notionals: [Notional]

    public init(
        symbol: String,
        status: String,
        baseAsset: String,
        quoteAsset: String,
        quoteAssetPrecision: Int,
        quoteOrderQtyMarketAllowed: Bool,
        lotSize: LotSize,
        marketLotSize: LotSize? = nil,
        notionals: [Notional] = []
    ) {
        self.symbol = symbol
        self.status = status
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
        self.quoteAssetPrecision = quoteAssetPrecision
        self.quoteOrderQtyMarketAllowed = quoteOrderQtyMarketAllowed
        self.lotSize = lotSize
        self.marketLotSize = marketLotSize
        self.notionals = notionals
    }

    /// A filter the order would fail: its name and the allowed value, e.g.
    /// `NOTIONAL: at least 5 USDT (asked 1.2)`.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var filter: String
        public var detail: String
        public var description: String { "\(filter): \(detail)" }
    }

    /// The step a MARKET quantity is rounded to: `MARKET_LOT_SIZE`'s, or `LOT_SIZE`'s when that is 0.
    public var marketStep: Decimal {
        if let market = marketLotSize, market.stepSize > 0 { return market.stepSize }
        return lotSize.stepSize
    }

    /// The smallest base quantity a MARKET order may have (the larger of both lot filters' minimum).
    public var marketMinQty: Decimal { max(lotSize.minQty, marketLotSize?.minQty ?? 0) }

    /// A MARKET order for `quoteAmount` of the quote asset (`quoteOrderQty`), at `markPrice` (quote
    /// per base) for the quantity it is expected to buy or sell; nil when it passes every filter.
    public func checkQuoteOrder(quoteAmount: Decimal, markPrice: Decimal) -> Refusal? {
        if let refusal = checkTradable() { return refusal }
        guard quoteOrderQtyMarketAllowed else {
            return Refusal(filter: "quoteOrderQtyMarketAllowed", detail: "false for \(symbol): MARKET orders by quote amount are not accepted")
        }
        if let refusal = checkNotional(quoteAmount, asked: "asked \(quoteAmount)") { return refusal }
        guard markPrice > 0 else { return Refusal(filter: "MARKET_LOT_SIZE", detail: "no mark price to estimate the quantity of \(symbol)") }
        let expected = (quoteAmount / markPrice).rounded(places: 12, .plain)
        return checkQuantity(expected, asked: "expected \(expected) at \(markPrice)", step: false)
    }

    /// A MARKET order for `quantity` of the base asset (`quantity`), valued at `markPrice`; nil
    /// when it passes every filter, the step included.
    public func checkBaseOrder(quantity: Decimal, markPrice: Decimal) -> Refusal? {
        if let refusal = checkTradable() { return refusal }
        if let refusal = checkQuantity(quantity, asked: "asked \(quantity)", step: true) { return refusal }
        let notional = (quantity * markPrice).rounded(places: 12, .plain)
        return checkNotional(notional, asked: "asked \(quantity) at \(markPrice) = \(notional)")
    }

    /// `quantity` rounded down to the MARKET step (unchanged when no step applies).
    public func roundedDown(_ quantity: Decimal) -> Decimal {
        let step = marketStep
        guard step > 0 else { return quantity }
        return (quantity / step).rounded(places: 0, .down) * step
    }

    /// Whether a base `quantity` at `markPrice` is too small to be sold on its own: below the
    /// MARKET minimum quantity, nothing after rounding down to the step, or below a minimum notional.
    public func isDust(_ quantity: Decimal, markPrice: Decimal) -> Bool {
        guard quantity > 0 else { return false }
        let sellable = roundedDown(quantity)
        guard sellable > 0, sellable >= marketMinQty else { return true }
        let notional = sellable * markPrice
        return notionals.contains { $0.applyMinToMarket && notional < $0.minNotional }
    }

    /// `quoteAmount` rounded down to the quote asset's precision (what `quoteOrderQty` may carry).
    public func quoteRoundedDown(_ quoteAmount: Decimal) -> Decimal {
        quoteAmount.rounded(places: quoteAssetPrecision, .down)
    }

    // MARK: the rules

    private func checkTradable() -> Refusal? {
        status == "TRADING" ? nil : Refusal(filter: "status", detail: "\(symbol) is \(status), not TRADING")
    }

    private func checkNotional(_ notional: Decimal, asked: @autoclosure () -> String) -> Refusal? {
        for filter in notionals {
            if filter.applyMinToMarket, notional < filter.minNotional {
                return Refusal(filter: filter.filterType, detail: "at least \(filter.minNotional) \(quoteAsset) (\(asked()))")
            }
            if filter.applyMaxToMarket, filter.maxNotional > 0, notional > filter.maxNotional {
                return Refusal(filter: filter.filterType, detail: "at most \(filter.maxNotional) \(quoteAsset) (\(asked()))")
            }
        }
        return nil
    }

    private func checkQuantity(_ quantity: Decimal, asked: @autoclosure () -> String, step: Bool) -> Refusal? {
        for (name, lot) in [("MARKET_LOT_SIZE", marketLotSize), ("LOT_SIZE", lotSize)] {
            guard let lot else { continue }
            if quantity < lot.minQty {
                return Refusal(filter: name, detail: "at least \(lot.minQty) \(baseAsset) (\(asked()))")
            }
            if lot.maxQty > 0, quantity > lot.maxQty {
                return Refusal(filter: name, detail: "at most \(lot.maxQty) \(baseAsset) (\(asked()))")
            }
        }
        if step, marketStep > 0, roundedDown(quantity) != quantity {
            let name = (marketLotSize?.stepSize ?? 0) > 0 ? "MARKET_LOT_SIZE" : "LOT_SIZE"
            return Refusal(filter: name, detail: "a multiple of \(marketStep) \(baseAsset) (\(asked()))")
        }
        return nil
    }
}

extension Decimal {
    /// Rounded to `places` decimals in `mode`.
    func rounded(places: Int, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, places, mode)
        return result
    }
}
