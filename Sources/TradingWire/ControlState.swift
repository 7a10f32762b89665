/// Paper (simulated fills, the default) or live (real exchange orders).
public enum TradingMode: String, Codable, Sendable, CaseIterable {
    case paper
    case live
}

/// The whole control state, as the gateway publishes it on the PUB channel: never a delta, so a
/// dropped message or a late subscriber costs at most one publish interval.
public struct ControlState: Codable, Sendable, Equatable {
    /// Increases with every change; a subscriber ignores anything older than what it holds.
    public var seq: UInt64
    public var halted: Bool
    public var haltReason: String?
    public var riskLocked: Bool
    public var lockReason: String?
    public var tradingMode: TradingMode
    /// Publish time, Unix milliseconds.
    public var ts: Int64
    /// ACTIVE, REDUCING or HALTED (absent from publishers that predate trading states).
    public var tradingState: TradingState?
    /// Why the state is not ACTIVE.
    public var stateReason: String?
    /// Why live orders are refused by the account reconciliation (`account_mismatch: ...`,
    /// `account_unknown: ...`): no execution replica sends a live order while it stands.
    public var accountHold: String?
    /// The exchange's rate limits shared by every execution replica: no new live order (and,
    /// during a 429/418 ban, no exchange request) before its ends. Live mode only.
    public var exchangeBackoff: ExchangeBackoff?

    public init(
        seq: UInt64,
        halted: Bool,
        haltReason: String?,
        riskLocked: Bool,
        lockReason: String?,
        tradingMode: TradingMode,
        ts: Int64,
        tradingState: TradingState? = nil,
        stateReason: String? = nil,
        accountHold: String? = nil,
        exchangeBackoff: ExchangeBackoff? = nil
    ) {
        self.accountHold = accountHold
        self.exchangeBackoff = exchangeBackoff
        self.seq = seq
        self.halted = halted
        self.haltReason = haltReason
        self.riskLocked = riskLocked
        self.lockReason = lockReason
        self.tradingMode = tradingMode
        self.ts = ts
        self.tradingState = tradingState ?? (halted ? .halted : .active)
        self.stateReason = stateReason
    }

    /// Whether an order may be filled under this state.
    public var permitsTrading: Bool { !halted && !riskLocked }

    /// The topic frame every control message starts with.
    public static let topic: [UInt8] = Array("control".utf8)
}

/// The halt and lock flags, the trading state and the protection locks, as the risk worker,
/// their source of truth, reports them.
public struct RiskFlags: Codable, Sendable, Equatable {
    public var halted: Bool
    public var haltReason: String?
    public var riskLocked: Bool
    public var lockReason: String?
    /// REDUCING (unless halted): only orders that shrink a position are accepted.
    public var reducing: Bool
    public var reducingReason: String?
    /// Protection locks, possibly including some that ended since (compare `until` with now).
    public var locks: [ProtectionLock]
    /// Why live orders are refused by the account reconciliation (`account_mismatch: ...` or
    /// `account_unknown: ...`); nil while the live book agrees with the exchange, and in paper.
    public var accountHold: String?
    /// The exchange's rate-limit back-off the execution replicas reported (the latest ends; it
    /// may have ended since: compare with now).
    public var exchangeBackoff: ExchangeBackoff?

    public init(
        halted: Bool,
        haltReason: String?,
        riskLocked: Bool,
        lockReason: String?,
        reducing: Bool = false,
        reducingReason: String? = nil,
        locks: [ProtectionLock] = [],
        accountHold: String? = nil,
        exchangeBackoff: ExchangeBackoff? = nil
    ) {
        self.accountHold = accountHold
        self.exchangeBackoff = exchangeBackoff
        self.halted = halted
        self.haltReason = haltReason
        self.riskLocked = riskLocked
        self.lockReason = lockReason
        self.reducing = reducing
        self.reducingReason = reducingReason
        self.locks = locks
    }

    /// HALTED over REDUCING over ACTIVE.
    public var tradingState: TradingState { halted ? .halted : (reducing ? .reducing : .active) }

    /// Why the state is not ACTIVE.
    public var stateReason: String? { halted ? haltReason : (reducing ? reducingReason : nil) }

    /// The locks that hold at `now`.
    public func activeLocks(at now: Int64) -> [ProtectionLock] { locks.filter { now < $0.until } }

    private enum CodingKeys: String, CodingKey {
        case halted, haltReason, riskLocked, lockReason, reducing, reducingReason, locks, tradingState, accountHold, exchangeBackoff
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        halted = try container.decode(Bool.self, forKey: .halted)
        haltReason = try container.decodeIfPresent(String.self, forKey: .haltReason)
        riskLocked = try container.decode(Bool.self, forKey: .riskLocked)
        lockReason = try container.decodeIfPresent(String.self, forKey: .lockReason)
        reducing = try container.decodeIfPresent(Bool.self, forKey: .reducing) ?? false
        reducingReason = try container.decodeIfPresent(String.self, forKey: .reducingReason)
        locks = try container.decodeIfPresent([ProtectionLock].self, forKey: .locks) ?? []
        accountHold = try container.decodeIfPresent(String.self, forKey: .accountHold)
        exchangeBackoff = try container.decodeIfPresent(ExchangeBackoff.self, forKey: .exchangeBackoff)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(halted, forKey: .halted)
        try container.encodeIfPresent(haltReason, forKey: .haltReason)
        try container.encode(riskLocked, forKey: .riskLocked)
        try container.encodeIfPresent(lockReason, forKey: .lockReason)
        try container.encode(reducing, forKey: .reducing)
        try container.encodeIfPresent(reducingReason, forKey: .reducingReason)
        try container.encode(locks, forKey: .locks)
        try container.encode(tradingState, forKey: .tradingState)
        try container.encodeIfPresent(accountHold, forKey: .accountHold)
        try container.encodeIfPresent(exchangeBackoff, forKey: .exchangeBackoff)
    }
}
