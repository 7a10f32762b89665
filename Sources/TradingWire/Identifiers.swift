/// The grammar of each identifier that crosses a boundary, defined once and read by every reader
/// (the HTTP API, the workers' configuration, the broker's service names, the backtest).
public enum Identifier: Sendable {
    /// A model id: 1 to 64 of `A-Z a-z 0-9 _ -`. It names an MDP service (`model.<id>`), so it
    /// can hold no dot.
    case modelID
    /// A spot symbol: 2 to 20 upper-case letters or digits, like `BTCUSDT`.
    case symbol
    /// A client order id: 1 to 36 of `A-Z a-z 0-9 - _` (what Binance accepts for
    /// `newClientOrderId`).
    case clientOrderID

    /// The grammar in words, for an error message.
    public var grammar: String {
        switch self {
        case .modelID: "1 to 64 letters, digits, _ or - (A-Z a-z 0-9 _ -)"
        case .symbol: "2 to 20 upper-case letters or digits, like BTCUSDT"
        case .clientOrderID: "1 to 36 letters, digits, - or _"
        }
    }

    /// Whether `text` is such an identifier.
    public func accepts(_ text: String) -> Bool {
        let length: ClosedRange<Int> =
            switch self {
            case .modelID: 1...64
            case .symbol: 2...20
            case .clientOrderID: 1...36
            }
        guard length.contains(text.utf8.count) else { return false }
        switch self {
        case .modelID, .clientOrderID:
            return text.utf8.allSatisfy { Self.isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        case .symbol:
            return text.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
        }
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
