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

    public init(
        seq: UInt64, halted: Bool, haltReason: String?, riskLocked: Bool, lockReason: String?,
        tradingMode: TradingMode, ts: Int64
    ) {
        self.seq = seq
        self.halted = halted
        self.haltReason = haltReason
        self.riskLocked = riskLocked
        self.lockReason = lockReason
        self.tradingMode = tradingMode
        self.ts = ts
    }

    /// Whether an order may be filled under this state.
    public var permitsTrading: Bool { !halted && !riskLocked }

    /// The topic frame every control message starts with.
    public static let topic: [UInt8] = Array("control".utf8)
}

/// The halt and lock flags as the risk worker, their source of truth, reports them.
public struct RiskFlags: Codable, Sendable, Equatable {
    public var halted: Bool
    public var haltReason: String?
    public var riskLocked: Bool
    public var lockReason: String?

    public init(halted: Bool, haltReason: String?, riskLocked: Bool, lockReason: String?) {
        self.halted = halted
        self.haltReason = haltReason
        self.riskLocked = riskLocked
        self.lockReason = lockReason
    }
}
