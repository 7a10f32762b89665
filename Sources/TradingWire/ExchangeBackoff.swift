/// The exchange's rate limits as every execution replica must honour them: until when no new
/// live order may be sent, and until when no request at all (a 429 or 418 with `Retry-After`).
///
/// A replica that sees usage near a limit, or a 429/418, reports it; the risk worker keeps the
/// latest end of each (persisted: a restarted stack still waits), and the gateway broadcasts it
/// in the control state, so one replica's ban stops every replica.
public struct ExchangeBackoff: Codable, Sendable, Equatable {
    /// No new live order is sent before this time (Unix ms).
    public var ordersUntil: Int64
    /// No exchange request at all (orders, queries, sweeps) before this time (Unix ms): the
    /// `Retry-After` of a 429 or 418. Never later than `ordersUntil`.
    public var requestsUntil: Int64
    /// Why (the exchange's answer, or the limit near which orders stopped).
    public var reason: String

    /// The longest back-off taken from the exchange: Binance's longest IP ban, 3 days.
    public static let longestMilliseconds: Int64 = 259_200_000

    public init(ordersUntil: Int64, requestsUntil: Int64 = 0, reason: String) {
        self.requestsUntil = requestsUntil
        self.ordersUntil = max(ordersUntil, requestsUntil)
        self.reason = String(reason.prefix(300))
    }

    /// The later end of each, and the reason of the one that extends the orders' end.
    public func merged(with other: ExchangeBackoff?) -> ExchangeBackoff {
        guard let other else { return self }
        let reason =
            other.ordersUntil > ordersUntil || (other.ordersUntil == ordersUntil && other.requestsUntil > requestsUntil) ? other.reason : reason
        return ExchangeBackoff(
            ordersUntil: max(ordersUntil, other.ordersUntil),
            requestsUntil: max(requestsUntil, other.requestsUntil),
            reason: reason
        )
    }

    /// Whether `other` adds nothing to this one (both its ends are no later).
    public func covers(_ other: ExchangeBackoff) -> Bool {
        other.ordersUntil <= ordersUntil && other.requestsUntil <= requestsUntil
    }

    /// Itself while new orders are refused at `now`, nil once it has ended.
    public func active(at now: Int64) -> ExchangeBackoff? { ordersUntil > now ? self : nil }

    /// Whole seconds until new orders may be sent again (at least 1), for `Retry-After`.
    public func retryAfterSeconds(at now: Int64) -> Int { Int(max(1, (ordersUntil - now + 999) / 1000)) }

    /// Ends that lie in the past of `now` or beyond the longest back-off are cut to it: a bogus
    /// report never holds trading for longer than Binance's longest ban.
    public func bounded(now: Int64) -> ExchangeBackoff {
        let limit = now + Self.longestMilliseconds
        return ExchangeBackoff(ordersUntil: min(ordersUntil, limit), requestsUntil: min(requestsUntil, limit), reason: reason)
    }
}

/// `risk` / `exchange_backoff`: an execution replica's back-off, as the gateway passes it on.
public struct ExchangeBackoffReport: Codable, Sendable, Equatable {
    public var backoff: ExchangeBackoff
    /// Who saw it (`execute`, `account-reconcile`, `clock-poll`).
    public var reportedBy: String

    public init(backoff: ExchangeBackoff, reportedBy: String) {
        self.backoff = backoff
        self.reportedBy = reportedBy
    }
}

/// One replica's view of its rate budget, for `/health` (`liveOrders.exchangeRate`) and the
/// gateway's poll: the last usage the exchange reported, the limits in force, the back-off.
public struct ExchangeRateStatus: Codable, Sendable, Equatable {
    /// `X-MBX-USED-WEIGHT-1M` as last answered (or counted since), in the current minute.
    public var usedWeight: Int
    public var weightLimit: Int
    /// `X-MBX-ORDER-COUNT-10S` and `-1D` in their current windows.
    public var orders10s: Int
    public var orders10sLimit: Int
    public var orders1d: Int
    public var orders1dLimit: Int
    /// Weight the reconciliation's queries may use in a minute (`EXCHANGE_RECONCILE_WEIGHT_PCT`).
    public var reconcileWeightLimit: Int
    /// New orders stop once the usage would pass this share of a limit (100 - `EXCHANGE_RATE_MARGIN_PCT`).
    public var orderWeightLimit: Int
    /// Rate-limit headers ignored since start (unreadable, or beyond twice the limit).
    public var ignoredHeaders: Int
    public var backoff: ExchangeBackoff?

    public init(
        usedWeight: Int,
        weightLimit: Int,
        orders10s: Int,
        orders10sLimit: Int,
        orders1d: Int,
        orders1dLimit: Int,
        reconcileWeightLimit: Int,
        orderWeightLimit: Int,
        ignoredHeaders: Int,
        backoff: ExchangeBackoff?
    ) {
        self.usedWeight = usedWeight
        self.weightLimit = weightLimit
        self.orders10s = orders10s
        self.orders10sLimit = orders10sLimit
        self.orders1d = orders1d
        self.orders1dLimit = orders1dLimit
        self.reconcileWeightLimit = reconcileWeightLimit
        self.orderWeightLimit = orderWeightLimit
        self.ignoredHeaders = ignoredHeaders
        self.backoff = backoff
    }
}
