import Foundation

/// One point of the account's equity history, recorded by the risk worker on every fill and at
/// least once a minute.
public struct EquityPoint: Codable, Sendable, Equatable {
    /// Unix milliseconds.
    public var ts: Int64
    public var equity: Decimal
    public var cash: Decimal
    public var peakEquity: Decimal
    /// Fraction below peak, 0...1.
    public var drawdown: Double

    public init(ts: Int64, equity: Decimal, cash: Decimal, peakEquity: Decimal, drawdown: Double) {
        self.ts = ts
        self.equity = equity
        self.cash = cash
        self.peakEquity = peakEquity
        self.drawdown = drawdown
    }
}

/// `risk` / `equity`: the points at or after `since` (Unix ms), oldest first, at most `limit`
/// (the newest ones when there are more).
public struct EquityQuery: Codable, Sendable {
    public var since: Int64
    public var limit: Int

    public init(since: Int64, limit: Int) {
        self.since = since
        self.limit = limit
    }
}

/// The answer to `equity`.
public struct EquityHistory: Codable, Sendable {
    public var points: [EquityPoint]

    public init(points: [EquityPoint]) {
        self.points = points
    }
}
