import Foundation
import ServiceSupport
import TradingDomain
import TradingWire
import ZeroMQ

/// Everything the gateway reads from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `HTTP_HOST` | string | `127.0.0.1` | HTTP listen address (`0.0.0.0` in containers) |
/// | `HTTP_PORT` | int | 8000 | HTTP port |
/// | `HTTP_THREADS` | int | 2 | HTTP event loop threads (the broker and ZeroMQ have their own) |
/// | `TRADING_MODE` | `paper` or `live` | `paper` | live places real orders |
/// | `API_TOKEN` | secret | unset | when set, state-changing `/api/*` calls need `Authorization: Bearer <token>`; required in live mode |
/// | `EXCHANGE_API_KEY`, `EXCHANGE_API_SECRET` | secret | unset | required in live mode |
/// | `HTTP_IDLE_TIMEOUT_MS` | int | 30000 | an HTTP connection with nothing read for this long (no complete header, an idle keep-alive) is closed |
/// | `MAX_BODY_BYTES` | int | 65536 | largest request body accepted (413 beyond) |
/// | `MODEL_IDS` | comma list | unset (every model id live: `model.<id>` workers and bundles) | model ids expected to vote |
/// | `MODEL_TIMEOUT_MS` | int | 500 | deadline of one model vote |
/// | `CONSENSUS_QUORUM` | int | 1 | least votes for `allow` |
/// | `CONSENSUS_MIN_AGREEMENT` | number | 0.5 | least share of votes agreeing with the side |
/// | `RISK_POLL_MS` | int | 1000 | how often the gateway refreshes risk status and control state |
/// | `CANDLE_WINDOW` | int | 200 | candles kept per symbol for features |
/// | `MAX_SYMBOLS` | int | 500 | symbols the market feed holds (422 `too_many_symbols` beyond) |
/// | `PENDING_RECONCILE_MS` | int | 10000 | paper mode: age at which a pending order is reconciled against the execution journal |
/// | `LIVE_RECONCILE_MS` | int | 5000 | live mode: how often (and after how long) pending live orders are queried |
/// | `ALLOW_REQUEST_PRICE` | bool | false | paper mode: an execute may carry `price`, used when no market price is known |
/// | `LIVE_UNRESOLVED_ALERT_MS`, `LIVE_LATE_FILL_CHECK_MS`, `EXCHANGE_MAX_CLOCK_OFFSET_MS` | int | | see `LiveOrderSettings` |
public struct GatewayConfiguration: Sendable {
    public var httpHost: String
    public var httpPort: Int
    public var httpThreads: Int
    public var tradingMode: TradingMode
    public var apiToken: String?
    /// `MARKET_FEED_TOKEN`: a bearer token that may only post candles (the market feed's).
    public var marketFeedToken: String?
    public var exchangeCredentialsPresent: Bool
    public var maxBodyBytes: Int
    public var httpIdleTimeoutMilliseconds: Int
    public var modelIDs: [String]
    public var modelTimeoutMilliseconds: Int
    public var consensus: ConsensusPolicy
    public var riskPollMilliseconds: Int
    /// Age beyond which the risk status no longer counts as known (three polls plus two seconds).
    public var riskStaleMilliseconds: Int64 { Int64(riskPollMilliseconds * 3 + 2_000) }
    public var candleWindow: Int
    public var maxSymbols: Int
    public var allowRequestPrice: Bool
    public var liveReconcileMilliseconds: Int
    public var pendingReconcileMilliseconds: Int
    /// Unresolved live orders, late fills and the exchange's clock (`LiveOrderSettings`).
    public var liveOrders: LiveOrderSettings
    public var broker: BrokerConfiguration
    /// Webhooks for operator notifications (`NOTIFY_*`, see `NotifierConfiguration`).
    public var notify: NotifierConfiguration
    /// The live account's reconciliation (`ACCOUNT_*`, `LIVE_SYMBOLS`: `AccountReconcileConfiguration`).
    public var account: AccountReconcileConfiguration

    public init(reader: EnvironmentReader) throws {
        httpHost = reader.string("HTTP_HOST", default: "127.0.0.1")
        httpPort = try reader.int("HTTP_PORT", default: 8000, in: 0...65535)
        httpThreads = try reader.int("HTTP_THREADS", default: 2, in: 1...64)
        let mode = reader.string("TRADING_MODE", default: "paper").lowercased()
        guard let tradingMode = TradingMode(rawValue: mode) else {
            throw ConfigurationError(key: "TRADING_MODE", value: mode, expected: "paper or live")
        }
        self.tradingMode = tradingMode
        apiToken = reader.optionalString("API_TOKEN")
        marketFeedToken = try reader.secret("MARKET_FEED_TOKEN")
        exchangeCredentialsPresent = reader.optionalString("EXCHANGE_API_KEY") != nil && reader.optionalString("EXCHANGE_API_SECRET") != nil
        httpIdleTimeoutMilliseconds = try reader.int("HTTP_IDLE_TIMEOUT_MS", default: 30_000, in: 100...3_600_000)
        maxBodyBytes = try reader.int("MAX_BODY_BYTES", default: 65_536, in: 256...16_777_216)
        modelIDs = (reader.optionalString("MODEL_IDS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        modelTimeoutMilliseconds = try reader.int("MODEL_TIMEOUT_MS", default: 500, in: 10...60_000)
        consensus = ConsensusPolicy(
            quorum: try reader.int("CONSENSUS_QUORUM", default: 1, in: 1...100),
            minAgreement: try reader.double("CONSENSUS_MIN_AGREEMENT", default: 0.5, in: 0...1)
        )
        riskPollMilliseconds = try reader.int("RISK_POLL_MS", default: 1000, in: 10...60_000)
        candleWindow = try reader.int("CANDLE_WINDOW", default: 200, in: 21...10_000)
        maxSymbols = try reader.int("MAX_SYMBOLS", default: 500, in: 1...100_000)
        allowRequestPrice = try reader.bool("ALLOW_REQUEST_PRICE", default: false)
        liveReconcileMilliseconds = try reader.int("LIVE_RECONCILE_MS", default: 5_000, in: 100...600_000)
        pendingReconcileMilliseconds = try reader.int("PENDING_RECONCILE_MS", default: 10_000, in: 100...86_400_000)
        liveOrders = try LiveOrderSettings(reader: reader)
        broker = try BrokerConfiguration(reader: reader)
        notify = try NotifierConfiguration(reader: reader)
        account = try AccountReconcileConfiguration(reader: reader)
    }

    /// Refuses a bus in the clear anywhere but paper mode on loopback. Returns the warning to log
    /// when the bus does run in the clear.
    public func validateBusSecurity() throws -> String? {
        guard broker.curve == nil else { return nil }
        if !ZMQSocket.curveAvailable {
            throw ConfigurationError(key: "CURVE_SECRET_KEY", value: "", expected: "a libzmq built with CURVE (Debian's libzmq5 is)")
        }
        if tradingMode == .live {
            throw ConfigurationError(
                key: "CURVE_SECRET_KEY",
                value: "",
                expected: "CURVE keys in live mode (tradectl keys generate DIR; see docs/architecture.md); refusing to start"
            )
        }
        guard broker.bindsLocalOnly else {
            throw ConfigurationError(
                key: "BROKER_BIND",
                value: "\(broker.routerEndpoint) \(broker.controlEndpoint)",
                expected:
                    "loopback or ipc endpoints when CURVE is off: set CURVE_SECRET_KEY and CURVE_AUTHORIZED_KEYS (tradectl keys generate DIR); refusing to start"
            )
        }
        return "the bus runs without CURVE: any local process can join it (paper mode, loopback only; set CURVE_SECRET_KEY to close it)"
    }

    /// Refuses a live start without the credentials and token it needs.
    public func validateForStart() throws {
        guard tradingMode == .live else { return }
        var missing: [String] = []
        if apiToken == nil { missing.append("API_TOKEN") }
        if !exchangeCredentialsPresent { missing.append("EXCHANGE_API_KEY and EXCHANGE_API_SECRET") }
        if !missing.isEmpty {
            throw ConfigurationError(
                key: "TRADING_MODE",
                value: "live",
                expected: "live mode needs \(missing.joined(separator: ", ")) set; refusing to start"
            )
        }
    }
}
