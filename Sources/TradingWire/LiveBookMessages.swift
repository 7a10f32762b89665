import Foundation

/// One asset's balance at the exchange, as `GET /api/v3/account` lists it: `free + locked` is
/// what the account holds.
public struct ExchangeBalance: Codable, Sendable, Equatable {
    public var asset: String
    public var free: Decimal
    public var locked: Decimal

    public init(asset: String, free: Decimal, locked: Decimal) {
        self.asset = asset
        self.free = free
        self.locked = locked
    }

    /// `free + locked`.
    public var total: Decimal { free + locked }
}

/// The exchange's account: the balances of the assets asked for (absent ones hold nothing) and
/// when the exchange answered (Unix ms, its `updateTime` or our clock when it gave none).
public struct ExchangeAccount: Codable, Sendable, Equatable {
    public var balances: [ExchangeBalance]
    public var takenAt: Int64

    public init(balances: [ExchangeBalance], takenAt: Int64) {
        self.balances = balances
        self.takenAt = takenAt
    }

    /// `free + locked` by asset.
    public var totals: [String: Decimal] {
        Dictionary(balances.map { ($0.asset, $0.total) }, uniquingKeysWith: +)
    }
}

/// `execution` / `account`: the exchange's balances of these assets (empty: every non-zero one).
public struct AccountQuery: Codable, Sendable, Equatable {
    public var assets: [String]

    public init(assets: [String]) {
        self.assets = assets
    }
}

/// One trade of ours or not at the exchange (`GET /api/v3/myTrades`), with the client order id of
/// the order it belongs to when the exchange's order list names it.
public struct ExchangeTrade: Codable, Sendable, Equatable {
    public var symbol: String
    public var id: Int64
    public var orderId: Int64
    public var clientOrderId: String?
    public var price: Decimal
    public var qty: Decimal
    public var quoteQty: Decimal
    public var commission: Decimal
    public var commissionAsset: String
    public var time: Int64
    public var isBuyer: Bool

    public init(
        symbol: String,
        id: Int64,
        orderId: Int64,
        clientOrderId: String?,
        price: Decimal,
        qty: Decimal,
        quoteQty: Decimal,
        commission: Decimal,
        commissionAsset: String,
        time: Int64,
        isBuyer: Bool
    ) {
        self.symbol = symbol
        self.id = id
        self.orderId = orderId
        self.clientOrderId = clientOrderId
        self.price = price
        self.qty = qty
        self.quoteQty = quoteQty
        self.commission = commission
        self.commissionAsset = commissionAsset
        self.time = time
        self.isBuyer = isBuyer
    }
}

/// `execution` / `trades`: the newest trades of one symbol (`limit` of them).
public struct TradesQuery: Codable, Sendable, Equatable {
    public var symbol: String
    public var limit: Int

    public init(symbol: String, limit: Int) {
        self.symbol = symbol
        self.limit = limit
    }
}

/// The trades a sweep found.
public struct TradeList: Codable, Sendable, Equatable {
    public var trades: [ExchangeTrade]

    public init(trades: [ExchangeTrade]) {
        self.trades = trades
    }
}

/// Where the live book stands against the exchange's account.
public enum ReconciliationState: String, Codable, Sendable, CaseIterable {
    /// The live book was never built from the exchange's account.
    case never
    /// Every traded asset agrees within the tolerance.
    case ok
    /// An asset differs beyond the tolerance: live orders are refused (`account_mismatch`).
    case mismatch
    /// The last answer could not be read or the account could not be asked: live orders are
    /// refused (`account_unknown`) until a good answer comes.
    case unknown
}

/// One asset whose exchange balance and live-book balance differ beyond the tolerance.
public struct BalanceMismatch: Codable, Sendable, Equatable {
    public var asset: String
    public var exchange: Decimal
    public var book: Decimal
    /// Since when (Unix ms) the difference has been seen.
    public var since: Int64

    public init(asset: String, exchange: Decimal, book: Decimal, since: Int64) {
        self.asset = asset
        self.exchange = exchange
        self.book = book
        self.since = since
    }
}

/// The reconciliation's state, with since when it holds and what differs.
public struct Reconciliation: Codable, Sendable, Equatable {
    public var state: ReconciliationState
    /// Since when (Unix ms) the state has held.
    public var since: Int64?
    /// The last comparison (Unix ms), conclusive or not.
    public var checkedAt: Int64?
    public var detail: String?
    public var mismatches: [BalanceMismatch]

    public init(state: ReconciliationState, since: Int64? = nil, checkedAt: Int64? = nil, detail: String? = nil, mismatches: [BalanceMismatch] = []) {
        self.state = state
        self.since = since
        self.checkedAt = checkedAt
        self.detail = detail
        self.mismatches = mismatches
    }

    /// A hold's code and detail (`account_mismatch: BTC ...` is `account_mismatch` and `BTC ...`).
    public static func split(hold: String) -> (code: String, detail: String) {
        let parts = hold.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        return (parts.first ?? "account_mismatch", parts.count > 1 ? parts[1] : hold)
    }

    /// Why live orders are refused (`code: detail`), or nil when they are not.
    public var hold: String? {
        switch state {
        case .ok: nil
        case .mismatch: "account_mismatch: " + (detail ?? "the exchange's balances differ from the live book")
        case .unknown: "account_unknown: " + (detail ?? "the exchange's account could not be read")
        case .never: "account_unknown: the live book has not been built from the exchange's account yet"
        }
    }
}

/// `risk` / `account`: an account snapshot to compare with the live book (or, the first time, to
/// build it from), or why none could be had. The reconciler, and later a user data stream event,
/// send this. `bookVersion` is the live book's version when the snapshot was asked for: a fill
/// booked in between makes the comparison inconclusive, never a mismatch.
public struct AccountReport: Codable, Sendable, Equatable {
    public var account: ExchangeAccount?
    /// Why there is no account (an unreadable answer, no answer): the state becomes unknown.
    public var problem: String?
    /// The symbols traded live: their base and quote assets are compared.
    public var symbols: [String]
    public var bookVersion: Int64?
    public var toleranceBps: Decimal

    public init(account: ExchangeAccount?, problem: String?, symbols: [String], bookVersion: Int64?, toleranceBps: Decimal) {
        self.account = account
        self.problem = problem
        self.symbols = symbols
        self.bookVersion = bookVersion
        self.toleranceBps = toleranceBps
    }
}

/// `risk` / `adopt`: the operator takes the exchange's balances as the live book's.
public struct AdoptRequest: Codable, Sendable, Equatable {
    public var account: ExchangeAccount
    public var symbols: [String]
    public var requestedBy: String
    public var reason: String

    public init(account: ExchangeAccount, symbols: [String], requestedBy: String, reason: String) {
        self.account = account
        self.symbols = symbols
        self.requestedBy = requestedBy
        self.reason = reason
    }
}

/// The live book as `/api/positions?book=live`, `/health` and the reconciler see it.
public struct LiveBookStatus: Codable, Sendable, Equatable {
    /// The live account (real equity), nil until it is built from the exchange's account.
    public var account: AccountSnapshot?
    /// What the live book expects the exchange to hold, by asset.
    public var balances: [String: Decimal]
    public var reconciliation: Reconciliation
    /// Grows with every change of the balances (a fill, an adoption).
    public var version: Int64
    /// The outcome of the comparison that produced this status: `ok`, `mismatch`, `unknown`,
    /// `built`, `inconclusive` (a fill or a pending order in between), absent on reads.
    public var outcome: String?
    /// The risk worker's flags after the change (its account hold included), on changes.
    public var flags: RiskFlags?

    public init(
        account: AccountSnapshot?,
        balances: [String: Decimal],
        reconciliation: Reconciliation,
        version: Int64,
        outcome: String? = nil,
        flags: RiskFlags? = nil
    ) {
        self.flags = flags
        self.account = account
        self.balances = balances
        self.reconciliation = reconciliation
        self.version = version
        self.outcome = outcome
    }
}
