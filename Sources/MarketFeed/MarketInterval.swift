/// A Binance spot kline interval (`1s` to `1w`) and its length.
///
/// `1M` is refused: months differ in length, so "the next candle opens one interval later"
/// (the contiguity the feed and the gateway check) does not hold for it.
public struct MarketInterval: Sendable, Equatable, CustomStringConvertible {
    /// The name Binance uses in stream names and REST (`1s`, `1m`, ..., `1w`).
    public let name: String
    /// The interval's length in milliseconds.
    public let milliseconds: Int64

    static let known: [(String, Int64)] = [
        ("1s", 1_000), ("1m", 60_000), ("3m", 180_000), ("5m", 300_000), ("15m", 900_000), ("30m", 1_800_000),
        ("1h", 3_600_000), ("2h", 7_200_000), ("4h", 14_400_000), ("6h", 21_600_000), ("8h", 28_800_000),
        ("12h", 43_200_000), ("1d", 86_400_000), ("3d", 259_200_000), ("1w", 604_800_000),
    ]

    /// The interval named `name`, or nil for a name Binance spot does not offer (or `1M`).
    public init?(_ name: String) {
        guard let entry = Self.known.first(where: { $0.0 == name }) else { return nil }
        self.name = entry.0
        self.milliseconds = entry.1
    }

    /// Where the interval's candles open, as an offset from the Unix epoch: weekly candles open
    /// on Mondays at 00:00 UTC (the epoch was a Thursday, four days later than a Monday), the
    /// others on multiples of their length.
    public var offsetMilliseconds: Int64 { name == "1w" ? 345_600_000 : 0 }

    /// Whether a candle of this interval can open at `openTime`.
    public func isAligned(_ openTime: Int64) -> Bool {
        (openTime - offsetMilliseconds) % milliseconds == 0
    }

    /// Every accepted name, for error messages.
    public static var names: String { known.map(\.0).joined(separator: ", ") }

    public var description: String { name }
}
