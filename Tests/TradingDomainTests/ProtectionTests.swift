import Foundation
import Testing
import TradingDomain
import TradingWire

/// A paper account without fees or slippage, so every PnL is hand-checkable.
private func engine(_ configure: (inout RiskLimits) -> Void = { _ in }) -> RiskEngine {
    var limits = RiskLimits(
        confidenceThreshold: 0.6,
        maxOrderNotionalUsd: 10_000,
        maxPositionUsd: 50_000,
        maxDrawdown: 0.5,
        startingEquityUsd: 100_000,
        slippageBps: 0,
        feeBps: 0
    )
    configure(&limits)
    return RiskEngine(limits: limits)
}

private let t0: Int64 = 1_700_000_000_000
private let minute: Int64 = 60_000

/// Reserves and settles one paper order at the engine's mark; returns the error code on refusal.
@discardableResult
private func trade(_ engine: inout RiskEngine, _ id: String, _ side: Side, _ usd: Decimal, symbol: String = "BTCUSDT", at now: Int64) -> String? {
    do {
        let intent = OrderIntent(clientOrderId: id, symbol: symbol, side: side, qtyUsd: usd, confidence: 0.9)
        let reserved = try engine.reserve(ReserveRequest(intent: intent, mode: .paper), now: now)
        guard let terms = reserved.order.terms else { return "no_terms" }
        let fill = try RiskEngine.paperFill(reserved.order, terms: terms)
        _ = try engine.settle(SettleRequest(clientOrderId: id, fill: fill, rejectReason: nil))
        return nil
    } catch {
        return error.code
    }
}

/// Opens a 1,000 USD long at 100 and closes it at `exit`: a loss below 100, a gain above.
private func roundTrip(_ engine: inout RiskEngine, _ name: String, _ symbol: String = "BTCUSDT", exit: Decimal, at now: Int64) {
    engine.mark(symbol: symbol, price: 100, now: now)
    #expect(trade(&engine, "\(name)-open", .buy, 1_000, symbol: symbol, at: now) == nil)
    engine.mark(symbol: symbol, price: exit, now: now)
    #expect(trade(&engine, "\(name)-close", .sell, 10 * exit, symbol: symbol, at: now) == nil)
}

@Suite("trading states")
struct TradingStateTests {
    @Test("REDUCING refuses what opens or grows a position (423 reducing_only) and accepts what reduces it")
    func reducing() throws {
        var risk = engine()
        risk.mark(symbol: "BTCUSDT", price: 100, now: t0)
        #expect(trade(&risk, "open", .buy, 1_000, at: t0) == nil)
        risk.setState(.reducing, reason: "ops")
        #expect(risk.flags.tradingState == .reducing)
        #expect(trade(&risk, "grow", .buy, 100, at: t0) == "reducing_only")
        #expect(trade(&risk, "other", .buy, 100, symbol: "ETHUSDT", at: t0) == "reducing_only")
        #expect(trade(&risk, "flip", .sell, 1_500, at: t0) == "reducing_only")
        #expect(trade(&risk, "cut", .sell, 400, at: t0) == nil)
        #expect(risk.portfolio.positions["BTCUSDT"]?.quantity == 6)
        risk.setState(.halted, reason: "stop")
        #expect(risk.flags.tradingState == .halted)
        #expect(trade(&risk, "cut2", .sell, 100, at: t0) == "trading_halted")
        risk.setState(.active, reason: nil)
        #expect(risk.flags.tradingState == .active)
        #expect(trade(&risk, "grow2", .buy, 100, at: t0) == nil)
    }

    @Test("the gate answers allow false in REDUCING for the side that grows the position, with the reason")
    func gate() {
        var risk = engine()
        risk.setState(.reducing, reason: "ops said so")
        let result = risk.gate(GateRequest(symbol: "BTCUSDT", side: .buy, confidence: 0.9), now: t0)
        #expect(!result.allow)
        #expect(result.reasons.contains { $0.hasPrefix("reducing_only") && $0.contains("ops said so") })
    }

    @Test("DRAWDOWN_ACTION=reduce goes to REDUCING instead of locking; lock (the default) locks")
    func drawdownAction() {
        for action in DrawdownAction.allCases {
            var risk = engine {
                $0.maxDrawdown = 0.01
                $0.drawdownAction = action
            }
            risk.mark(symbol: "BTCUSDT", price: 100, now: t0)
            #expect(trade(&risk, "open", .buy, 10_000, at: t0) == nil)
            let tripped = risk.mark(symbol: "BTCUSDT", price: 80, now: t0)  // 2,000 of 100,000: 2 %
            #expect(tripped)
            switch action {
            case .lock:
                #expect(risk.flags.riskLocked)
                #expect(trade(&risk, "cut", .sell, 100, at: t0) == "risk_locked")
            case .reduce:
                #expect(!risk.flags.riskLocked)
                #expect(risk.flags.tradingState == .reducing)
                #expect(trade(&risk, "grow", .buy, 100, at: t0) == "reducing_only")
                #expect(trade(&risk, "cut", .sell, 100, at: t0) == nil)
                // Leaving REDUCING restarts the peak: the brake does not trip again on the same loss.
                risk.setState(.active, reason: nil)
                let again = risk.mark(symbol: "BTCUSDT", price: 80, now: t0)
                #expect(!again)
                #expect(risk.flags.tradingState == .active)
            }
        }
    }
}

@Suite("protections")
struct ProtectionTests {
    @Test("cooldown: a losing trade locks its symbol for COOLDOWN_MINUTES; the refusal names the lock and its end; it expires alone")
    func cooldown() throws {
        var risk = engine { $0.protections.cooldownMinutes = 30 }
        roundTrip(&risk, "a", exit: 90, at: t0)
        let lock = try #require(risk.protections.active(at: t0).first)
        #expect(lock.rule == "cooldown")
        #expect(lock.symbol == "BTCUSDT")
        #expect(lock.until == t0 + 30 * minute)
        #expect(risk.flags.locks == [lock])
        do {
            _ = try risk.reserve(
                ReserveRequest(intent: OrderIntent(clientOrderId: "b", symbol: "BTCUSDT", side: .buy, qtyUsd: 100, confidence: 0.9), mode: .paper),
                now: t0 + minute
            )
            Issue.record("a locked symbol took an order")
        } catch {
            #expect(error.code == "symbol_locked")
            #expect(error.status == 423)
            #expect(error.detail.contains(lock.id))
            #expect(error.detail.contains(ISO8601Millis.format(lock.until)))
        }
        // Other symbols trade; the gate says why BTCUSDT does not.
        risk.mark(symbol: "ETHUSDT", price: 10, now: t0 + minute)
        #expect(trade(&risk, "eth", .buy, 100, symbol: "ETHUSDT", at: t0 + minute) == nil)
        let gate = risk.gate(GateRequest(symbol: "BTCUSDT", side: .buy, confidence: 0.9), now: t0 + minute)
        #expect(!gate.allow)
        #expect(gate.reasons.contains { $0.contains("symbol_locked") && $0.contains(lock.id) })
        // At its end, the lock no longer holds.
        risk.mark(symbol: "BTCUSDT", price: 100, now: t0 + 30 * minute)
        #expect(risk.protections.active(at: t0 + 30 * minute).isEmpty)
        #expect(trade(&risk, "c", .buy, 100, at: t0 + 30 * minute) == nil)
    }

    @Test("cooldown: a winning trade sets no lock")
    func winner() {
        var risk = engine { $0.protections.cooldownMinutes = 30 }
        roundTrip(&risk, "a", exit: 110, at: t0)
        #expect(risk.protections.locks.isEmpty)
        #expect(risk.protections.trades.count == 1)
        #expect(risk.protections.trades.first?.pnl == 100)
    }

    @Test("a lock refuses growing a position but not reducing it")
    func lockAllowsExit() {
        var risk = engine { $0.protections.cooldownMinutes = 30 }
        risk.mark(symbol: "BTCUSDT", price: 100, now: t0)
        #expect(trade(&risk, "open", .buy, 2_000, at: t0) == nil)
        risk.mark(symbol: "BTCUSDT", price: 90, now: t0)
        #expect(trade(&risk, "half", .sell, 900, at: t0) == nil)  // realises −100: cooldown
        #expect(risk.protections.active(at: t0).count == 1)
        #expect(trade(&risk, "grow", .buy, 100, at: t0) == "symbol_locked")
        #expect(trade(&risk, "rest", .sell, 900, at: t0) == nil)
    }

    @Test("stoploss guard: N losing trades within the lookback lock every symbol, or only theirs with per-symbol")
    func stoplossGuard() throws {
        for perSymbol in [false, true] {
            var risk = engine {
                $0.protections.stoplossGuardTrades = 2
                $0.protections.stoplossGuardLookbackMinutes = 60
                $0.protections.stoplossGuardLockMinutes = 120
                $0.protections.stoplossGuardPerSymbol = perSymbol
            }
            roundTrip(&risk, "a", exit: 95, at: t0)
            #expect(risk.protections.locks.isEmpty)
            roundTrip(&risk, "b", exit: 95, at: t0 + 30 * minute)
            let lock = try #require(risk.protections.locks.first)
            #expect(lock.rule == "stoploss_guard")
            #expect(lock.symbol == (perSymbol ? "BTCUSDT" : nil))
            #expect(lock.until == t0 + 30 * minute + 120 * minute)
            risk.mark(symbol: "ETHUSDT", price: 10, now: t0 + 31 * minute)
            #expect(trade(&risk, "eth", .buy, 100, symbol: "ETHUSDT", at: t0 + 31 * minute) == (perSymbol ? nil : "symbol_locked"))
        }
    }

    @Test("stoploss guard: losses further apart than the lookback set no lock")
    func stoplossGuardLookback() {
        var risk = engine {
            $0.protections.stoplossGuardTrades = 2
            $0.protections.stoplossGuardLookbackMinutes = 60
        }
        roundTrip(&risk, "a", exit: 95, at: t0)
        roundTrip(&risk, "b", exit: 95, at: t0 + 61 * minute)
        #expect(risk.protections.locks.isEmpty)
    }

    @Test("low profit: enough trades realising less than the threshold lock the symbol")
    func lowProfit() throws {
        var risk = engine {
            $0.protections.lowProfitTrades = 2
            $0.protections.lowProfitLookbackMinutes = 600
            $0.protections.lowProfitLockMinutes = 60
            $0.protections.lowProfitMinUsd = 50
        }
        roundTrip(&risk, "a", exit: 104, at: t0)  // +40
        #expect(risk.protections.locks.isEmpty)  // one trade is not enough to judge
        roundTrip(&risk, "b", exit: 100.5, at: t0 + minute)  // +5: 45 in all, below 50
        let lock = try #require(risk.protections.locks.first)
        #expect(lock.rule == "low_profit")
        #expect(lock.symbol == "BTCUSDT")
        #expect(lock.reason.contains("45"))
    }

    @Test("an operator deletes a lock by id")
    func unlock() throws {
        var risk = engine { $0.protections.cooldownMinutes = 30 }
        roundTrip(&risk, "a", exit: 90, at: t0)
        let lock = try #require(risk.protections.locks.first)
        #expect(risk.removeLock(id: "nope") == nil)
        #expect(risk.removeLock(id: lock.id) == lock)
        #expect(risk.flags.locks.isEmpty)
        #expect(trade(&risk, "b", .buy, 100, at: t0 + minute) == nil)
    }
}

@Suite("stale-data guard")
struct StaleDataTests {
    @Test("no new order and allow false when the newest candle is older than MAX_CANDLE_AGE intervals")
    func stale() {
        var risk = engine()  // MAX_CANDLE_AGE 3 by default
        let interval: Int64 = 5 * minute
        risk.mark(symbol: "BTCUSDT", price: 100, now: t0, clock: CandleClock(newestOpenTime: t0 - interval, intervalMilliseconds: interval))
        #expect(trade(&risk, "fresh", .buy, 100, at: t0 + 2 * interval) == nil)  // 3 intervals old: still fine
        #expect(trade(&risk, "stale", .buy, 100, at: t0 + 2 * interval + 1) == "stale_market_data")
        #expect(trade(&risk, "stale-exit", .sell, 50, at: t0 + 3 * interval) == "stale_market_data")
        let gate = risk.gate(GateRequest(symbol: "BTCUSDT", side: .buy, confidence: 0.9), now: t0 + 3 * interval)
        #expect(!gate.allow)
        #expect(gate.reasons.contains { $0.hasPrefix("stale_market_data") && $0.contains("MAX_CANDLE_AGE") })
        // A symbol never fed candles is not judged by this guard.
        #expect(risk.gate(GateRequest(symbol: "ETHUSDT", side: .buy, confidence: 0.9), now: t0 + 3 * interval).allow)
        // A newer candle makes it fresh again; MAX_CANDLE_AGE=0 turns the guard off.
        risk.mark(symbol: "BTCUSDT", price: 100, now: t0, clock: CandleClock(newestOpenTime: t0 + 2 * interval, intervalMilliseconds: interval))
        #expect(trade(&risk, "again", .buy, 100, at: t0 + 3 * interval) == nil)
        risk.limits.maxCandleAge = 0
        #expect(trade(&risk, "off", .buy, 100, at: t0 + 100 * interval) == nil)
    }
}

@Suite("refusal wording")
struct RefusalWordingTests {
    @Test("the gate writes confidence with four decimals, exactly as %.4f does")
    func fourDecimals() {
        let risk = engine()
        for confidence in [0, 0.5, 0.512_34, 0.123_456, 0.599_99, 0.000_04, 0.000_06] {
            let reasons = risk.gate(GateRequest(symbol: "BTCUSDT", side: .buy, confidence: confidence), now: t0).reasons
            #expect(reasons.contains("confidence \(String(format: "%.4f", confidence)) is below the threshold 0.6"), "\(reasons)")
        }
    }
}
