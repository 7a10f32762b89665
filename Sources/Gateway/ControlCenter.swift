import Foundation
import Logging
import ServiceSupport
import Synchronization
import TradingWire

/// The gateway's copy of the risk worker's status and the control state it publishes.
///
/// The risk worker is the source of truth for halt and lock. Until the gateway has heard from
/// it, nothing is published, so every worker stays in its fail-closed "unknown" state. Two
/// things halt the channel without waiting for the risk worker: an operator's halt (broadcast at
/// once, persisted after; held until the risk worker confirms it) and the risk worker's silence
/// beyond the stale limit.
public final class ControlCenter: Sendable {
    struct State {
        var status: RiskStatus?
        var statusAt: Int64 = 0
        /// The flags the risk worker last reported.
        var riskFlags: RiskFlags?
        /// An operator's halt broadcast before the risk worker has recorded it.
        var haltInFlight: String?
        /// Set while the risk worker has been silent beyond the stale limit.
        var riskSilence: String?
        var control: ControlState?
        /// The protection locks already announced, with their ends; nil until the first flags are
        /// heard (the locks held then are the baseline, not news). A lock is forgotten only once
        /// it has ended, so a late reply that predates a lock cannot make it news twice.
        var announcedLocks: [String: Int64]?
        /// A rate-limit back-off broadcast before the risk worker has recorded it.
        var backoffInFlight: ExchangeBackoff?
    }

    private let state = Mutex(State())
    private let broker: Broker
    let tradingMode: TradingMode
    let logger: Logger
    /// The first `seq`: the start time, so that a restarted gateway's states are newer than any a
    /// worker still holds from before (workers ignore an older `seq`).
    private let firstSeq = UInt64(max(0, unixMilliseconds()))
    private let notifier: Notifier?
    /// Live orders the exchange has not settled and the exchange's clock (`LiveOrderWatch`).
    let liveOrders = LiveOrderWatch()

    init(broker: Broker, tradingMode: TradingMode, logger: Logger, notifier: Notifier? = nil) {
        self.broker = broker
        self.tradingMode = tradingMode
        self.logger = logger
        self.notifier = notifier
    }

    /// The last risk status heard, and when (Unix ms).
    /// Its flags are the effective ones: a halt broadcast but not yet recorded counts.
    public var riskStatus: (status: RiskStatus, at: Int64)? {
        state.withLock { state in
            guard var status = state.status else { return nil }
            if let flags = Self.effective(state) { status.flags = flags }
            return (status, state.statusAt)
        }
    }

    public var control: ControlState? { state.withLock { $0.control } }

    /// A full status from the risk worker: it is alive again, whatever it was before.
    func update(status: RiskStatus) {
        change { state in
            state.status = status
            state.statusAt = unixMilliseconds()
            state.riskSilence = nil
            Self.record(status.flags, in: &state)
        }
    }

    /// Flags from any risk reply; publishes at once when they changed.
    func update(flags: RiskFlags) {
        change { state in
            state.status?.flags = flags
            Self.record(flags, in: &state)
        }
    }

    /// The live book after a reconciliation or an adoption: the cached status shows it at once
    /// (the gateway's refusal and the preflight read it), and its flags are published.
    func update(live: LiveBookStatus) {
        change { state in
            state.status?.live = live
            if let flags = live.flags {
                state.status?.flags = flags
                Self.record(flags, in: &state)
            }
        }
    }

    /// Broadcasts a halt now, before anything is persisted: every worker holds within one
    /// message. The halt stays in force until the risk worker reports it recorded (or a resume
    /// it confirmed clears it).
    func haltNow(reason: String) {
        change { $0.haltInFlight = reason }
    }

    /// Broadcasts an execution replica's rate-limit back-off now; it stays in force until the
    /// risk worker's flags carry it (or it ends).
    func backoffNow(_ backoff: ExchangeBackoff) {
        change { $0.backoffInFlight = backoff.merged(with: $0.backoffInFlight) }
    }

    /// The rate-limit back-off every replica holds at `now` (live mode only), nil when none.
    func sharedBackoff(at now: Int64 = unixMilliseconds()) -> ExchangeBackoff? {
        guard tradingMode == .live else { return nil }
        return state.withLock { Self.backoff(in: $0, now: now) }
    }

    private static func backoff(in state: State, now: Int64) -> ExchangeBackoff? {
        let recorded = state.riskFlags?.exchangeBackoff?.active(at: now)
        guard let flying = state.backoffInFlight?.active(at: now) else { return recorded }
        return flying.merged(with: recorded)
    }

    /// The risk worker recorded an operator's resume or reset: a halt still in flight is over.
    func operatorCleared(status: RiskStatus) {
        change { state in
            state.haltInFlight = nil
            state.status = status
            state.statusAt = unixMilliseconds()
            state.riskSilence = nil
            Self.record(status.flags, in: &state)
        }
    }

    /// The risk worker has not answered for `milliseconds`: every worker holds until it does.
    func riskWorkerSilent(forMilliseconds milliseconds: Int64) {
        change { state in
            guard state.riskFlags != nil, state.riskSilence == nil else { return }
            state.riskSilence = "the risk worker has been silent for \(milliseconds) ms: holding every order until it answers"
        }
    }

    private static func record(_ flags: RiskFlags, in state: inout State) {
        state.riskFlags = flags
        // The risk worker now holds the halt (or an operator's resume went through it): the
        // broadcast-first halt has done its job.
        if flags.halted || state.haltInFlight == nil { state.haltInFlight = nil }
        if let flying = state.backoffInFlight, let recorded = flags.exchangeBackoff, recorded.covers(flying) { state.backoffInFlight = nil }
    }

    /// The effective flags: the risk worker's, with the halts it does not know of yet.
    private static func effective(_ state: State) -> RiskFlags? {
        guard
            var flags = state.riskFlags
                ?? (state.haltInFlight != nil ? RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil) : nil)
        else { return nil }
        if !flags.halted, let reason = state.haltInFlight ?? state.riskSilence {
            flags.halted = true
            flags.haltReason = reason
        }
        return flags
    }

    /// The locks in `state.riskFlags` not announced before (none the first time flags are heard),
    /// and every lock held from now on counted as announced.
    private static func newLocks(in state: inout State, now: Int64) -> [ProtectionLock] {
        guard let locks = state.riskFlags?.locks else { return [] }
        var announced = state.announcedLocks?.filter { $0.value > now }
        let fresh = announced.map { known in locks.filter { known[$0.id] == nil && $0.until > now } } ?? []
        if announced == nil { announced = [:] }
        for lock in locks { announced?[lock.id] = lock.until }
        state.announcedLocks = announced
        return fresh
    }

    /// Applies `body`, then publishes the new control state when the effective flags changed, and
    /// announces protection locks not seen before.
    private func change(_ body: (inout State) -> Void) {
        let (previous, changed, locks): (ControlState?, ControlState?, [ProtectionLock]) = state.withLock { state in
            body(&state)
            let locks = Self.newLocks(in: &state, now: unixMilliseconds())
            guard let flags = Self.effective(state) else { return (state.control, nil, locks) }
            // The account hold concerns live orders only: paper mode carries none.
            let hold = tradingMode == .live ? flags.accountHold : nil
            let backoff = tradingMode == .live ? Self.backoff(in: state, now: unixMilliseconds()) : nil
            if let current = state.control, current.halted == flags.halted, current.haltReason == flags.haltReason,
                current.riskLocked == flags.riskLocked, current.lockReason == flags.lockReason,
                current.tradingState == flags.tradingState, current.stateReason == flags.stateReason, current.accountHold == hold,
                current.exchangeBackoff == backoff
            {
                return (current, nil, locks)
            }
            let next = ControlState(
                seq: (state.control?.seq).map { $0 + 1 } ?? firstSeq,
                halted: flags.halted,
                haltReason: flags.haltReason,
                riskLocked: flags.riskLocked,
                lockReason: flags.lockReason,
                tradingMode: tradingMode,
                ts: unixMilliseconds(),
                tradingState: flags.tradingState,
                stateReason: flags.stateReason,
                accountHold: hold,
                exchangeBackoff: backoff
            )
            let previous = state.control
            state.control = next
            return (previous, next, locks)
        }
        for lock in locks {
            logger.info(
                "protection lock set",
                metadata: [
                    "lock": "\(lock.id)", "rule": "\(lock.rule)", "symbol": "\(lock.symbol ?? "ALL")", "until": "\(ISO8601Millis.format(lock.until))",
                ]
            )
            if let notifier { ControlNotifications.announce(lock: lock, notifier: notifier) }
        }
        if let changed {
            broker.publish(changed)
            logger.info(
                "control state changed",
                metadata: [
                    "seq": "\(changed.seq)", "halted": "\(changed.halted)", "riskLocked": "\(changed.riskLocked)",
                    "tradingState": "\(changed.tradingState?.rawValue ?? "")",
                    "reason": "\(changed.lockReason ?? changed.haltReason ?? "")",
                ]
            )
            if let notifier { ControlNotifications.announce(from: previous, to: changed, notifier: notifier) }
        }
    }
}
