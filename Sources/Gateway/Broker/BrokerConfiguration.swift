import ServiceSupport

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
public struct BrokerConfiguration: Sendable {
    public var routerEndpoint: String
    public var controlEndpoint: String
    public var heartbeatIntervalMilliseconds: Int
    public var heartbeatLiveness: Int
    public var controlIntervalMilliseconds: Int
    public var requestTimeoutMilliseconds: Int
    public var noWorkerWaitMilliseconds: Int
    public var maxBatch: Int

    public init(reader: EnvironmentReader) throws {
        routerEndpoint = reader.string("BROKER_BIND", default: "tcp://127.0.0.1:5555")
        controlEndpoint = reader.string("CONTROL_BIND", default: "tcp://127.0.0.1:5556")
        heartbeatIntervalMilliseconds = try reader.int("HEARTBEAT_INTERVAL_MS", default: 1000, in: 10...60_000)
        heartbeatLiveness = try reader.int("HEARTBEAT_LIVENESS", default: 3, in: 1...100)
        controlIntervalMilliseconds = try reader.int("CONTROL_INTERVAL_MS", default: 1000, in: 10...60_000)
        requestTimeoutMilliseconds = try reader.int("REQUEST_TIMEOUT_MS", default: 2000, in: 10...600_000)
        noWorkerWaitMilliseconds = try reader.int("NO_WORKER_WAIT_MS", default: 1000, in: 0...600_000)
        maxBatch = try reader.int("BROKER_MAX_BATCH", default: 32, in: 1...1000)
    }
}
