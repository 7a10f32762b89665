/// One operation of a worker service: the `op` string on the wire, the payload it carries and
/// the result it answers. The gateway calls it and the worker serves it through the same value,
/// so the two sides cannot disagree on a name or a type.
///
///     // worker
///     handler.on(Operations.Risk.reserve) { request throws(WireError) in ... }   // WireRequest<ReserveRequest> -> ReserveResult
///     // gateway
///     let reservation = try await workers.call(ServiceName.risk, Operations.Risk.reserve, payload: ..., requestID: id)
public struct WireOperation<Payload: Codable & Sendable, Result: Codable & Sendable>: Sendable {
    /// The `op` field of the request envelope.
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    /// The request envelope of this operation.
    public func request(_ payload: Payload, requestID: String) -> WireRequest<Payload> {
        WireRequest(op: name, requestId: requestID, payload: payload)
    }
}

/// Every operation of every service.
public enum Operations {
    /// `feature`: features from given values and candles.
    public enum Feature {
        public static let features = WireOperation<FeatureRequest, FeatureResult>("features")
    }

    /// `model.<id>` and `canary.<id>`: one vote.
    public enum Model {
        public static let predict = WireOperation<PredictRequest, ModelVote>("predict")
        /// A bundle (`models.<id>...`): every model id asked, in one request.
        public static let predictModels = WireOperation<PredictModelsRequest, ModelVotes>("predict_models")
    }

    /// `risk`: the ledger, the limits, halt and lock.
    public enum Risk {
        public static let status = WireOperation<Empty, RiskStatus>("status")
        public static let gate = WireOperation<GateRequest, GateResult>("gate")
        public static let reserve = WireOperation<ReserveRequest, ReserveResult>("reserve")
        public static let settle = WireOperation<SettleRequest, SettleResult>("settle")
        public static let mark = WireOperation<MarkRequest, RiskStatus>("mark")
        public static let reset = WireOperation<OperatorAction, RiskStatus>("reset")
        public static let halt = WireOperation<OperatorAction, RiskStatus>("halt")
        public static let resume = WireOperation<OperatorAction, RiskStatus>("resume")
        public static let orders = WireOperation<OrdersQuery, OrderList>("orders")
        public static let order = WireOperation<OrderQuery, Order>("order")
        public static let equity = WireOperation<EquityQuery, EquityHistory>("equity")
        /// Sets ACTIVE, REDUCING or HALTED.
        public static let setState = WireOperation<StateChange, RiskStatus>("state")
        /// The protection locks in force.
        public static let locks = WireOperation<Empty, LockList>("locks")
        /// Deletes one protection lock.
        public static let unlock = WireOperation<UnlockRequest, UnlockResult>("unlock")
        /// Applies an account snapshot (or why none could be had) to the live book: builds it the
        /// first time, compares it after. The reconciler calls it; a user data stream event can.
        public static let applyAccount = WireOperation<AccountReport, LiveBookStatus>("apply_account")
        /// The operator adopts the exchange's balances as the live book's (audited).
        public static let adoptAccount = WireOperation<AdoptRequest, LiveBookStatus>("adopt_account")
        /// Settles a live order with an audit row: an operator's resolution, or a late fill of an order booked rejected.
        public static let resolveOrder = WireOperation<ResolveOrderRequest, SettleResult>("resolve_order")
        /// Records an execution replica's rate-limit back-off (persisted); answers the flags that carry it.
        public static let exchangeBackoff = WireOperation<ExchangeBackoffReport, RiskFlags>("exchange_backoff")
    }

    /// `execution`: places orders and says what became of them.
    public enum Execution {
        public static let execute = WireOperation<ExecuteRequest, Fill>("execute")
        public static let query = WireOperation<ExecuteRequest, QueryResult>("query")
        /// Paper: what the execution journal holds of an order (reconciliation asks this).
        public static let journal = WireOperation<JournalQuery, JournalAnswer>("journal")
        /// Live: the exchange's balances (`GET /api/v3/account`).
        public static let account = WireOperation<AccountQuery, ExchangeAccount>("account")
        /// Live: the newest trades of a symbol (`GET /api/v3/myTrades`), with their orders' client ids.
        public static let trades = WireOperation<TradesQuery, TradeList>("trades")
        /// Live: the measured offset to the exchange's clock.
        public static let clock = WireOperation<Empty, ExchangeClockStatus>("clock")
    }
}
