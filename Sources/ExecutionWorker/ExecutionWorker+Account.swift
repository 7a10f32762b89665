import ExchangeAdapter
import Foundation
import ServiceSupport
import TradingWire
import WorkerRuntime

/// The live account's reads: the balances and the trades, for the gateway's account reconciler.
extension ExecutionWorker {
    static func registerAccount(on handler: inout OperationHandler, exchange: BinanceSpotClient?, control: ControlView) {
        handler.on(Operations.Execution.account) { (request: WireRequest<AccountQuery>) throws(WireError) -> ExchangeAccount in
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            adoptSharedBackoff(control, exchange: exchange)
            switch exchange.account(assets: request.payload.assets) {
            case .account(let account): return account
            case .unknown(let reason):
                // A 429/418 met here is shared with the other replicas by the gateway.
                throw WireError(
                    code: "account_unreadable",
                    detail: reason,
                    status: 502,
                    backoff: exchange.rateBudget.backoff(now: unixMilliseconds())
                )
            }
        }
        handler.on(Operations.Execution.trades) { (request: WireRequest<TradesQuery>) throws(WireError) -> TradeList in
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            adoptSharedBackoff(control, exchange: exchange)
            switch exchange.trades(symbol: request.payload.symbol, limit: min(max(request.payload.limit, 1), 1_000)) {
            case .success(let trades): return TradeList(trades: trades)
            case .failure(let error): throw WireError(code: "trades_unreadable", detail: error.reason, status: 502)
            }
        }
    }

    /// The shared rate-limit back-off the control state carries, taken into this replica's budget
    /// (its queries wait out a ban another replica met).
    /// Also waits (at most 3 s) for the first measurement of the exchange's clock, which starts
    /// once the control state is heard: a request served in between is not signed on the host's
    /// clock alone.
    static func adoptSharedBackoff(_ control: ControlView, exchange: BinanceSpotClient) {
        if let shared = control.current()?.exchangeBackoff { exchange.rateBudget.adopt(shared, now: unixMilliseconds()) }
        let deadline = unixMilliseconds() + 3_000
        while exchange.clockReading.reading == nil, exchange.clockReading.lastFailure == nil, unixMilliseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// The shared back-off, as a refusal of a new live order: 429 `exchange_rate_budget` with
    /// `Retry-After`, nothing sent.
    static func rateRefusal(_ state: ControlState, exchange: BinanceSpotClient) -> WireError? {
        let now = unixMilliseconds()
        guard let shared = state.exchangeBackoff?.active(at: now) else { return nil }
        exchange.rateBudget.adopt(shared, now: now)
        let seconds = shared.retryAfterSeconds(at: now)
        return WireError(
            code: "exchange_rate_budget",
            detail: "\(shared.reason); every execution replica holds new orders for \(seconds) s more",
            status: 429,
            retryAfterSeconds: seconds
        )
    }

    /// The account hold the control state carries: no live order is sent while it stands.
    static func accountRefusal(_ state: ControlState) -> WireError? {
        guard let hold = state.accountHold else { return nil }
        let (code, detail) = Reconciliation.split(hold: hold)
        return WireError(code: code, detail: detail, status: 423)
    }
}
