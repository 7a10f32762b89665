import Foundation
import ServiceSupport
import Testing
import TradingWire

@testable import Gateway

/// The gateway's view of live orders: the preflight's clock check and the per-symbol halts.
@Suite("live order watch")
struct LiveOrderWatchTests {
    func settings(_ environment: [String: String] = [:]) throws -> LiveOrderSettings {
        try LiveOrderSettings(reader: EnvironmentReader(environment))
    }

    @Test("the clock check fails unmeasured, too old, or beyond EXCHANGE_MAX_CLOCK_OFFSET_MS, and passes otherwise")
    func clockCheck() throws {
        let watch = LiveOrderWatch()
        #expect(!watch.clockCheck(try settings()).ok)
        watch.record(clock: ExchangeClockStatus(offsetMs: -2_000, ageMs: 10, roundTripMs: 3, syncIntervalMs: 60_000, lastFailure: nil))
        let far = watch.clockCheck(try settings())
        #expect(!far.ok)
        #expect(far.detail.contains("EXCHANGE_MAX_CLOCK_OFFSET_MS (500 ms)"), "\(far.detail)")
        #expect(watch.clockCheck(try settings(["EXCHANGE_MAX_CLOCK_OFFSET_MS": "3000"])).ok)
        watch.record(clock: ExchangeClockStatus(offsetMs: 20, ageMs: 185_001, roundTripMs: 3, syncIntervalMs: 60_000, lastFailure: "HTTP 503"))
        let old = watch.clockCheck(try settings())
        #expect(!old.ok)
        #expect(old.detail.contains("HTTP 503"))
    }

    @Test("an unresolved order halts its symbol only, is news once, and lifts when it is resolved")
    func halts() {
        let watch = LiveOrderWatch()
        let stuck = UnresolvedLiveOrder(clientOrderId: "a", symbol: "BTCUSDT", pendingMs: 400_000, detail: "HTTP 403")
        #expect(!watch.reconciledOnce, "nothing is known of the pending orders before the first pass")
        #expect(watch.replaceUnresolved([stuck]) == [stuck])
        #expect(watch.reconciledOnce)
        #expect(watch.replaceUnresolved([stuck]).isEmpty, "already announced")
        #expect(watch.halt(for: "BTCUSDT") == stuck)
        #expect(watch.halt(for: "ETHUSDT") == nil)
        #expect(watch.symbolHalts["BTCUSDT"]?.contains("order a") == true)
        watch.resolved("a")
        #expect(watch.halt(for: "BTCUSDT") == nil)
    }

    @Test("the gateway's live-order keys out of range refuse the start, naming the key")
    func settingsRefused() throws {
        let defaults = try settings()
        #expect(defaults.unresolvedAlertMilliseconds == 300_000)
        #expect(defaults.lateFillCheckMilliseconds == 60_000)
        #expect(defaults.maxClockOffsetMilliseconds == 500)
        for (key, value) in [
            ("LIVE_UNRESOLVED_ALERT_MS", "999"), ("LIVE_UNRESOLVED_ALERT_MS", "later"), ("LIVE_LATE_FILL_CHECK_MS", "3600001"),
            ("EXCHANGE_MAX_CLOCK_OFFSET_MS", "0"), ("EXCHANGE_MAX_CLOCK_OFFSET_MS", "1.5"),
        ] {
            do {
                _ = try settings([key: value])
                Issue.record("\(key)=\(value) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.key == key, "\(error)")
            }
        }
    }
}
