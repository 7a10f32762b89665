import ExchangeAdapter
import Foundation
import Logging
import Metrics
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// When "the exchange has no such order" counts as proof, and how often the exchange's clock is
/// measured (docs/live-trading.md).
///
/// | key | type | default | range | meaning |
/// |---|---|---|---|---|
/// | `LIVE_ABSENT_AFTER_MS` | int | 120000 | `EXCHANGE_RECV_WINDOW_MS` + 1000 ... 86400000 | "not found" is proof only this long past the order's timestamp, and only with a clean sweep |
/// | `EXCHANGE_TIME_SYNC_MS` | int | 60000 | 1000 ... 3600000 | how often `GET /api/v3/time` is measured (also at start and after any -1021) |
public struct OrderTruthSettings: Sendable {
    public var absentAfterMilliseconds: Int
    public var timeSyncMilliseconds: Int

    public init(absentAfterMilliseconds: Int = 120_000, timeSyncMilliseconds: Int = 60_000) {
        self.absentAfterMilliseconds = absentAfterMilliseconds
        self.timeSyncMilliseconds = timeSyncMilliseconds
    }

    public init(reader: EnvironmentReader) throws {
        let window = try reader.int("EXCHANGE_RECV_WINDOW_MS", default: 5_000, in: 100...60_000)
        absentAfterMilliseconds = try reader.int("LIVE_ABSENT_AFTER_MS", default: 120_000, in: (window + 1_000)...86_400_000)
        timeSyncMilliseconds = try reader.int("EXCHANGE_TIME_SYNC_MS", default: 60_000, in: 1_000...3_600_000)
    }
}

extension ExecutionWorker {
    /// What the exchange says of a live order, as the reconciler needs it: `filled`, `absent`
    /// (proven: "not found" `LIVE_ABSENT_AFTER_MS` past its timestamp and a clean sweep, or an
    /// order the exchange shows ended with nothing executed) or `unknown` (anything else: it stays
    /// pending and is asked again).
    static func query(_ order: Order, exchange: BinanceSpotClient, settings: OrderTruthSettings, logger: Logger) throws(WireError) -> QueryResult {
        let symbol = order.intent.symbol
        let id = order.intent.clientOrderId
        var outcome = exchange.queryOrder(symbol: symbol, clientOrderID: id)
        if outcome == .notFound {
            // An order already settled (asked again for a late fill) is not swept: "not found" leaves it as it is.
            guard order.status == .pending else { return QueryResult(state: "unknown", fill: nil, detail: "not found") }
            let now = unixMilliseconds()
            let provenAfter = order.createdAt + Int64(settings.absentAfterMilliseconds)
            guard now >= provenAfter, exchange.provablyAbsent(signedAt: order.createdAt, now: now) else {
                return QueryResult(
                    state: "unknown",
                    fill: nil,
                    detail:
                        "not found yet; proof of absence needs LIVE_ABSENT_AFTER_MS (\(settings.absentAfterMilliseconds) ms) past its timestamp and a clean sweep"
                )
            }
            // The window opens a minute before the order's timestamp: clock error and the 1 s the
            // exchange accepts ahead of its own time are well inside it.
            switch exchange.sweep(symbol: symbol, clientOrderID: id, from: order.createdAt - 60_000, to: now) {
            case .clean:
                return QueryResult(
                    state: "absent",
                    fill: nil,
                    detail:
                        "the exchange has no such order \(settings.absentAfterMilliseconds / 1000) s past its timestamp, and allOrders and myTrades show nothing of it"
                )
            case .inconclusive(let reason):
                return QueryResult(state: "unknown", fill: nil, detail: "not found, but the sweep is no proof: \(reason)")
            case .found(let listed):
                logger.warning("order not found by id but listed by allOrders", metadata: ["order": "\(id)"])
                outcome = listed
            }
        }
        switch outcome {
        case .filled(let price, let quantity, let quote, let commissions):
            return QueryResult(
                state: "filled",
                fill: try liveFill(order, price: price, quantity: quantity, quote: quote, commissions: commissions),
                detail: nil
            )
        case .rejected(let code, let message):
            // Only an order the exchange shows ended with nothing executed (queries never map a refusal here).
            return QueryResult(state: "absent", fill: nil, detail: "exchange code \(code): \(message)")
        case .notFound:
            return QueryResult(state: "unknown", fill: nil, detail: "allOrders and the order query disagree")
        case .open(let status):
            return QueryResult(state: "unknown", fill: nil, detail: "the exchange says \(status)")
        case .rateLimited(let seconds):
            return QueryResult(state: "unknown", fill: nil, detail: "rate limited for \(seconds) s")
        case .overBudget(_, let reason):
            return QueryResult(state: "unknown", fill: nil, detail: "not asked: \(reason)")
        case .unknown(let reason):
            return QueryResult(state: "unknown", fill: nil, detail: reason)
        }
    }

    /// Blocks until a control state is heard, then takes its shared rate-limit back-off into the
    /// client's budget. Called off the request path, before the exchange is asked anything.
    static func awaitControlState(_ control: ControlView, exchange: BinanceSpotClient) {
        while control.current() == nil { Thread.sleep(forTimeInterval: 0.005) }
        if let shared = control.current()?.exchangeBackoff { exchange.rateBudget.adopt(shared, now: unixMilliseconds()) }
    }

    /// The `clock` operation: the last measurement of the exchange's clock.
    static func registerClock(on handler: inout OperationHandler, exchange: BinanceSpotClient?, settings: OrderTruthSettings) {
        handler.on(Operations.Execution.clock) { (_: WireRequest<Empty>) throws(WireError) -> ExchangeClockStatus in
            guard let exchange else {
                throw WireError(code: "live_unavailable", detail: "this execution worker has no exchange credentials", status: 503)
            }
            return clockStatus(exchange, settings: settings)
        }
    }

    static func clockStatus(_ exchange: BinanceSpotClient, settings: OrderTruthSettings) -> ExchangeClockStatus {
        let (reading, failure) = exchange.clockReading
        return ExchangeClockStatus(
            offsetMs: reading?.offsetMilliseconds,
            ageMs: reading.map { unixMilliseconds() - $0.measuredAt },
            roundTripMs: reading?.roundTripMilliseconds,
            syncIntervalMs: settings.timeSyncMilliseconds,
            lastFailure: failure,
            rate: exchange.rateBudget.status(now: unixMilliseconds(), exchangeNow: exchange.exchangeNow())
        )
    }

    /// Measures the exchange's clock now and every `EXCHANGE_TIME_SYNC_MS`, off the request path.
    /// The timer lives as long as the process (the worker's `run` never returns).
    /// Each measurement waits for a control state (and takes its shared rate-limit back-off); one
    /// the back-off refused is tried again as soon as the back-off ends.
    static func startClockSync(
        _ exchange: BinanceSpotClient,
        settings: OrderTruthSettings,
        control: ControlView,
        logger: Logger
    ) -> any DispatchSourceTimer {
        let offset = Gauge(label: "exchange_clock_offset_seconds")
        let queue = DispatchQueue(label: "exchange-clock")
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .milliseconds(settings.timeSyncMilliseconds))
        @Sendable func measure() {
            awaitControlState(control, exchange: exchange)
            let before = exchange.clockReading.reading
            guard let reading = exchange.syncClock() else {
                logger.warning("the exchange's clock could not be measured", metadata: ["error": "\(exchange.clockReading.lastFailure ?? "")"])
                let now = unixMilliseconds()
                if let until = exchange.rateBudget.backoff(now: now)?.requestsUntil, until > now {
                    queue.asyncAfter(deadline: .now() + .milliseconds(Int(until - now) + 100)) { measure() }
                }
                return
            }
            offset.record(Double(reading.offsetMilliseconds) / 1000)
            if before == nil || abs(reading.offsetMilliseconds - (before?.offsetMilliseconds ?? 0)) > 250 {
                logger.info(
                    "exchange clock measured",
                    metadata: ["offset.ms": "\(reading.offsetMilliseconds)", "roundTrip.ms": "\(reading.roundTripMilliseconds)"]
                )
            }
        }
        timer.setEventHandler { measure() }
        timer.resume()
        return timer
    }
}
