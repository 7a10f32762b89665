import Foundation
import Logging
import ServiceSupport
import TradingWire

/// The exchange's rate-limit back-off one execution replica met, shared with every replica: the
/// control state carries it at once (before the risk worker has recorded it, as a halt does), and
/// the risk worker persists it, so a restarted stack still waits.
extension ControlCenter {
    /// `/health` `liveOrders`, with the back-off every replica holds.
    var liveHealth: LiveOrderHealth {
        var health = liveOrders.health
        health.exchangeBackoff = sharedBackoff()
        return health
    }

    /// 429 `exchange_rate_budget` with `Retry-After` while a back-off holds every replica, naming
    /// what else holds the order (`besides`); nil when none holds.
    func rateBudgetRefusal(besides: String) -> APIError? {
        let now = unixMilliseconds()
        guard let backoff = sharedBackoff(at: now) else { return nil }
        var refusal = APIError(.tooManyRequests, "exchange_rate_budget", "\(backoff.reason); every execution replica holds new orders (\(besides))")
        refusal.retryAfterSeconds = backoff.retryAfterSeconds(at: now)
        return refusal
    }

    /// Broadcasts `backoff` (merged with what is already shared), then has the risk worker record
    /// it. Nothing is done for a back-off that has ended or that the shared one already covers.
    func share(_ backoff: ExchangeBackoff, reportedBy: String, workers: WorkerClient) async {
        let now = unixMilliseconds()
        guard tradingMode == .live, let backoff = backoff.bounded(now: now).active(at: now) else { return }
        if let shared = sharedBackoff(at: now), shared.covers(backoff) { return }
        backoffNow(backoff)
        do {
            let flags: RiskFlags = try await workers.call(
                ServiceName.risk,
                Operations.Risk.exchangeBackoff,
                payload: ExchangeBackoffReport(backoff: backoff, reportedBy: reportedBy),
                requestID: reportedBy
            )
            update(flags: flags)
        } catch {
            // Still broadcast from memory; the next report (or poll) tries to record it again.
            logger.warning(
                "the exchange's back-off could not be recorded by the risk worker: broadcast only",
                metadata: ["error": "\(error.apiError)", "reason": "\(backoff.reason)"]
            )
        }
    }
}
