import ServiceSupport
import Synchronization
import TradingWire

/// A worker's view of the control channel: the last whole state heard and when.
/// Fails closed: with no state, or one older than the stale limit, trading is not permitted.
public final class ControlView: Sendable {
    private struct Heard {
        var state: ControlState?
        var heardAt: Int64 = 0
    }

    private let heard = Mutex(Heard())
    private let staleMilliseconds: Int64

    public init(staleMilliseconds: Int) {
        self.staleMilliseconds = Int64(staleMilliseconds)
    }

    /// Records a state from the channel. Returns true when halt, lock or mode changed (or it is
    /// the first). A state whose `seq` is older than the one held is ignored: a delayed or
    /// replayed message never undoes a newer halt. The same `seq` again (the periodic re-publish)
    /// refreshes the state's age.
    @discardableResult
    public func update(_ state: ControlState, now: Int64 = unixMilliseconds()) -> Bool {
        heard.withLock { heard in
            let previous = heard.state
            if let previous, state.seq < previous.seq { return false }
            heard = Heard(state: state, heardAt: now)
            guard let previous else { return true }
            return previous.halted != state.halted || previous.riskLocked != state.riskLocked || previous.tradingMode != state.tradingMode
        }
    }

    /// The state, when it is fresh enough to act on.
    public func current(now: Int64 = unixMilliseconds()) -> ControlState? {
        heard.withLock { heard in
            guard let state = heard.state, now - heard.heardAt <= staleMilliseconds else { return nil }
            return state
        }
    }

    /// Why trading is refused right now, or nil if it is permitted.
    public func tradingRefusal(now: Int64 = unixMilliseconds()) -> WireError? {
        guard let state = current(now: now) else {
            return WireError(
                code: "control_state_unknown",
                detail: "no control state heard in the last \(staleMilliseconds) ms: holding as halted",
                status: 503
            )
        }
        if state.halted {
            return WireError(code: "trading_halted", detail: state.haltReason ?? "trading is halted", status: 423)
        }
        if state.riskLocked {
            return WireError(code: "risk_locked", detail: state.lockReason ?? "risk is locked", status: 423)
        }
        return nil
    }
}
