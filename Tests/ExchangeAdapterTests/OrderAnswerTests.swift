import Foundation
import ServiceSupport
import Testing

@testable import ExchangeAdapter
@testable import ExecutionWorker

/// How the adapter reads the exchange's answer about an order: a clear answer is a fill or a
/// rejection, anything it cannot read whole is unknown (never a fill, never a rejection).
@Suite("exchange order answers")
struct OrderAnswerTests {
    func order(_ changes: [String: Any] = [:]) -> [String: Any] {
        var order: [String: Any] = [
            "symbol": "BTCUSDT", "orderId": 1000, "clientOrderId": "id-1", "status": "FILLED", "executedQty": "2.00000000",
            "cummulativeQuoteQty": "200.00000000",
        ]
        order.merge(changes) { _, new in new }
        return order
    }

    func isUnknown(_ outcome: ExchangeOutcome) -> Bool {
        if case .unknown = outcome { return true }
        return false
    }

    @Test("a filled order is its fill; an order ended with nothing executed is a rejection; a working one is open")
    func clearAnswers() {
        let trades: [[String: Any]] = [
            ["qty": "1.5", "commission": "0.15", "commissionAsset": "USDT"], ["qty": "0.5", "commission": "0.05", "commissionAsset": "USDT"],
        ]
        #expect(
            BinanceSpotClient.outcome(ofOrder: order(), trades: trades, clientOrderID: "id-1")
                == .filled(price: 100, quantity: 2, quoteAmount: 200, commissions: ["USDT": Decimal(string: "0.2")!])
        )
        #expect(
            BinanceSpotClient.outcome(ofOrder: order(["status": "EXPIRED", "executedQty": "0.00000000"]), trades: nil, clientOrderID: "id-1")
                == .rejected(code: 0, message: "order expired by the exchange")
        )
        #expect(
            BinanceSpotClient.outcome(ofOrder: order(["status": "NEW", "executedQty": "0"]), trades: nil, clientOrderID: "id-1")
                == .open(status: "NEW")
        )
    }

    @Test(
        "strings for numbers, negative or signed quantities, unknown statuses, another order's id and trades that do not add up are unknown",
        arguments: [
            ["executedQty": "two"], ["executedQty": "-2"], ["executedQty": 2], ["executedQty": "2e0"], ["executedQty": "2.0.0"], ["executedQty": ""],
            ["cummulativeQuoteQty": "-200"], ["cummulativeQuoteQty": NSNull()], ["status": "SETTLED_MAYBE"], ["status": 3],
            ["clientOrderId": "someone-else"], ["status": "EXPIRED", "executedQty": "garbage"],
        ] as [[String: any Sendable]]
    )
    func unreadable(_ change: [String: any Sendable]) {
        #expect(isUnknown(BinanceSpotClient.outcome(ofOrder: order(change), trades: nil, clientOrderID: "id-1")), "\(change)")
    }

    @Test("trades that do not add up to executedQty, or whose commission cannot be read, are unknown")
    func tradesMustAddUp() {
        #expect(isUnknown(BinanceSpotClient.outcome(ofOrder: order(), trades: [["qty": "1", "commission": "0.1"]], clientOrderID: "id-1")))
        #expect(isUnknown(BinanceSpotClient.outcome(ofOrder: order(), trades: [["qty": "2", "commission": "-0.1"]], clientOrderID: "id-1")))
    }

    @Test("amounts are plain non-negative decimal strings")
    func amounts() {
        #expect(BinanceSpotClient.amount("0.00100000") == Decimal(string: "0.001"))
        #expect(BinanceSpotClient.amount("12") == 12)
        for bad: Any in ["", ".", "1e3", "-1", "+1", " 1", "1,5", "0x10", 1.5, 10] {
            #expect(BinanceSpotClient.amount(bad) == nil, "\(bad)")
        }
    }

    @Test("LIVE_ABSENT_AFTER_MS and EXCHANGE_TIME_SYNC_MS out of range refuse the start, naming the key and its range")
    func settingsRefused() throws {
        let defaults = try OrderTruthSettings(reader: EnvironmentReader([:]))
        #expect(defaults.absentAfterMilliseconds == 120_000)
        #expect(defaults.timeSyncMilliseconds == 60_000)
        for (key, value, range) in [
            ("LIVE_ABSENT_AFTER_MS", "5999", "6000"), ("LIVE_ABSENT_AFTER_MS", "soon", "6000"), ("LIVE_ABSENT_AFTER_MS", "86400001", "86400000"),
            ("EXCHANGE_TIME_SYNC_MS", "999", "1000"), ("EXCHANGE_TIME_SYNC_MS", "-5", "3600000"),
        ] {
            do {
                _ = try OrderTruthSettings(reader: EnvironmentReader([key: value]))
                Issue.record("\(key)=\(value) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.key == key)
                #expect(error.description.contains(range), "\(error)")
            }
        }
        // The floor follows recvWindow: "not found" is never proof before timestamp + recvWindow + 1 s.
        #expect(throws: ConfigurationError.self) {
            try OrderTruthSettings(reader: EnvironmentReader(["EXCHANGE_RECV_WINDOW_MS": "20000", "LIVE_ABSENT_AFTER_MS": "20500"]))
        }
    }
}
