import Foundation

extension ExchangeFilters {
    /// Why a symbol's filters are unknown: the answer was unreadable, or its entry was.
    public struct Unknown: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Reads the body of `GET /api/v3/exchangeInfo` for `symbols`: each symbol's filters, or why
    /// they are unknown. Strict, to fail closed: the whole answer is refused when it is not a JSON
    /// object with a `symbols` array (truncated, an error body); one symbol's entry is refused when
    /// it is missing, or any field read is absent or of the wrong kind (a decimal that is not a
    /// decimal string, a negative one, a string where a flag is due). Never traps.
    public static func parse(exchangeInfo data: Data, symbols: [String]) -> [String: Result<ExchangeFilters, Unknown>] {
        let body: InfoBody
        do {
            body = try JSONDecoder().decode(InfoBody.self, from: data)
        } catch {
            let problem = Unknown("exchangeInfo is unreadable (\(data.count) bytes): not a JSON object with a symbols array")
            return Dictionary(uniqueKeysWithValues: symbols.map { ($0, .failure(problem)) })
        }
        var bySymbol: [String: Result<ExchangeFilters, Unknown>] = [:]
        for entry in body.symbols {
            guard let name = entry.symbol, bySymbol[name] == nil else { continue }
            bySymbol[name] = entry.filters
        }
        var result: [String: Result<ExchangeFilters, Unknown>] = [:]
        for symbol in symbols {
            result[symbol] = bySymbol[symbol] ?? .failure(Unknown("exchangeInfo has no entry for \(symbol)"))
        }
        return result
    }
}

/// The part of the exchangeInfo answer read: its symbols, each read on its own so that one
/// malformed entry leaves the others usable.
private struct InfoBody: Decodable {
    var symbols: [SymbolEntry]
}

private struct SymbolEntry: Decodable {
    var symbol: String?
    var filters: Result<ExchangeFilters, ExchangeFilters.Unknown>

    private enum Keys: String, CodingKey { case symbol }

    init(from decoder: any Decoder) throws {
        symbol = try? decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .symbol)
        let name = symbol ?? "a symbol"
        do {
            filters = .success(try SymbolFields(from: decoder).filters(symbol: name))
        } catch let unknown as ExchangeFilters.Unknown {
            filters = .failure(unknown)
        } catch {
            filters = .failure(ExchangeFilters.Unknown("exchangeInfo entry for \(name) is malformed: \(Self.describe(error))"))
        }
    }

    /// Which field was wrong, without the decoder's long prose.
    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong kind of value"
        case .keyNotFound(let key, let context)?:
            return "\((context.codingPath + [key]).map(\.stringValue).joined(separator: ".")) is missing"
        default:
            return "unreadable"
        }
    }
}

/// A symbol entry's fields as Binance writes them: decimals as strings, flags as JSON booleans.
private struct SymbolFields: Decodable {
    var status: String
    var baseAsset: String
    var quoteAsset: String
    var quoteAssetPrecision: Int
    var quoteOrderQtyMarketAllowed: Bool
    var filters: [FilterFields]

    func filters(symbol: String) throws(ExchangeFilters.Unknown) -> ExchangeFilters {
        guard (0...18).contains(quoteAssetPrecision) else {
            throw ExchangeFilters.Unknown("\(symbol): quoteAssetPrecision \(quoteAssetPrecision) is not 0...18")
        }
        var byType: [String: FilterFields] = [:]
        for filter in filters where byType[filter.filterType] == nil { byType[filter.filterType] = filter }
        guard let lot = byType["LOT_SIZE"] else { throw ExchangeFilters.Unknown("\(symbol): no LOT_SIZE filter") }
        var notionals: [ExchangeFilters.Notional] = []
        if let notional = byType["NOTIONAL"] {
            notionals.append(
                ExchangeFilters.Notional(
                    filterType: "NOTIONAL",
                    minNotional: try notional.decimal(\.minNotional, "minNotional", symbol),
                    applyMinToMarket: try notional.flag(\.applyMinToMarket, "applyMinToMarket", symbol),
                    maxNotional: try notional.decimal(\.maxNotional, "maxNotional", symbol),
                    applyMaxToMarket: try notional.flag(\.applyMaxToMarket, "applyMaxToMarket", symbol)
                )
            )
        }
        if let minimum = byType["MIN_NOTIONAL"] {
            notionals.append(
                ExchangeFilters.Notional(
                    filterType: "MIN_NOTIONAL",
                    minNotional: try minimum.decimal(\.minNotional, "minNotional", symbol),
                    applyMinToMarket: try minimum.flag(\.applyToMarket, "applyToMarket", symbol)
                )
            )
        }
        return ExchangeFilters(
            symbol: symbol,
            status: status,
            baseAsset: baseAsset,
            quoteAsset: quoteAsset,
            quoteAssetPrecision: quoteAssetPrecision,
            quoteOrderQtyMarketAllowed: quoteOrderQtyMarketAllowed,
            lotSize: try lot.lotSize(symbol),
            marketLotSize: try byType["MARKET_LOT_SIZE"]?.lotSize(symbol),
            notionals: notionals
        )
    }
}

/// One filter object; which fields it must have depends on its `filterType`.
private struct FilterFields: Decodable {
    var filterType: String
    var minQty: String?
    var maxQty: String?
    var stepSize: String?
    var minNotional: String?
    var maxNotional: String?
    var applyMinToMarket: Bool?
    var applyMaxToMarket: Bool?
    var applyToMarket: Bool?

    func lotSize(_ symbol: String) throws(ExchangeFilters.Unknown) -> ExchangeFilters.LotSize {
        ExchangeFilters.LotSize(
            minQty: try decimal(\.minQty, "minQty", symbol),
            maxQty: try decimal(\.maxQty, "maxQty", symbol),
            stepSize: try decimal(\.stepSize, "stepSize", symbol)
        )
    }

    /// A non-negative decimal string (`"0.00100000"`): digits and at most one point, nothing else.
    func decimal(_ field: KeyPath<FilterFields, String?>, _ name: String, _ symbol: String) throws(ExchangeFilters.Unknown) -> Decimal {
        guard let text = self[keyPath: field] else { throw ExchangeFilters.Unknown("\(symbol) \(filterType): \(name) is missing") }
        guard !text.isEmpty, text.count <= 40, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            text.filter({ $0 == "." }).count <= 1, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN
        else {
            throw ExchangeFilters.Unknown("\(symbol) \(filterType): \(name) is not a decimal (\(text.prefix(40)))")
        }
        return value
    }

    func flag(_ field: KeyPath<FilterFields, Bool?>, _ name: String, _ symbol: String) throws(ExchangeFilters.Unknown) -> Bool {
        guard let value = self[keyPath: field] else { throw ExchangeFilters.Unknown("\(symbol) \(filterType): \(name) is missing") }
        return value
    }
}
