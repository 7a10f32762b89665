import Foundation
import Logging
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The live book's operations: an account snapshot applied (the reconciler's, or later a user
/// data stream event's) and the operator's adoption of the exchange's balances (audited).
extension RiskWorker {
    func registerLiveBook(on handler: inout OperationHandler) {
        handler.on(Operations.Risk.applyAccount) { [self] (request: WireRequest<AccountReport>) throws(WireError) -> LiveBookStatus in
            try applyAccountSnapshot(request.payload, requestID: request.requestId)
        }
        handler.on(Operations.Risk.adoptAccount) { [self] (request: WireRequest<AdoptRequest>) throws(WireError) -> LiveBookStatus in
            let adoption = request.payload
            guard !adoption.reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw WireError(code: "reason_required", detail: "an adoption needs a reason", status: 422)
            }
            return try mutateLive { (engine: inout RiskEngine) throws(WireError) in
                let before = try engine.adoptAccount(adoption, now: unixMilliseconds())
                let after = engine.live.balances
                logger.warning(
                    "live book adopted the exchange's balances",
                    metadata: [
                        "request.id": "\(request.requestId)", "requestedBy": "\(adoption.requestedBy)", "reason": "\(adoption.reason)",
                        "before": "\(Self.describe(before))", "after": "\(Self.describe(after))",
                    ]
                )
                var status = engine.liveStatus(outcome: "adopted")
                status.flags = engine.flags
                let audit = "\(adoption.reason) | before: \(Self.describe(before)) | after: \(Self.describe(after))"
                return (status, ("adopt", adoption.requestedBy, audit))
            }
        }
    }

    /// Applies one account snapshot (or why none could be had) to the live book, persisted
    /// before the answer; a change of the reconciliation's state is logged.
    func applyAccountSnapshot(_ report: AccountReport, requestID: String) throws(WireError) -> LiveBookStatus {
        try mutateLive { engine in
            let was = engine.live.reconciliation.state
            let status = engine.applyAccount(report, now: unixMilliseconds())
            let now = status.reconciliation
            if now.state != was || status.outcome == "built" {
                let metadata: Logger.Metadata = [
                    "request.id": "\(requestID)", "was": "\(was.rawValue)", "state": "\(now.state.rawValue)", "outcome": "\(status.outcome ?? "")",
                    "detail": "\(now.detail ?? "")",
                ]
                if now.state == .ok {
                    logger.info("live book reconciled with the exchange", metadata: metadata)
                } else {
                    logger.warning("live book and exchange account: live orders refused", metadata: metadata)
                }
            }
            return (status, nil)
        }
    }

    static func describe(_ balances: [String: Decimal]) -> String {
        balances.keys.sorted().map { "\($0) \(balances[$0]?.plainText ?? "")" }.joined(separator: ", ")
    }
}
