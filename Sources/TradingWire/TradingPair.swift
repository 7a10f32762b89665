/// A spot symbol split into the asset bought (`base`) and the one it is priced in (`quote`):
/// `BTCUSDT` is BTC priced in USDT. Only USD-like quotes are known; the account is kept in USD
/// and counts each of them as one dollar.
public struct TradingPair: Sendable, Equatable {
    public let base: String
    public let quote: String

    /// The USD-like quote assets, longest first so that `BTCFDUSD` is not read as `BTCF` + `DUSD`.
    public static let usdQuotes = ["FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI", "USD"]

    /// Nil when the symbol does not end in a known USD quote or has nothing before it.
    public init?(symbol: String) {
        guard let quote = Self.usdQuotes.first(where: { symbol.hasSuffix($0) && symbol.count > $0.count }) else { return nil }
        self.base = String(symbol.dropLast(quote.count))
        self.quote = quote
    }

    /// Quote assets that are not dollars: an amount in one of them is converted at that asset's
    /// USD mark (`BTCUSDT` for a `...BTC` symbol), never counted as dollars.
    public static let otherQuotes = ["BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "GBP", "JPY", "AUD"]

    /// Whether the quote asset counts as one dollar.
    public var usdQuoted: Bool { Self.usdQuotes.contains(quote) }

    /// Any known quote, USD-like first (`usdQuotes`), then `otherQuotes`: `ETHBTC` is ETH priced
    /// in BTC. Nil when the symbol ends in no known quote or has nothing before it.
    public init?(anyQuote symbol: String) {
        if let pair = TradingPair(symbol: symbol) {
            self = pair
            return
        }
        guard let quote = Self.otherQuotes.first(where: { symbol.hasSuffix($0) && symbol.count > $0.count }) else { return nil }
        self.base = String(symbol.dropLast(quote.count))
        self.quote = quote
    }

    /// The symbols that price `asset` in USD, in the order `usdQuotes` lists them.
    public static func usdSymbols(of asset: String) -> [String] { usdQuotes.map { asset + $0 } }
}
