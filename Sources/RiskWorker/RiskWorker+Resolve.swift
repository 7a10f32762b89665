import Foundation
import TradingDomain
import TradingWire
import WorkerRuntime

extension RiskWorker {
    /// `resolve_order`: settles a live order outside the execute path, with an audit row naming
    /// who and the evidence. `operator`: a pending order; `late_fill`: the rejected-to-filled
    /// transition of an order the exchange shows filled after all (its money booked once).
    func registerResolve(on handler: inout OperationHandler) {
        handler.on(Operations.Risk.resolveOrder) { [self] (request: WireRequest<ResolveOrderRequest>) throws(WireError) -> SettleResult in
            let resolution = request.payload
            let id = resolution.clientOrderId
            let stored = try lookUp(id, known: false)
            return try mutate(touching: [id]) { (engine: inout RiskEngine) throws(WireError) in
                if let stored { engine.remember(stored) }
                guard let order = engine.orders[id] else {
                    throw WireError(code: "unknown_order", detail: "no order \(id) in the ledger", status: 404)
                }
                guard order.mode == .live else { throw WireError(code: "not_live", detail: "order \(id) is not a live order", status: 409) }
                let was = order.status.rawValue
                let result: SettleResult
                switch resolution.kind {
                case .operator:
                    guard order.status == .pending else {
                        throw WireError(code: "order_not_pending", detail: "order \(id) is already \(was)", status: 409)
                    }
                    result = try engine.settle(SettleRequest(clientOrderId: id, fill: resolution.fill, rejectReason: resolution.rejectReason))
                case .lateFill:
                    guard let fill = resolution.fill else { throw WireError(code: "invalid_fill", detail: "a late fill needs its fill", status: 422) }
                    let (settled, changed) = try engine.bookLateFill(clientOrderId: id, fill: fill)
                    guard changed else { return (settled, [], [], nil) }
                    result = settled
                }
                let action = "resolve \(id) \(was) -> \(result.order.status.rawValue) (\(resolution.kind.rawValue))"
                return (result, [result.order], [result.order.intent.symbol], (action, resolution.requestedBy, resolution.evidence))
            }
        }
    }
}
