import Foundation
import Hummingbird
import NIOCore

/// `GET /api/v3/exchangeInfo` and the filters `POST /api/v3/order` enforces, as Binance's spot
/// documentation describes them (`filters.md`, `errors.md`): a MARKET order by `quoteOrderQty`
/// must pass NOTIONAL (`applyMinToMarket`), and the quantity it buys MARKET_LOT_SIZE and LOT_SIZE;
/// one by `quantity` must also be a multiple of the step. A failure is HTTP 400 with -1013
/// `Filter failure: <FILTER>`; an unknown symbol -1121 `Invalid symbol.`; a symbol that is not
/// TRADING, or that takes no `quoteOrderQty`, -2010 with Binance's message.
extension FakeExchange {
    /// One symbol as the stand-in lists it.
    struct SymbolRules: Sendable {
        var base: String
        var quote: String
        var status = "TRADING"
        var quoteOrderQtyMarketAllowed = true
        var quoteAssetPrecision = 8
        var minQty: Decimal = Decimal(string: "0.00001")!
        var maxQty: Decimal = 9_000_000
        var stepSize: Decimal = Decimal(string: "0.00001")!
        var marketMinQty: Decimal = 0
        var marketMaxQty: Decimal = 9_000_000
        var marketStepSize: Decimal = 0
        var minNotional: Decimal = 5
        var applyMinToMarket = true
        var maxNotional: Decimal = 9_000_000
        var applyMaxToMarket = false
    }

    /// Filters under which every order the other live tests send passes.
    static let defaultSymbols: [String: SymbolRules] = [
        "BTCUSDT": SymbolRules(base: "BTC", quote: "USDT"),
        "BNBUSDT": SymbolRules(base: "BNB", quote: "USDT"),
        "ETHBTC": SymbolRules(
            base: "ETH",
            quote: "BTC",
            minQty: Decimal(string: "0.0001")!,
            stepSize: Decimal(string: "0.0001")!,
            minNotional: Decimal(string: "0.0001")!
        ),
    ]

    func exchangeInfo(_ request: Request) -> Response {
        let (override, rules) = state.withLock { state -> (String?, [String: SymbolRules]) in
            state.exchangeInfoCalls += 1
            return (state.exchangeInfoBody, state.symbols)
        }
        if let override {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: override)))
        }
        var names = rules.keys.sorted()
        if let list = request.uri.queryParameters.get("symbols") {
            guard let asked = try? JSONDecoder().decode([String].self, from: Data(list.utf8)) else {
                return Refusal(status: 400, code: -1100, message: "Illegal characters found in parameter 'symbols'.").response
            }
            names = asked
        } else if let one = request.uri.queryParameters.get("symbol") {
            names = [one]
        }
        guard names.allSatisfy({ rules[$0] != nil }) else { return Refusal(status: 400, code: -1121, message: "Invalid symbol.").response }
        let symbols = names.compactMap { name in rules[name].map { Self.symbolJSON(name, $0) } }
        let body: [String: Any] = [
            "timezone": "UTC", "serverTime": Int64(Date().timeIntervalSince1970 * 1000), "exchangeFilters": [] as [Any], "symbols": symbols,
            "rateLimits": rateLimitsJSON,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func symbolJSON(_ name: String, _ rules: SymbolRules) -> [String: Any] {
        [
            "symbol": name, "status": rules.status, "baseAsset": rules.base, "baseAssetPrecision": 8, "quoteAsset": rules.quote,
            "quotePrecision": rules.quoteAssetPrecision, "quoteAssetPrecision": rules.quoteAssetPrecision, "orderTypes": ["LIMIT", "MARKET"],
            "quoteOrderQtyMarketAllowed": rules.quoteOrderQtyMarketAllowed, "isSpotTradingAllowed": true, "permissionSets": [["SPOT"]],
            "filters": [
                ["filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"],
                ["filterType": "LOT_SIZE", "minQty": "\(rules.minQty)", "maxQty": "\(rules.maxQty)", "stepSize": "\(rules.stepSize)"],
                [
                    "filterType": "MARKET_LOT_SIZE", "minQty": "\(rules.marketMinQty)", "maxQty": "\(rules.marketMaxQty)",
                    "stepSize": "\(rules.marketStepSize)",
                ],
                [
                    "filterType": "NOTIONAL", "minNotional": "\(rules.minNotional)", "applyMinToMarket": rules.applyMinToMarket,
                    "maxNotional": "\(rules.maxNotional)", "applyMaxToMarket": rules.applyMaxToMarket, "avgPriceMins": 5,
                ],
            ] as [[String: Any]],
        ]
    }

    /// The refusal Binance gives a MARKET order for `symbol` sized by `quote` (quote asset) or
    /// `quantity` (base asset), filled at `price`; nil when it passes.
    func filterRefusal(symbol: String, quote: Decimal?, quantity: Decimal?, price: Decimal) -> Refusal? {
        guard let rules = state.withLock({ $0.symbols[symbol] }) else { return Refusal(status: 400, code: -1121, message: "Invalid symbol.") }
        guard rules.status == "TRADING" else { return Refusal(status: 400, code: -2010, message: "Market is closed.") }
        if quote != nil, !rules.quoteOrderQtyMarketAllowed {
            return Refusal(status: 400, code: -2010, message: "Quote order qty market orders are not support for this symbol.")
        }
        let filled = quantity ?? (quote ?? 0) / price
        let notional = quote ?? filled * price
        if rules.applyMinToMarket, notional < rules.minNotional { return failure("NOTIONAL") }
        if rules.applyMaxToMarket, notional > rules.maxNotional { return failure("NOTIONAL") }
        if filled < rules.marketMinQty || (rules.marketMaxQty > 0 && filled > rules.marketMaxQty) { return failure("MARKET_LOT_SIZE") }
        if filled < rules.minQty || filled > rules.maxQty { return failure("LOT_SIZE") }
        if let quantity {
            let step = rules.marketStepSize > 0 ? rules.marketStepSize : rules.stepSize
            var ratio = quantity / step
            var whole = Decimal()
            NSDecimalRound(&whole, &ratio, 0, .down)
            if whole != ratio { return failure(rules.marketStepSize > 0 ? "MARKET_LOT_SIZE" : "LOT_SIZE") }
        }
        return nil
    }

    /// A MARKET order's size: exactly one of `quoteOrderQty` (quote asset) and `quantity` (base asset), positive.
    static func marketSize(_ parameters: [String: String]) -> (quote: Decimal?, quantity: Decimal?)? {
        let quote = parameters["quoteOrderQty"].flatMap { Decimal(string: $0) }
        let quantity = parameters["quantity"].flatMap { Decimal(string: $0) }
        guard (quote == nil) != (quantity == nil), (quote ?? quantity ?? 0) > 0 else { return nil }
        return (quote, quantity)
    }

    private func failure(_ filter: String) -> Refusal {
        Refusal(status: 400, code: -1013, message: "Filter failure: \(filter)")
    }
}
