import Foundation
import TradingWire

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One measurement of the exchange's clock against the host's.
public struct ExchangeClockReading: Sendable, Equatable {
    /// The exchange's time minus the host's, ms: signed requests carry host time plus this.
    public var offsetMilliseconds: Int64
    /// When it was measured (host Unix ms).
    public var measuredAt: Int64
    /// The round trip of `GET /api/v3/time`, ms: the offset is good to about half of it.
    public var roundTripMilliseconds: Int64
}

/// The client's clock state: the last good reading, and the last failure since.
struct ExchangeClockState: Sendable {
    var reading: ExchangeClockReading?
    var lastFailure: String?
}

extension BinanceSpotClient {
    /// Host Unix ms.
    static func hostNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The last good measurement of the exchange's clock and the failure of any later attempt.
    public var clockReading: (reading: ExchangeClockReading?, lastFailure: String?) {
        clockState.withLock { ($0.reading, $0.lastFailure) }
    }

    /// Now on the exchange's clock (as measured).
    public func exchangeNow() -> Int64 { exchangeTime(Self.hostNow()) }

    /// Host time `milliseconds` on the exchange's clock (host time plus the measured offset; the
    /// host's own time while none has been measured).
    func exchangeTime(_ milliseconds: Int64) -> Int64 {
        milliseconds + (clockState.withLock { $0.reading?.offsetMilliseconds } ?? 0)
    }

    /// `GET /api/v3/time` (weight 1): measures the offset to the exchange's clock, taking the
    /// middle of the round trip as the moment `serverTime` was read. Returns the new reading, or
    /// nil (the previous reading stays, the failure is kept for `/health`).
    @discardableResult
    public func syncClock() -> ExchangeClockReading? {
        let sent = Self.hostNow()
        let result = send("GET", "/api/v3/time", purpose: .settle)
        let received = Self.hostNow()
        let failure: String
        switch result {
        case .answer(200, let object, _):
            // Binance refuses timestamps before 2017; anything earlier (or not an integer) is unreadable.
            if let server = object["serverTime"] as? Int, server > 1_483_228_800_000, !(object["serverTime"] is Bool) {
                let reading = ExchangeClockReading(
                    offsetMilliseconds: Int64(server) - (sent + received) / 2,
                    measuredAt: received,
                    roundTripMilliseconds: received - sent
                )
                clockState.withLock { $0 = ExchangeClockState(reading: reading, lastFailure: nil) }
                return reading
            }
            failure = "unreadable serverTime"
        case .answer(let status, _, _): failure = "HTTP \(status)"
        case .rateLimited(let refusal): failure = "not asked: \(refusal.reason)"
        case .failed(let reason): failure = reason
        }
        clockState.withLock { $0.lastFailure = "GET /api/v3/time: \(failure)" }
        return nil
    }

    /// Whether an answer is Binance's -1021 (timestamp outside the recvWindow): the clock has
    /// drifted, measure it again.
    static func isClockRefusal(_ result: CallResult) -> Bool {
        if case .answer(let status, let object, _) = result, (400...499).contains(status), object["code"] as? Int == -1021 { return true }
        return false
    }
}
