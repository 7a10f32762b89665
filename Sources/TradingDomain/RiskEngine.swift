import Foundation
import TradingWire

/// The risk rules, the paper account and the order book, with no I/O: the risk worker persists
/// what this decides. Every refusal is a `WireError` with its own code and HTTP status.
public struct RiskEngine: Sendable {
    public var limits: RiskLimits
    public private(set) var flags: RiskFlags
    public private(set) var portfolio: Portfolio
    public private(set) var orders: [String: Order]

    public init(limits: RiskLimits, flags: RiskFlags? = nil, portfolio: Portfolio? = nil, orders: [String: Order] = [:]) {
        self.limits = limits
        self.flags = flags ?? RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil)
        self.portfolio = portfolio ?? Portfolio(startingCash: limits.startingEquityUsd)
        self.orders = orders
    }

    public var status: RiskStatus { RiskStatus(flags: flags, account: portfolio.snapshot, limits: limits) }

    /// The consensus gate: threshold, halt and lock.
    public func gate(_ request: GateRequest) -> GateResult {
        Self.gate(request, flags: flags, limits: limits)
    }

    /// The gate as a pure function of the flags and limits, so that whoever holds the risk
    /// worker's latest status (the gateway) decides exactly as the risk worker would.
    public static func gate(_ request: GateRequest, flags: RiskFlags, limits: RiskLimits) -> GateResult {
        var reasons: [String] = []
        if flags.halted { reasons.append("trading halted: \(flags.haltReason ?? "no reason given")") }
        if flags.riskLocked { reasons.append("risk_locked: \(flags.lockReason ?? "no reason given")") }
        if request.confidence < limits.confidenceThreshold {
            reasons.append("confidence \(format(request.confidence)) is below the threshold \(limits.confidenceThreshold)")
        }
        return GateResult(allow: reasons.isEmpty, reasons: reasons, flags: flags)
    }

    /// Pre-trade check and reservation: a known client order id returns its order unchanged;
    /// a new one passes every rule and is written as pending.
    public mutating func reserve(_ request: ReserveRequest, now: Int64) throws(WireError) -> ReserveResult {
        let intent = request.intent
        if let existing = orders[intent.clientOrderId] {
            guard existing.intent == intent else {
                throw WireError(
                    code: "client_order_id_conflict",
                    detail: "client order id \(intent.clientOrderId) was used for a different order", status: 409)
            }
            return ReserveResult(order: existing, duplicate: true, markPrice: nil, flags: flags)
        }
        if flags.halted {
            throw WireError(code: "trading_halted", detail: flags.haltReason ?? "trading is halted", status: 423)
        }
        if flags.riskLocked {
            throw WireError(code: "risk_locked", detail: flags.lockReason ?? "risk is locked", status: 423)
        }
        if intent.confidence < limits.confidenceThreshold {
            throw WireError(
                code: "confidence_below_threshold",
                detail: "confidence \(Self.format(intent.confidence)) is below the threshold \(limits.confidenceThreshold)", status: 422)
        }
        if intent.qtyUsd > limits.maxOrderNotionalUsd {
            throw WireError(
                code: "max_order_notional",
                detail: "order notional \(intent.qtyUsd) exceeds the limit \(limits.maxOrderNotionalUsd)", status: 422)
        }
        guard let markPrice = portfolio.marks[intent.symbol] else {
            throw WireError(
                code: "no_price",
                detail: "no market price is known for \(intent.symbol): feed candles with POST /api/market/candles first", status: 409)
        }
        let signed = intent.side == .buy ? intent.qtyUsd : -intent.qtyUsd
        let after = portfolio.positionValue(intent.symbol) + signed
        if (after < 0 ? -after : after) > limits.maxPositionUsd {
            throw WireError(
                code: "max_position",
                detail: "position in \(intent.symbol) would be \(after.rounded(scale: 2)), beyond the limit \(limits.maxPositionUsd)", status: 422)
        }
        let order = Order(intent: intent, status: .pending, mode: request.mode, createdAt: now)
        orders[intent.clientOrderId] = order
        return ReserveResult(order: order, duplicate: false, markPrice: markPrice, flags: flags)
    }

    /// Records the outcome of execution. Settling an order twice with the same outcome is a no-op;
    /// a second, different fill is refused.
    public mutating func settle(_ request: SettleRequest) throws(WireError) -> SettleResult {
        guard var order = orders[request.clientOrderId] else {
            throw WireError(code: "unknown_order", detail: "no order \(request.clientOrderId) in the ledger", status: 404)
        }
        switch order.status {
        case .filled, .rejected:
            if order.fill == request.fill {
                return SettleResult(order: order, account: portfolio.snapshot, flags: flags)
            }
            throw WireError(code: "order_already_settled", detail: "order \(request.clientOrderId) is already \(order.status.rawValue)", status: 409)
        case .pending:
            break
        }
        if let fill = request.fill {
            portfolio.apply(symbol: order.intent.symbol, side: order.intent.side, quantity: fill.quantity, price: fill.price, fee: fill.fee)
            order.status = .filled
            order.fill = fill
            checkDrawdown()
        } else {
            order.status = .rejected
            order.rejectReason = request.rejectReason ?? "rejected by execution"
        }
        orders[request.clientOrderId] = order
        return SettleResult(order: order, account: portfolio.snapshot, flags: flags)
    }

    /// A new price: marks the account and may trip the drawdown brake. Returns true if it tripped now.
    @discardableResult
    public mutating func mark(symbol: String, price: Decimal) -> Bool {
        portfolio.mark(symbol, price: price)
        return checkDrawdown()
    }

    /// Clears the drawdown lock; the peak restarts at the current equity so the brake does not
    /// trip again on the same loss.
    public mutating func resetLock() {
        flags.riskLocked = false
        flags.lockReason = nil
        portfolio = Portfolio(cash: portfolio.cash, positions: portfolio.positions, marks: portfolio.marks, peakEquity: portfolio.equity)
    }

    public mutating func halt(reason: String) {
        flags.halted = true
        flags.haltReason = reason
    }

    public mutating func resume() {
        flags.halted = false
        flags.haltReason = nil
    }

    @discardableResult
    private mutating func checkDrawdown() -> Bool {
        let drawdown = portfolio.drawdown
        guard !flags.riskLocked, drawdown >= limits.maxDrawdown else { return false }
        flags.riskLocked = true
        flags.lockReason = "risk_locked: drawdown \(Self.format(drawdown)) reached the limit \(limits.maxDrawdown)"
        return true
    }

    static func format(_ value: Double) -> String {
        String(format: "%.4f", value)
    }
}
