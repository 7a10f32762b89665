import Foundation
import Logging
import ServiceSupport
import Synchronization
import TradingWire

/// The gateway's copy of the risk worker's status and the control state it publishes.
///
/// The risk worker is the source of truth for halt and lock. Until the gateway has heard from
/// it, nothing is published, so every worker stays in its fail-closed "unknown" state.
public final class ControlCenter: Sendable {
    struct State {
        var status: RiskStatus?
        var statusAt: Int64 = 0
        var control: ControlState?
    }

    private let state = Mutex(State())
    private let broker: Broker
    let tradingMode: TradingMode
    private let logger: Logger
    private let notifier: Notifier?

    init(broker: Broker, tradingMode: TradingMode, logger: Logger, notifier: Notifier? = nil) {
        self.broker = broker
        self.tradingMode = tradingMode
        self.logger = logger
        self.notifier = notifier
    }

    /// The last risk status heard, and when (Unix ms).
    public var riskStatus: (status: RiskStatus, at: Int64)? {
        state.withLock { state in state.status.map { ($0, state.statusAt) } }
    }

    public var control: ControlState? { state.withLock { $0.control } }

    /// A full status from the risk worker.
    func update(status: RiskStatus) {
        state.withLock {
            $0.status = status
            $0.statusAt = unixMilliseconds()
        }
        update(flags: status.flags)
    }

    /// Flags from any risk reply; publishes at once when they changed.
    func update(flags: RiskFlags) {
        let (previous, changed): (ControlState?, ControlState?) = state.withLock { state in
            if let current = state.control, current.halted == flags.halted, current.haltReason == flags.haltReason,
                current.riskLocked == flags.riskLocked, current.lockReason == flags.lockReason
            {
                return (current, nil)
            }
            let next = ControlState(
                seq: (state.control?.seq ?? 0) + 1, halted: flags.halted, haltReason: flags.haltReason,
                riskLocked: flags.riskLocked, lockReason: flags.lockReason, tradingMode: tradingMode, ts: unixMilliseconds())
            let previous = state.control
            state.control = next
            state.status?.flags = flags
            return (previous, next)
        }
        if let changed {
            logger.info(
                "control state changed",
                metadata: [
                    "seq": "\(changed.seq)", "halted": "\(changed.halted)", "riskLocked": "\(changed.riskLocked)",
                    "reason": "\(changed.lockReason ?? changed.haltReason ?? "")",
                ])
            broker.publish(changed)
            if let notifier { ControlNotifications.announce(from: previous, to: changed, notifier: notifier) }
        }
    }
}
