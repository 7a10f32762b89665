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

    /// The symbols that price `asset` in USD, in the order `usdQuotes` lists them.
    public static func usdSymbols(of asset: String) -> [String] { usdQuotes.map { asset + $0 } }
}
