import Foundation
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The execution replicas' shared rate-limit back-off: recorded in the ledger's account row
/// before the answer, so a restarted stack still waits; the flags carry it to the gateway, whose
/// control state carries it to every replica.
extension RiskWorker {
    func registerBackoff(on handler: inout OperationHandler) {
        handler.on(Operations.Risk.exchangeBackoff) { [self] (request: WireRequest<ExchangeBackoffReport>) throws(WireError) -> RiskFlags in
            let report = request.payload
            guard report.backoff.ordersUntil > 0, report.backoff.requestsUntil >= 0 else {
                throw WireError(code: "invalid_backoff", detail: "a back-off needs a positive ordersUntil (Unix ms)", status: 422)
            }
            return try mutate { engine in
                let now = unixMilliseconds()
                if engine.recordExchangeBackoff(report.backoff, now: now), let shared = engine.flags.exchangeBackoff {
                    logger.warning(
                        "exchange rate limit: every execution replica holds new live orders",
                        metadata: [
                            "request.id": "\(request.requestId)", "reportedBy": "\(report.reportedBy)",
                            "ordersUntil": "\(ISO8601Millis.format(shared.ordersUntil))",
                            "requestsUntil": "\(shared.requestsUntil > now ? ISO8601Millis.format(shared.requestsUntil) : "-")",
                            "reason": "\(shared.reason)",
                        ]
                    )
                }
                return (engine.flags, [], [], nil)
            }
        }
    }
}
