import ExchangeAdapter
import Foundation
import Logging
import ServiceSupport
import TradingWire

/// The exchange filter settings an execution worker reads.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `EXCHANGE_INFO_REFRESH_MS` | int, 10000...86400000 | 3600000 | how old the exchange's filters may be before they are read again |
/// | `SYMBOL_ALLOWLIST` | comma list | empty | symbols whose filters are read at start (others on first use) |
extension ExchangeSettings {
    public static func rules(reader: EnvironmentReader, client: BinanceSpotClient) throws -> ExchangeRulesBook {
        let refresh = try reader.int("EXCHANGE_INFO_REFRESH_MS", default: 3_600_000, in: 10_000...86_400_000)
        return ExchangeRulesBook(client: client, refreshMilliseconds: Int64(refresh))
    }

    /// Reads the filters of `symbols` now, then refreshes every known symbol's from a thread of its
    /// own that wakes every tenth of the refresh interval (at least every second), for the life of
    /// the process. A symbol whose filters stay unknown is logged (a warning: orders are refused).
    /// `first` runs on that thread before the first read (it waits for the control state).
    public static func startRefresh(
        _ rules: ExchangeRulesBook,
        symbols: [String],
        logger: Logger,
        first: @escaping @Sendable () -> Void = {}
    ) {
        let report: @Sendable ([String: String]?) -> Void = { problems in
            for (symbol, problem) in problems ?? [:] {
                logger.warning(
                    "exchange filters unknown: no live order for the symbol until they are read",
                    metadata: ["symbol": "\(symbol)", "reason": "\(problem)"]
                )
            }
        }
        let period = max(1, Double(rules.refreshMilliseconds) / 10_000)
        Thread.detachNewThread {
            first()
            report(rules.read(symbols, now: unixMilliseconds()))
            while true {
                Thread.sleep(forTimeInterval: period)
                report(rules.refreshIfDue(now: unixMilliseconds()))
            }
        }
    }

    /// The symbols to read filters for at start: the allow-list, when there is one.
    public static func tradedSymbols(reader: EnvironmentReader) -> [String] {
        (reader.optionalString("SYMBOL_ALLOWLIST") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

extension ExecutionWorker {
    /// The USD value of one unit of the order's quote asset: its USD mark at reservation for a
    /// quote that is not USD-like (`ETHBTC`), 1 for a USD-like one.
    static func usdRate(_ order: Order) -> Decimal {
        order.terms?.quoteMarkUsd ?? 1
    }

    /// The size of a live MARKET order, once the exchange's filters allow it. A sell that closes
    /// the long position it carries (`heldQuantity`), or would leave less than the exchange can
    /// trade, is the held quantity rounded down to the step (`quantity`); what is left is dust.
    /// Anything else is `quoteOrderQty`: `qtyUsd` for a USD-like quote; otherwise `qtyUsd` at the
    /// quote asset's USD mark (rounded down to the quote precision), or 422 `no_quote_mark` when
    /// the order carries none. A filter the order would fail is 422 `exchange_filter`, naming the
    /// filter and the allowed value.
    static func liveSize(_ order: Order, filters: ExchangeFilters) throws(WireError) -> MarketOrderSize {
        let intent = order.intent
        guard let terms = order.terms, terms.markPrice > 0 else {
            throw WireError(code: "no_price", detail: "the order carries no usable mark price", status: 409)
        }
        var quoteAmount = intent.qtyUsd
        if !TradingPair.usdQuotes.contains(filters.quoteAsset) {
            guard let rate = terms.quoteMarkUsd, rate > 0 else {
                throw WireError(
                    code: "no_quote_mark",
                    detail: "\(intent.symbol) is quoted in \(filters.quoteAsset) (exchangeInfo) and the order carries no USD mark of it: "
                        + "qtyUsd cannot be sent as \(filters.quoteAsset)",
                    status: 422
                )
            }
            quoteAmount = filters.quoteRoundedDown(intent.qtyUsd / rate)
            guard quoteAmount > 0 else {
                throw WireError(
                    code: "exchange_filter",
                    detail: "quoteAssetPrecision: \(intent.qtyUsd) USD is less than one unit of \(filters.quoteAssetPrecision) decimals "
                        + "of \(filters.quoteAsset)",
                    status: 422
                )
            }
        }
        let markInQuote = terms.markPrice / usdRate(order)
        if intent.side == .sell, let held = terms.heldQuantity, held > 0 {
            let left = held - intent.qtyUsd / terms.markPrice
            if left <= 0 || filters.isDust(left, markPrice: markInQuote) {
                let quantity = filters.roundedDown(held)
                if let refusal = filters.checkBaseOrder(quantity: quantity, markPrice: markInQuote) {
                    throw WireError(
                        code: "exchange_filter",
                        detail: "\(refusal); the position's \(held) \(filters.baseAsset) is dust: the exchange cannot take it",
                        status: 422
                    )
                }
                return .base(quantity)
            }
        }
        if let refusal = filters.checkQuoteOrder(quoteAmount: quoteAmount, markPrice: markInQuote) {
            throw WireError(code: "exchange_filter", detail: refusal.description, status: 422)
        }
        return .quote(quoteAmount)
    }

    /// The symbol's filters, or 503 `exchange_filters_unknown` saying why they are not known.
    static func filters(for order: Order, rules: ExchangeRulesBook?) throws(WireError) -> ExchangeFilters {
        guard let rules else {
            throw WireError(code: "exchange_filters_unknown", detail: "this execution worker reads no exchange filters", status: 503)
        }
        switch rules.filters(for: order.intent.symbol, now: unixMilliseconds()) {
        case .success(let filters): return filters
        case .failure(let unknown): throw WireError(code: "exchange_filters_unknown", detail: unknown.reason, status: 503)
        }
    }
}
