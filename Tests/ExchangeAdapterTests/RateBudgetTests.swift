import Foundation
import ServiceSupport
import Testing
import TradingWire

@testable import ExchangeAdapter
@testable import ExecutionWorker

/// The client's rate budget: usage headers read within bounds, orders stopped before the limit
/// less the margin, the reconciliation kept to its lower share, `Retry-After` honoured and bounded.
@Suite("exchange rate budget")
struct RateBudgetTests {
    /// 10 s into a minute (and into a day) on both clocks.
    let now: Int64 = 1_765_000_000_000 - 1_765_000_000_000 % 86_400_000 + 10_000

    func budget(margin: Int = 10, reconcile: Int = 30, weight: Int = 100) -> ExchangeRateBudget {
        let budget = ExchangeRateBudget(settings: ExchangeRateSettings(marginPercent: margin, reconcileWeightPercent: reconcile))
        budget.learn(rateLimits: [
            ["rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight],
            ["rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 10],
            ["rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 1_000],
        ])
        return budget
    }

    func observe(_ budget: ExchangeRateBudget, _ headers: [String: String], status: Int = 200, at time: Int64? = nil) -> ExchangeRateRefusal? {
        budget.observe(status: status, header: { headers[$0] }, now: time ?? now, exchangeNow: time ?? now)
    }

    @Test("exchangeInfo's rateLimits set the limits; entries of another kind or out of bounds leave them")
    func limitsFromExchangeInfo() {
        let budget = budget(weight: 1_200)
        #expect(budget.limits.weightPerMinute == 1_200)
        #expect(budget.limits.ordersPer10Seconds == 10)
        budget.learn(rateLimits: [
            ["rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 0],
            ["rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": "6000"],
            ["rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 1, "limit": 50],
            ["rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61_000],
            ["rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 99_000_000],
        ])
        #expect(budget.limits.weightPerMinute == 1_200)
        #expect(budget.limits.ordersPerDay == 1_000)
    }

    @Test("an order is refused once the used weight would pass the limit less the margin, until the minute ends")
    func ordersStopBeforeTheLimit() throws {
        let budget = budget()
        _ = observe(budget, ["X-MBX-USED-WEIGHT-1M": "89"])
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now) == nil)
        let refusal = try #require(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now))
        #expect(!refusal.fromExchange)
        #expect(refusal.until == now + 50_000, "the minute ends 50 s on")
        #expect(refusal.reason.contains("EXCHANGE_RATE_MARGIN_PCT"))
        // The hold is shared (orders only: queries may still go), and ends with the minute.
        let shared = try #require(budget.backoff(now: now))
        #expect(shared.ordersUntil == now + 50_000 && shared.requestsUntil == 0)
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now + 50_000, exchangeNow: now + 50_000) == nil)
    }

    @Test("the reconciliation's queries stop at their own lower share; orders still go")
    func reconciliationShare() {
        let budget = budget()
        #expect(budget.admit(.reconcile, weight: 20, now: now, exchangeNow: now) == nil)
        #expect(budget.admit(.reconcile, weight: 20, now: now, exchangeNow: now)?.reason.contains("EXCHANGE_RECONCILE_WEIGHT_PCT") == true)
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now) == nil)
        #expect(budget.backoff(now: now) == nil, "a reconciliation held by its share holds no order")
    }

    @Test("the 10-second order count stops orders before its limit")
    func orderCount() throws {
        let budget = budget()
        _ = observe(budget, ["X-MBX-ORDER-COUNT-10S": "9", "X-MBX-ORDER-COUNT-1D": "9"])
        let refusal = try #require(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now))
        #expect(refusal.until == now + 10_000)
        #expect(budget.admit(.reconcile, weight: 1, now: now, exchangeNow: now) == nil)
    }

    @Test("429 and 418 hold every request for Retry-After, bounded by three days; a bad Retry-After waits the default")
    func retryAfter() throws {
        let budget = budget()
        let refusal = try #require(observe(budget, ["Retry-After": "30"], status: 429))
        #expect(refusal.fromExchange && refusal.until == now + 30_000)
        #expect(budget.admit(.reconcile, weight: 1, now: now + 29_000, exchangeNow: now + 29_000)?.fromExchange == true)
        #expect(budget.admit(.reconcile, weight: 1, now: now + 30_000, exchangeNow: now + 30_000) == nil)

        let banned = budget
        let huge = try #require(observe(banned, ["Retry-After": "999999999"], status: 418, at: now + 40_000))
        #expect(huge.until == now + 40_000 + ExchangeBackoff.longestMilliseconds)
        let unreadable = try #require(observe(self.budget(), ["Retry-After": "soon"], status: 429))
        #expect(unreadable.until == now + 60_000)
        let absent = try #require(observe(self.budget(), [:], status: 418))
        #expect(absent.until == now + 120_000)
    }

    @Test(
        "malformed or bogus usage headers are ignored, never taken as truth",
        arguments: ["", "abc", "-5", "1e3", "12.5", "0x10", "9999999999", "2001", " 1 2 ", "\u{0660}"]
    )
    func malformedHeaders(value: String) {
        let budget = budget()
        _ = observe(budget, ["X-MBX-USED-WEIGHT-1M": value, "X-MBX-ORDER-COUNT-10S": value, "X-MBX-ORDER-COUNT-1D": value])
        let status = budget.status(now: now, exchangeNow: now)
        #expect(status.usedWeight == 0 && status.orders10s == 0 && status.orders1d == 0)
        #expect(status.ignoredHeaders == 3)
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now) == nil)
    }

    @Test("an accepted high value holds orders only to the end of its window")
    func boundedByTheWindow() {
        let budget = budget()
        _ = observe(budget, ["X-MBX-USED-WEIGHT-1M": "200"])
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now, exchangeNow: now) != nil)
        #expect(budget.admit(.order, weight: 1, orders: 1, now: now + 50_000, exchangeNow: now + 50_000) == nil)
    }

    @Test("a shared back-off is adopted: a replica that met no 429 waits too")
    func adoptShared() throws {
        let budget = budget()
        budget.adopt(ExchangeBackoff(ordersUntil: now + 30_000, requestsUntil: now + 30_000, reason: "HTTP 429 at the other replica"), now: now)
        let refusal = try #require(budget.admit(.reconcile, weight: 1, now: now, exchangeNow: now))
        #expect(refusal.until == now + 30_000)
        // A bogus shared end is bounded too.
        let other = self.budget()
        other.adopt(ExchangeBackoff(ordersUntil: .max, reason: "bogus"), now: now)
        #expect(other.backoff(now: now)?.ordersUntil == now + ExchangeBackoff.longestMilliseconds)
    }

    @Test("each new setting is refused at start when out of range, naming the key and its range")
    func settingsRefused() {
        for (key, value, range) in [
            ("EXCHANGE_RATE_MARGIN_PCT", "0", "1...50"), ("EXCHANGE_RATE_MARGIN_PCT", "51", "1...50"),
            ("EXCHANGE_RATE_MARGIN_PCT", "ten", "1...50"), ("EXCHANGE_RECONCILE_WEIGHT_PCT", "4", "5...80"),
            ("EXCHANGE_RECONCILE_WEIGHT_PCT", "81", "5...80"),
        ] {
            #expect {
                _ = try ExchangeSettings.rate(reader: EnvironmentReader([key: value]))
            } throws: { error in
                "\(error)".contains(key) && "\(error)".contains(range)
            }
        }
        #expect(throws: Never.self) { _ = try ExchangeSettings.rate(reader: EnvironmentReader([:])) }
    }
}
