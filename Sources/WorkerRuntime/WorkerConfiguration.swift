import ServiceSupport

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
/// | `HEALTH_HOST` | string | `0.0.0.0` | HTTP `/health` address |
public struct WorkerConfiguration: Sendable {
    public var brokerEndpoint: String
    public var controlEndpoint: String
    public var heartbeatIntervalMilliseconds: Int
    public var heartbeatLiveness: Int
    public var controlStaleMilliseconds: Int
    public var healthPort: Int
    public var healthHost: String

    public init(reader: EnvironmentReader, defaultHealthPort: Int = 0) throws {
        brokerEndpoint = reader.string("BROKER_ENDPOINT", default: "tcp://127.0.0.1:5555")
        controlEndpoint = reader.string("CONTROL_ENDPOINT", default: "tcp://127.0.0.1:5556")
        heartbeatIntervalMilliseconds = try reader.int("HEARTBEAT_INTERVAL_MS", default: 1000, in: 10...60_000)
        heartbeatLiveness = try reader.int("HEARTBEAT_LIVENESS", default: 3, in: 1...100)
        controlStaleMilliseconds = try reader.int("CONTROL_STALE_MS", default: 3500, in: 10...600_000)
        healthPort = try reader.int("HEALTH_PORT", default: defaultHealthPort, in: 0...65535)
        healthHost = reader.string("HEALTH_HOST", default: "0.0.0.0")
    }
}
