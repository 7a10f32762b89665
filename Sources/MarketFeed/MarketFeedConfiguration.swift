import Foundation
import ServiceSupport
import TradingWire

/// Where the feed's candles come from (`MARKET_SOURCE`).
public enum MarketSource: String, Sendable, CaseIterable {
    /// Binance's WebSocket market streams, REST klines for the backfill.
    case binance
    /// A candle CSV (`FEED_FILE`) replayed one candle per interval: the offline paper default.
    case replay
    /// No candles: something else must `POST /api/market/candles` (a WARN says so).
    case none
}

/// The market feed's settings, read from the environment.
///
/// | key | type | default | range | meaning |
/// | --- | --- | --- | --- | --- |
/// | `MARKET_SOURCE` | `binance`, `replay`, `none` | `replay` (paper), none (live: must be set) | | where candles come from |
/// | `MARKET_SYMBOLS` | comma list | `BTCUSDT` | 1...512 symbols | symbols kept |
/// | `MARKET_INTERVAL` | Binance interval | `1m` | `1s` ... `1w` | candle interval |
/// | `MARKET_BACKFILL` | int | 200 | 1...1000 | candles fetched on start (the gateway's `CANDLE_WINDOW`) |
/// | `MARKET_SILENCE_MS` | int | 30000 | 1000...600000 | a connection silent this long is dropped and made anew |
/// | `MARKET_MAX_FRAME_BYTES` | int | 65536 | 1024...1048576 | a longer frame is refused (and the connection made anew) |
/// | `MARKET_CONNECTION_MAX_SECONDS` | int | 85800 | 10...86400 | a connection is renewed before Binance's 24-hour cut |
/// | `BINANCE_MARKET_WS_URL` | URL | `wss://stream.binance.com:9443` | | combined streams at `<url>/stream?streams=` |
/// | `BINANCE_MARKET_REST_URL` | URL | `https://api.binance.com` | | `GET /api/v3/klines` |
/// | `GATEWAY_URL` | URL | `http://127.0.0.1:8000` | | where candles are posted |
/// | `MARKET_FEED_TOKEN` (or `API_TOKEN`), `_FILE` | secret | none | | the bearer token for `POST /api/market/candles` |
/// | `FEED_FILE`, `FEED_INTERVAL_MS` | path, int | none, 1000 | 1...3600000 | the replay's CSV and pace |
/// | `HEALTH_PORT` | int | 9104 | 0...65535 | `/health` and `/metrics` (0: none) |
public struct MarketFeedConfiguration: Sendable {
    public var source: MarketSource
    public var tradingMode: TradingMode
    public var symbols: [String]
    public var interval: MarketInterval
    public var backfill: Int
    public var silenceMilliseconds: Int
    public var maxFrameBytes: Int
    public var connectionMaxSeconds: Int
    public var websocketURL: String
    public var restURL: String
    public var gatewayURL: String
    public var apiToken: String?
    public var feedFile: String?
    public var feedIntervalMilliseconds: Int
    public var healthHost: String
    public var healthPort: Int
    /// The name this feed gives itself in the gateway's market status (`X-Market-Feed`).
    public var feedName: String

    /// Binance allows 1024 streams per connection; each symbol takes two (kline and bookTicker).
    public static let maxSymbols = 512

    public init(reader: EnvironmentReader) throws {
        let mode = reader.string("TRADING_MODE", default: "paper").lowercased()
        guard let tradingMode = TradingMode(rawValue: mode) else {
            throw ConfigurationError(key: "TRADING_MODE", value: mode, expected: "paper or live")
        }
        self.tradingMode = tradingMode
        let sourceText = reader.optionalString("MARKET_SOURCE")?.lowercased()
        if tradingMode == .live, sourceText == nil {
            throw ConfigurationError(
                key: "MARKET_SOURCE",
                value: "(unset)",
                expected: "binance in live (or none, with candles posted from elsewhere)"
            )
        }
        guard let source = MarketSource(rawValue: sourceText ?? "replay") else {
            throw ConfigurationError(key: "MARKET_SOURCE", value: sourceText ?? "", expected: "binance, replay or none")
        }
        if tradingMode == .live, source == .replay {
            throw ConfigurationError(key: "MARKET_SOURCE", value: "replay", expected: "binance in live: a replayed file is not a market to trade on")
        }
        self.source = source
        let symbolText = reader.string("MARKET_SYMBOLS", default: "BTCUSDT")
        let symbols = symbolText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        guard (1...Self.maxSymbols).contains(symbols.count), Set(symbols).count == symbols.count,
            symbols.allSatisfy({ (2...20).contains($0.utf8.count) && $0.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) } })
        else {
            throw ConfigurationError(
                key: "MARKET_SYMBOLS",
                value: String(symbolText.prefix(80)),
                expected: "1 to \(Self.maxSymbols) distinct symbols of 2-20 letters or digits"
            )
        }
        self.symbols = symbols
        let intervalText = reader.string("MARKET_INTERVAL", default: "1m")
        guard let interval = MarketInterval(intervalText) else {
            throw ConfigurationError(key: "MARKET_INTERVAL", value: intervalText, expected: "one of \(MarketInterval.names)")
        }
        self.interval = interval
        backfill = try reader.int("MARKET_BACKFILL", default: 200, in: 1...1_000)
        silenceMilliseconds = try reader.int("MARKET_SILENCE_MS", default: 30_000, in: 1_000...600_000)
        maxFrameBytes = try reader.int("MARKET_MAX_FRAME_BYTES", default: 65_536, in: 1_024...1_048_576)
        connectionMaxSeconds = try reader.int("MARKET_CONNECTION_MAX_SECONDS", default: 85_800, in: 10...86_400)
        websocketURL = try Self.url(reader, "BINANCE_MARKET_WS_URL", default: "wss://stream.binance.com:9443", schemes: ["ws", "wss"])
        restURL = try Self.url(reader, "BINANCE_MARKET_REST_URL", default: "https://api.binance.com", schemes: ["http", "https"])
        gatewayURL = try Self.url(reader, "GATEWAY_URL", default: "http://127.0.0.1:8000", schemes: ["http", "https"])
        apiToken = try reader.secret("MARKET_FEED_TOKEN") ?? reader.secret("API_TOKEN")
        feedFile = reader.optionalString("FEED_FILE")
        feedIntervalMilliseconds = try reader.int("FEED_INTERVAL_MS", default: 1_000, in: 1...3_600_000)
        if source == .replay, feedFile == nil {
            throw ConfigurationError(key: "FEED_FILE", value: "(unset)", expected: "a candle CSV with MARKET_SOURCE=replay")
        }
        healthHost = reader.string("HEALTH_HOST", default: "127.0.0.1")
        healthPort = try reader.int("HEALTH_PORT", default: 9_104, in: 0...65_535)
        feedName = reader.string("MARKET_FEED_NAME", default: "market-feed")
    }

    private static func url(_ reader: EnvironmentReader, _ key: String, default fallback: String, schemes: Set<String>) throws -> String {
        let text = reader.string(key, default: fallback)
        guard let url = URL(string: text), let scheme = url.scheme, schemes.contains(scheme), url.host != nil else {
            throw ConfigurationError(key: key, value: text, expected: "a \(schemes.sorted().joined(separator: " or ")) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
