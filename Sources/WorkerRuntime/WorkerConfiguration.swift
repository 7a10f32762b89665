import ServiceSupport
import ZeroMQ

/// What every worker reads from the environment.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `BROKER_ENDPOINT` | string | `tcp://127.0.0.1:5555` | the gateway's ROUTER |
/// | `CONTROL_ENDPOINT` | string | `tcp://127.0.0.1:5556` | the gateway's control PUB |
/// | `HEARTBEAT_INTERVAL_MS` | int | 1000 | MDP heartbeat interval |
/// | `HEARTBEAT_LIVENESS` | int | 3 | heartbeats missed before the broker is taken as gone |
/// | `CONTROL_STALE_MS` | int | 3500 | silence on the control channel after which the worker holds itself halted |
/// | `HEALTH_PORT` | int | 0 (off; 9000 for model workers) | HTTP `/health` port |
/// | `HTTP_IDLE_TIMEOUT_MS` | int | 30000 | a `/health` connection with nothing read for this long is closed |
/// | `HEALTH_HOST` | string | `0.0.0.0` | HTTP `/health` address |
/// | `CURVE_SECRET_KEY` / `_FILE` | Z85 secret | unset | this worker's CURVE key (its role's key of the key set) |
/// | `CURVE_SERVER_KEY` / `_FILE` | Z85 public | unset | the gateway's public key; required with `CURVE_SECRET_KEY` |
public struct WorkerConfiguration: Sendable {
    public var brokerEndpoint: String
    public var controlEndpoint: String
    public var heartbeatIntervalMilliseconds: Int
    public var heartbeatLiveness: Int
    public var controlStaleMilliseconds: Int
    public var healthPort: Int
    public var healthHost: String
    public var httpIdleTimeoutMilliseconds: Int
    /// This worker's CURVE keys and the gateway's public key; nil in the clear.
    public var curve: (keys: CurveKeyPair, serverKey: String)?

    public init(reader: EnvironmentReader, defaultHealthPort: Int = 0) throws {
        brokerEndpoint = reader.string("BROKER_ENDPOINT", default: "tcp://127.0.0.1:5555")
        controlEndpoint = reader.string("CONTROL_ENDPOINT", default: "tcp://127.0.0.1:5556")
        heartbeatIntervalMilliseconds = try reader.int("HEARTBEAT_INTERVAL_MS", default: 1000, in: 10...60_000)
        heartbeatLiveness = try reader.int("HEARTBEAT_LIVENESS", default: 3, in: 1...100)
        controlStaleMilliseconds = try reader.int("CONTROL_STALE_MS", default: 3500, in: 10...600_000)
        healthPort = try reader.int("HEALTH_PORT", default: defaultHealthPort, in: 0...65535)
        healthHost = reader.string("HEALTH_HOST", default: "0.0.0.0")
        httpIdleTimeoutMilliseconds = try reader.int("HTTP_IDLE_TIMEOUT_MS", default: 30_000, in: 100...3_600_000)
        switch (try reader.secret("CURVE_SECRET_KEY"), try reader.secret("CURVE_SERVER_KEY")) {
        case (nil, nil):
            guard ZMQEndpoint.isLocalOnly(brokerEndpoint), ZMQEndpoint.isLocalOnly(controlEndpoint) else {
                throw ConfigurationError(
                    key: "CURVE_SECRET_KEY",
                    value: "",
                    expected:
                        "CURVE keys to reach a broker beyond loopback (\(brokerEndpoint)): set CURVE_SECRET_KEY and CURVE_SERVER_KEY; refusing to start"
                )
            }
            curve = nil
        case (let secret?, let server?):
            guard let keys = try? CurveKeyPair(secretKey: secret) else {
                throw ConfigurationError(key: "CURVE_SECRET_KEY", value: "(secret)", expected: "40 characters of Z85")
            }
            guard CurveKeyPair.isZ85Key(server) else {
                throw ConfigurationError(key: "CURVE_SERVER_KEY", value: server, expected: "the gateway's public key, 40 characters of Z85")
            }
            curve = (keys, server)
        case (nil, _?):
            throw ConfigurationError(key: "CURVE_SECRET_KEY", value: "", expected: "this worker's secret key when CURVE_SERVER_KEY is set")
        case (_?, nil):
            throw ConfigurationError(key: "CURVE_SERVER_KEY", value: "", expected: "the gateway's public key when CURVE_SECRET_KEY is set")
        }
    }
}
