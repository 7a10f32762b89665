import Foundation
import TradingWire

/// The live book: the real account as we remember it, apart from the paper book. It is built
/// from the exchange's balances when live trading begins (the traded base assets become
/// positions at their marks, the USD-like quote assets are cash), moved by live fills, and
/// compared with the exchange's balances at every reconciliation. Paper positions never cross
/// over. No I/O: the risk worker persists it, the gateway's reconciler feeds it.
public struct LiveBook: Sendable, Equatable {
    /// The live account (real equity, drawdown, daily loss); nil until it is built.
    public private(set) var portfolio: Portfolio?
    /// What the exchange should hold of each traded asset (`free + locked`), commissions taken.
    public private(set) var balances: [String: Decimal]
    public private(set) var reconciliation: Reconciliation
    /// Grows with every change of `balances`: a snapshot asked for before a change is not
    /// compared after it.
    public private(set) var version: Int64
    /// The live book's UTC day and the real equity it started with (the daily loss).
    public private(set) var day: RiskEngine.TradingDay

    public init(
        portfolio: Portfolio? = nil,
        balances: [String: Decimal] = [:],
        reconciliation: Reconciliation = Reconciliation(state: .never),
        version: Int64 = 0,
        day: RiskEngine.TradingDay = RiskEngine.TradingDay(date: "", startEquity: 0)
    ) {
        self.portfolio = portfolio
        self.balances = balances
        self.reconciliation = reconciliation
        self.version = version
        self.day = day
    }

    public var isBuilt: Bool { portfolio != nil }

    /// Why live orders are refused now (`code`, detail), or nil when the book agrees with the
    /// exchange.
    public var refusal: (code: String, detail: String)? {
        reconciliation.hold.map(Reconciliation.split(hold:))
    }

    /// The base and quote assets of `symbols`, sorted.
    public static func assets(of symbols: [String]) -> [String] {
        Set(symbols.compactMap(TradingPair.init(symbol:)).flatMap { [$0.base, $0.quote] }).sorted()
    }

    // MARK: snapshots

    /// The problem with an account answer that must never change the book (a negative or
    /// not-a-number balance, an asset listed twice), or nil when it can be used.
    public static func problem(with account: ExchangeAccount) -> String? {
        var seen = Set<String>()
        for balance in account.balances {
            if balance.asset.isEmpty { return "a balance without an asset" }
            if !seen.insert(balance.asset).inserted { return "\(balance.asset) is listed twice" }
            if balance.free.isNaN || balance.locked.isNaN { return "\(balance.asset)'s balance is not a number" }
            if balance.free < 0 || balance.locked < 0 {
                return "\(balance.asset)'s balance is negative (free \(balance.free), locked \(balance.locked))"
            }
        }
        return nil
    }

    /// Applies an account report: the first good one builds the book, later ones are compared
    /// with it. A report that could not be had or read makes the state unknown and changes no
    /// balance; one asked for before a fill the book has since booked (its version is older) is
    /// inconclusive. The assets of symbols with a pending live order (`pendingSymbols`) are not
    /// compared (their fill may be at the exchange and not yet here): a mismatch seen before on
    /// them stands. Returns the outcome (`built`, `ok`, `mismatch`, `unknown`, `inconclusive`).
    public mutating func apply(_ report: AccountReport, marks: [String: Decimal], pendingSymbols: Set<String>, now: Int64) -> String {
        reconciliation.checkedAt = now
        guard let account = report.account else {
            becomeUnknown(report.problem ?? "no account snapshot", now: now)
            return "unknown"
        }
        if let problem = Self.problem(with: account) {
            becomeUnknown("the exchange's account answer is unusable: \(problem)", now: now)
            return "unknown"
        }
        guard report.toleranceBps >= 0, !report.toleranceBps.isNaN else {
            becomeUnknown("the tolerance \(report.toleranceBps) bps is not usable", now: now)
            return "unknown"
        }
        let symbols = tradedSymbols(report.symbols)
        guard report.bookVersion == nil || report.bookVersion == version else { return "inconclusive" }
        guard isBuilt else {
            guard pendingSymbols.isEmpty else { return "inconclusive" }
            if let missing = missingMark(account: account, symbols: symbols, marks: marks) {
                becomeUnknown(missing, now: now)
                return "unknown"
            }
            rebuild(from: account, symbols: symbols, marks: marks, now: now)
            return "built"
        }
        let totals = account.totals
        let skipped = Set(Self.assets(of: Array(pendingSymbols)))
        let compared = Self.assets(of: symbols).filter { !skipped.contains($0) }
        guard !compared.isEmpty else { return "inconclusive" }
        var mismatches = reconciliation.mismatches.filter { skipped.contains($0.asset) }
        for asset in compared {
            let exchange = totals[asset] ?? 0
            let book = balances[asset] ?? 0
            if Self.agree(exchange, book, toleranceBps: report.toleranceBps) {
                if balances[asset] == nil { balances[asset] = 0 }
                continue
            }
            let since = reconciliation.mismatches.first { $0.asset == asset }?.since ?? now
            mismatches.append(BalanceMismatch(asset: asset, exchange: exchange, book: book, since: since))
        }
        if mismatches.isEmpty {
            if reconciliation.state != .ok { reconciliation = Reconciliation(state: .ok, since: now, checkedAt: now) }
            return "ok"
        }
        let since = reconciliation.state == .mismatch ? (reconciliation.since ?? now) : now
        reconciliation = Reconciliation(
            state: .mismatch,
            since: since,
            checkedAt: now,
            detail: Self.describe(mismatches, toleranceBps: report.toleranceBps),
            mismatches: mismatches
        )
        return "mismatch"
    }

    /// The operator adopts the exchange's balances: positions take the base balances (at their
    /// average price, or the mark for a new one), cash the quote balances; the peak and the day
    /// restart at the new real equity. Returns the balances before.
    @discardableResult
    public mutating func adopt(
        _ account: ExchangeAccount,
        symbols: [String],
        marks: [String: Decimal],
        now: Int64
    ) throws(WireError) -> [String: Decimal] {
        if let problem = Self.problem(with: account) {
            throw WireError(
                code: "account_unreadable",
                detail: "the exchange's account answer is unusable: \(problem); nothing was adopted",
                status: 502
            )
        }
        let symbols = tradedSymbols(symbols)
        if let missing = missingMark(account: account, symbols: symbols, marks: marks) {
            throw WireError(code: "no_price", detail: "\(missing); nothing was adopted", status: 409)
        }
        let before = balances
        rebuild(from: account, symbols: symbols, marks: marks, now: now)
        return before
    }

    /// The symbols compared: those asked for and those the book holds a position in.
    private func tradedSymbols(_ symbols: [String]) -> [String] {
        Array(Set(symbols).union(portfolio?.positions.keys.map { $0 } ?? [])).sorted()
    }

    /// Which symbol holds which base asset: the first symbol (sorted) of each base, so that two
    /// symbols of one base do not count it twice.
    private static func holders(_ symbols: [String]) -> [String: String] {
        var holders: [String: String] = [:]
        for symbol in symbols.sorted() {
            guard let pair = TradingPair(symbol: symbol), holders[pair.base] == nil else { continue }
            holders[pair.base] = symbol
        }
        return holders
    }

    private func missingMark(account: ExchangeAccount, symbols: [String], marks: [String: Decimal]) -> String? {
        let totals = account.totals
        for (base, symbol) in Self.holders(symbols).sorted(by: { $0.key < $1.key }) where (totals[base] ?? 0) > 0 && marks[symbol] == nil {
            return "no mark for \(symbol) to value the account's \(totals[base] ?? 0) \(base)"
        }
        return nil
    }

    private mutating func rebuild(from account: ExchangeAccount, symbols: [String], marks: [String: Decimal], now: Int64) {
        let totals = account.totals
        var positions: [String: Portfolio.Position] = [:]
        for (base, symbol) in Self.holders(symbols) {
            let quantity = totals[base] ?? 0
            let old = portfolio?.positions[symbol]
            guard quantity > 0 || old != nil else { continue }
            let average = old.map { $0.quantity > 0 ? $0.averagePrice : (marks[symbol] ?? 0) } ?? (marks[symbol] ?? 0)
            positions[symbol] = Portfolio.Position(quantity: quantity, averagePrice: quantity > 0 ? average : 0, realizedPnl: old?.realizedPnl ?? 0)
        }
        let quotes = Set(symbols.compactMap { TradingPair(symbol: $0)?.quote })
        let cash = quotes.reduce(Decimal(0)) { $0 + (totals[$1] ?? 0) }
        var bookMarks = portfolio?.marks ?? [:]
        for symbol in positions.keys { if let mark = marks[symbol] { bookMarks[symbol] = mark } }
        let equity = Portfolio.equity(cash: cash, positions: positions, marks: bookMarks)
        portfolio = Portfolio(cash: cash, positions: positions, marks: bookMarks, peakEquity: equity, feesOwed: portfolio?.feesOwed ?? [:])
        balances = Dictionary(uniqueKeysWithValues: Self.assets(of: symbols).map { ($0, totals[$0] ?? 0) })
        version += 1
        day = RiskEngine.TradingDay(date: RiskEngine.utcDate(now), startEquity: equity)
        reconciliation = Reconciliation(state: .ok, since: now, checkedAt: now)
    }

    private mutating func becomeUnknown(_ detail: String, now: Int64) {
        let since = reconciliation.state == .unknown ? (reconciliation.since ?? now) : now
        reconciliation = Reconciliation(state: .unknown, since: since, checkedAt: now, detail: detail, mismatches: reconciliation.mismatches)
    }

    /// Equal within `toleranceBps` of the larger amount.
    static func agree(_ a: Decimal, _ b: Decimal, toleranceBps: Decimal) -> Bool {
        let difference = a > b ? a - b : b - a
        return difference <= max(a, b) * toleranceBps / 10_000
    }

    static func describe(_ mismatches: [BalanceMismatch], toleranceBps: Decimal) -> String {
        mismatches.map {
            "\($0.asset): exchange \($0.exchange.plainText), live book \($0.book.plainText), since \(ISO8601Millis.format($0.since))"
        }.joined(separator: "; ") + " (beyond \(toleranceBps.plainText) bps); POST /api/live/adopt takes the exchange's balances"
    }

    // MARK: fills and marks

    /// Books a live fill: the position and cash as the paper book books them, and the expected
    /// balances exactly as the exchange moves them (base, quote, and each commission in the asset
    /// it was charged in, when that asset is traded).
    public mutating func book(symbol: String, side: Side, fill: Fill) {
        guard var portfolio, let pair = TradingPair(symbol: symbol) else { return }
        portfolio.apply(symbol: symbol, side: side, fill: fill)
        self.portfolio = portfolio
        let sign: Decimal = side == .buy ? 1 : -1
        balances[pair.base, default: 0] += sign * fill.quantity
        balances[pair.quote, default: 0] -= sign * fill.notional + fill.fee
        for (asset, amount) in fill.commissions ?? [:] where balances[asset] != nil {
            balances[asset, default: 0] -= amount
        }
        version += 1
    }

    /// A new price, when the book is built.
    public mutating func mark(_ symbol: String, price: Decimal) {
        guard portfolio != nil else { return }
        portfolio?.mark(symbol, price: price)
    }

    /// The base asset the account holds for `symbol` (what a sell may sell).
    public func held(_ symbol: String) -> Decimal {
        guard let pair = TradingPair(symbol: symbol) else { return 0 }
        return balances[pair.base] ?? 0
    }

    /// Restarts the peak at the current real equity (after a reset of the brake).
    public mutating func restartPeak() {
        guard let book = portfolio else { return }
        portfolio = Portfolio(cash: book.cash, positions: book.positions, marks: book.marks, peakEquity: book.equity, feesOwed: book.feesOwed)
    }

    /// A new UTC day: the daily loss counts from the real equity now.
    public mutating func startDay(_ date: String) {
        guard let book = portfolio, date != day.date else { return }
        day = RiskEngine.TradingDay(date: date, startEquity: book.equity)
    }

    /// The live book as the wire shows it.
    public func status(pendingOrders: Int, outcome: String? = nil) -> LiveBookStatus {
        var account = portfolio?.snapshot
        if let book = portfolio {
            account?.dailyLoss = max(0, day.startEquity - book.equity).rounded(scale: 8)
            account?.pendingOrders = pendingOrders
        }
        return LiveBookStatus(account: account, balances: balances, reconciliation: reconciliation, version: version, outcome: outcome)
    }
}
