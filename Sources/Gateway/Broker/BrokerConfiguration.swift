import ServiceSupport
import TradingWire
import ZeroMQ

/// The broker's sockets and timers.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `BROKER_BIND` | string | `tcp://127.0.0.1:5555` | ROUTER endpoint workers connect to |
/// | `CONTROL_BIND` | string | `tcp://127.0.0.1:5556` | control PUB (XPUB) endpoint |
/// | `HEARTBEAT_INTERVAL_MS` | int | 1000 | MDP heartbeat interval |
/// | `HEARTBEAT_LIVENESS` | int | 3 | missed heartbeats before a worker is dropped |
/// | `CONTROL_INTERVAL_MS` | int | 1000 | re-publish period of the whole control state |
/// | `REQUEST_TIMEOUT_MS` | int | 2000 | deadline of one worker request |
/// | `NO_WORKER_WAIT_MS` | int | 1000 | how long a request waits for a worker to appear before 503 |
/// | `BROKER_MAX_BATCH` | int | 32 | most requests of a read-only service sent to a worker in one REQUEST (1: one at a time) |
/// | `BROKER_MAX_MESSAGE_BYTES` | int | 4194304 | largest message a peer may send the ROUTER (`ZMQ_MAXMSGSIZE`); a peer sending more is disconnected |
/// | `BROKER_MAX_QUEUE` | int | 1000 | requests of one service waiting for a worker; beyond it 503 `overloaded` with `Retry-After`, at once |
/// | `BROKER_MAX_WORKERS_PER_SERVICE` | int | 64 | READYs beyond this many live workers of one service are answered DISCONNECT |
/// | `CURVE_SECRET_KEY` / `_FILE` | Z85 secret | unset | the gateway's CURVE server key: turns CURVE on for the ROUTER and the control XPUB |
/// | `CURVE_AUTHORIZED_KEYS` / `_FILE` | text | unset | the client keys admitted, one `ROLE PUBLIC-KEY [comment]` per line (required with CURVE) |
public struct BrokerConfiguration: Sendable {
    public var routerEndpoint: String
    public var controlEndpoint: String
    public var heartbeatIntervalMilliseconds: Int
    public var heartbeatLiveness: Int
    public var controlIntervalMilliseconds: Int
    public var requestTimeoutMilliseconds: Int
    public var noWorkerWaitMilliseconds: Int
    public var maxBatch: Int
    public var maxMessageBytes: Int
    public var maxWorkersPerService: Int
    /// Most requests of one service waiting for a worker (503 `overloaded` beyond).
    public var maxQueue: Int
    /// CURVE on the bus, or nil when it runs in the clear (paper mode on loopback only).
    public var curve: CurveServerSettings?

    public init(reader: EnvironmentReader) throws {
        routerEndpoint = reader.string("BROKER_BIND", default: "tcp://127.0.0.1:5555")
        controlEndpoint = reader.string("CONTROL_BIND", default: "tcp://127.0.0.1:5556")
        heartbeatIntervalMilliseconds = try reader.int("HEARTBEAT_INTERVAL_MS", default: 1000, in: 10...60_000)
        heartbeatLiveness = try reader.int("HEARTBEAT_LIVENESS", default: 3, in: 1...100)
        controlIntervalMilliseconds = try reader.int("CONTROL_INTERVAL_MS", default: 1000, in: 10...60_000)
        requestTimeoutMilliseconds = try reader.int("REQUEST_TIMEOUT_MS", default: 2000, in: 10...600_000)
        noWorkerWaitMilliseconds = try reader.int("NO_WORKER_WAIT_MS", default: 1000, in: 0...600_000)
        maxBatch = try reader.int("BROKER_MAX_BATCH", default: 32, in: 1...1000)
        maxMessageBytes = try reader.int("BROKER_MAX_MESSAGE_BYTES", default: 4 << 20, in: 65_536...(256 << 20))
        maxQueue = try reader.int("BROKER_MAX_QUEUE", default: 1_000, in: 1...1_000_000)
        maxWorkersPerService = try reader.int("BROKER_MAX_WORKERS_PER_SERVICE", default: 64, in: 1...10_000)
        curve = try CurveServerSettings(reader: reader)
    }

    /// Whether every endpoint the broker binds is reachable from this host only.
    public var bindsLocalOnly: Bool { ZMQEndpoint.isLocalOnly(routerEndpoint) && ZMQEndpoint.isLocalOnly(controlEndpoint) }
}

/// The gateway's side of CURVE: its server key and the client keys it admits, each bound to a role.
public struct CurveServerSettings: Sendable {
    public var secretKey: String
    public var authorizedKeys: AuthorizedKeys

    /// Nil when `CURVE_SECRET_KEY` is not set; an error when it is set but unusable, or set
    /// without any authorized key.
    init?(reader: EnvironmentReader) throws {
        guard let secret = try reader.secret("CURVE_SECRET_KEY") else {
            if try reader.secret("CURVE_AUTHORIZED_KEYS") != nil {
                throw ConfigurationError(key: "CURVE_SECRET_KEY", value: "", expected: "the gateway's secret key when CURVE_AUTHORIZED_KEYS is set")
            }
            return nil
        }
        guard CurveKeyPair.isZ85Key(secret) else {
            throw ConfigurationError(key: "CURVE_SECRET_KEY", value: "(secret)", expected: "40 characters of Z85 (tradectl keys generate DIR)")
        }
        secretKey = secret
        let text = try reader.secret("CURVE_AUTHORIZED_KEYS") ?? ""
        do {
            authorizedKeys = try AuthorizedKeys(text: text, isValidKey: CurveKeyPair.isZ85Key)
        } catch {
            throw ConfigurationError(key: "CURVE_AUTHORIZED_KEYS", value: "(keys)", expected: "\(error)")
        }
        guard !authorizedKeys.isEmpty else {
            throw ConfigurationError(
                key: "CURVE_AUTHORIZED_KEYS",
                value: "",
                expected: "at least one ROLE PUBLIC-KEY line: with CURVE on, no worker could join without one"
            )
        }
    }
}
