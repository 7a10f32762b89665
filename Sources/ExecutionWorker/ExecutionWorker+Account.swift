import ExchangeAdapter
import Foundation
import TradingWire
import WorkerRuntime

/// The live account's reads: the balances and the trades, for the gateway's account reconciler.
extension ExecutionWorker {
    static func registerAccount(on handler: inout OperationHandler, exchange: BinanceSpotClient?) {
        handler.on(Operations.Execution.account) { (request: WireRequest<AccountQuery>) throws(WireError) -> ExchangeAccount in
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            switch exchange.account(assets: request.payload.assets) {
            case .account(let account): return account
            case .unknown(let reason): throw WireError(code: "account_unreadable", detail: reason, status: 502)
            }
        }
        handler.on(Operations.Execution.trades) { (request: WireRequest<TradesQuery>) throws(WireError) -> TradeList in
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            switch exchange.trades(symbol: request.payload.symbol, limit: min(max(request.payload.limit, 1), 1_000)) {
            case .success(let trades): return TradeList(trades: trades)
            case .failure(let error): throw WireError(code: "trades_unreadable", detail: error.reason, status: 502)
            }
        }
    }

    /// The account hold the control state carries: no live order is sent while it stands.
    static func accountRefusal(_ state: ControlState) -> WireError? {
        guard let hold = state.accountHold else { return nil }
        let (code, detail) = Reconciliation.split(hold: hold)
        return WireError(code: code, detail: detail, status: 423)
    }
}
