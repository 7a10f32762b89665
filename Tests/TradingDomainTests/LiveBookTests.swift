import Foundation
import Testing
import TradingDomain
import TradingWire

@Suite("the live book and its reconciliation")
struct LiveBookTests {
    var limits: RiskLimits {
        var limits = RiskLimits(
            confidenceThreshold: 0.6,
            maxOrderNotionalUsd: 5_000,
            maxPositionUsd: 8_000,
            maxDrawdown: 0.1,
            startingEquityUsd: 100_000,
            slippageBps: 0,
            feeBps: 0
        )
        limits.liveMaxOrderUsd = 1_000
        limits.liveMaxDailyUsd = 100_000
        return limits
    }

    func account(_ balances: [String: Decimal]) -> ExchangeAccount {
        ExchangeAccount(balances: balances.map { ExchangeBalance(asset: $0.key, free: $0.value, locked: 0) }, takenAt: 1)
    }

    func report(_ balances: [String: Decimal]?, version: Int64? = nil, problem: String? = nil) -> AccountReport {
        AccountReport(account: balances.map(account), problem: problem, symbols: ["BTCUSDT"], bookVersion: version, toleranceBps: 10)
    }

    func intent(_ id: String, qty: Decimal = 200, side: Side = .buy) -> OrderIntent {
        OrderIntent(clientOrderId: id, symbol: "BTCUSDT", side: side, qtyUsd: qty, confidence: 0.9)
    }

    func code(_ engine: inout RiskEngine, _ intent: OrderIntent, mode: TradingMode = .live) -> String? {
        do {
            _ = try engine.reserve(ReserveRequest(intent: intent, mode: mode), now: 0)
            return nil
        } catch {
            return error.code
        }
    }

    /// An engine whose paper book holds 10 BTC at 100 and whose live book is built from 2 BTC and 1,000 USDT.
    func engine() throws -> RiskEngine {
        var engine = RiskEngine(limits: limits)
        engine.mark(symbol: "BTCUSDT", price: 100)
        _ = try engine.reserve(ReserveRequest(intent: intent("paper-1", qty: 1_000), mode: .paper), now: 0)
        let fill = try Fill(price: 100, quantity: 10, notional: 1_000, fee: 0, dryRun: true, filledAt: 1)
        _ = try engine.settle(SettleRequest(clientOrderId: "paper-1", fill: fill, rejectReason: nil))
        let built = engine.applyAccount(report(["BTC": 2, "USDT": 1_000]), now: 10)
        #expect(built.outcome == "built")
        return engine
    }

    @Test("the live book is built from the exchange's balances: paper positions never cross over; real equity is their sum in USD")
    func builtFromTheAccount() throws {
        let engine = try engine()
        let live = try #require(engine.live.portfolio)
        #expect(live.positions["BTCUSDT"]?.quantity == 2, "the exchange's 2 BTC, not the paper book's 10")
        #expect(live.cash == 1_000)
        #expect(live.equity == 1_200)
        #expect(engine.portfolio.positions["BTCUSDT"]?.quantity == 10, "the paper book is unchanged")
        #expect(engine.portfolio.cash == 99_000)
        #expect(engine.status.live?.account?.equity == 1_200)
        #expect(engine.live.reconciliation.state == .ok)
        #expect(engine.flags.accountHold == nil)
    }

    @Test("a live fill moves the live book and its expected balances, not the paper book; the next snapshot agrees")
    func liveFill() throws {
        var engine = try engine()
        _ = try engine.reserve(ReserveRequest(intent: intent("live-1"), mode: .live), now: 0)
        let fill = try Fill(price: 100, quantity: 2, notional: 200, fee: Decimal(string: "0.2")!, dryRun: false, filledAt: 2)
        let settled = try engine.settle(SettleRequest(clientOrderId: "live-1", fill: fill, rejectReason: nil))
        #expect(settled.account.equity == Decimal(string: "1199.8"), "the settle answers the live book")
        #expect(engine.live.balances["BTC"] == 4)
        #expect(engine.live.balances["USDT"] == Decimal(string: "799.8"))
        #expect(engine.portfolio.positions["BTCUSDT"]?.quantity == 10)
        let status = engine.applyAccount(report(["BTC": 4, "USDT": Decimal(string: "799.8")!], version: engine.live.version), now: 20)
        #expect(status.outcome == "ok")
    }

    @Test("a balance changed outside the system is a mismatch naming the asset, both amounts and since when; adopt lifts it")
    func mismatchAndAdopt() throws {
        var engine = try engine()
        let status = engine.applyAccount(report(["BTC": 3, "USDT": 900], version: engine.live.version), now: 1_000)
        #expect(status.outcome == "mismatch")
        #expect(status.reconciliation.mismatches.map(\.asset) == ["BTC", "USDT"])
        let detail = try #require(status.reconciliation.detail)
        #expect(detail.contains("BTC: exchange 3, live book 2, since 1970-01-01T00:00:01.000Z"), "\(detail)")
        #expect(engine.flags.accountHold?.hasPrefix("account_mismatch:") == true)
        #expect(code(&engine, intent("refused")) == "account_mismatch")
        #expect(code(&engine, intent("paper-ok"), mode: .paper) == nil, "paper trades on")
        // Still different later: the since stays the first sighting.
        let later = engine.applyAccount(report(["BTC": 3, "USDT": 900], version: engine.live.version), now: 5_000)
        #expect(later.reconciliation.mismatches.first?.since == 1_000)
        let before = try engine.adoptAccount(
            AdoptRequest(account: account(["BTC": 3, "USDT": 900]), symbols: ["BTCUSDT"], requestedBy: "test", reason: "hand trade"),
            now: 6_000
        )
        #expect(before["BTC"] == 2)
        #expect(engine.live.portfolio?.positions["BTCUSDT"]?.quantity == 3)
        #expect(engine.live.portfolio?.equity == 1_200)
        #expect(engine.flags.accountHold == nil)
        #expect(code(&engine, intent("after-adopt")) == nil)
    }

    @Test("within the tolerance (commission dust) is agreement")
    func tolerance() throws {
        var engine = try engine()
        #expect(
            engine.applyAccount(report(["BTC": Decimal(string: "1.9999")!, "USDT": 1_000], version: engine.live.version), now: 2).outcome == "ok"
        )
        #expect(
            engine.applyAccount(report(["BTC": Decimal(string: "1.99")!, "USDT": 1_000], version: engine.live.version), now: 3).outcome == "mismatch"
        )
    }

    @Test("malformed answers never change the book: unknown, refusing live orders until a good answer comes")
    func failClosed() throws {
        var engine = try engine()
        let book = engine.live.portfolio
        for bad in [
            report(nil, problem: "truncated JSON"),
            AccountReport(
                account: ExchangeAccount(balances: [ExchangeBalance(asset: "USDT", free: -5, locked: 0)], takenAt: 1),
                problem: nil,
                symbols: ["BTCUSDT"],
                bookVersion: engine.live.version,
                toleranceBps: 10
            ),
            AccountReport(
                account: ExchangeAccount(
                    balances: [ExchangeBalance(asset: "BTC", free: 1, locked: 0), ExchangeBalance(asset: "BTC", free: 1, locked: 0)],
                    takenAt: 1
                ),
                problem: nil,
                symbols: ["BTCUSDT"],
                bookVersion: engine.live.version,
                toleranceBps: 10
            ),
        ] {
            #expect(engine.applyAccount(bad, now: 3).outcome == "unknown")
            #expect(engine.live.portfolio == book)
            #expect(code(&engine, intent("unknown-\(engine.live.reconciliation.since ?? 0)")) == "account_unknown")
            #expect(engine.flags.accountHold?.hasPrefix("account_unknown:") == true)
        }
        #expect(engine.applyAccount(report(["BTC": 2, "USDT": 1_000], version: engine.live.version), now: 4).outcome == "ok")
        #expect(code(&engine, intent("good-again")) == nil)
    }

    @Test("a snapshot asked for before a fill, or while a live order of the symbol is pending, is inconclusive, never a mismatch")
    func inconclusive() throws {
        var engine = try engine()
        let version = engine.live.version
        _ = try engine.reserve(ReserveRequest(intent: intent("live-2"), mode: .live), now: 0)
        #expect(engine.applyAccount(report(["BTC": 4, "USDT": 800], version: version), now: 2).outcome == "inconclusive")
        let fill = try Fill(price: 100, quantity: 2, notional: 200, fee: 0, dryRun: false, filledAt: 2)
        _ = try engine.settle(SettleRequest(clientOrderId: "live-2", fill: fill, rejectReason: nil))
        #expect(engine.applyAccount(report(["BTC": 2, "USDT": 1_000], version: version), now: 3).outcome == "inconclusive")
        #expect(engine.live.reconciliation.state == .ok)
        // Another symbol's assets are still compared while a BTCUSDT order is pending.
        _ = try engine.reserve(ReserveRequest(intent: intent("live-3"), mode: .live), now: 0)
        let twoSymbols = AccountReport(
            account: account(["BTC": 4, "USDT": 800, "ETH": 1]),
            problem: nil,
            symbols: ["BTCUSDT", "ETHUSDT"],
            bookVersion: engine.live.version,
            toleranceBps: 10
        )
        let other = engine.applyAccount(twoSymbols, now: 4)
        #expect(other.outcome == "mismatch", "ETH is held at the exchange, not in the book")
        #expect(other.reconciliation.mismatches.map(\.asset) == ["ETH"])
    }

    @Test("spot live is long-only: a sell beyond the held base quantity is insufficient_balance")
    func longOnly() throws {
        var engine = try engine()
        #expect(code(&engine, intent("sell-ok", qty: 200, side: .sell)) == nil, "2 BTC at 100 held")
        #expect(code(&engine, intent("sell-more", qty: 50, side: .sell)) == "insufficient_balance", "the pending sell took both")
        #expect(code(&engine, intent("paper-sell", qty: 1_500, side: .sell), mode: .paper) == nil, "paper may go short as before")
    }

    @Test("live orders wait for the live book: never built is account_unknown")
    func neverBuilt() {
        var engine = RiskEngine(limits: limits)
        engine.mark(symbol: "BTCUSDT", price: 100)
        #expect(code(&engine, intent("early")) == "account_unknown")
        #expect(engine.flags.accountHold == nil, "paper mode carries no hold")
    }

    @Test("the drawdown brake runs on the live book's real equity")
    func liveDrawdown() throws {
        var engine = RiskEngine(limits: limits)
        engine.mark(symbol: "BTCUSDT", price: 100)
        _ = engine.applyAccount(report(["BTC": 10, "USDT": 0]), now: 1)
        #expect(engine.live.portfolio?.equity == 1_000)
        engine.mark(symbol: "BTCUSDT", price: 89)  // paper: no position, no loss; live: 11 %
        #expect(engine.flags.riskLocked)
        #expect(engine.flags.lockReason?.contains("live book drawdown") == true)
        #expect(engine.portfolio.equity == 100_000)
    }
}
