/// Why the broker could not get a reply.
public enum BrokerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No live worker offered the service within the wait.
    case noWorker(service: String)
    /// The deadline passed before a reply came. `delivered` tells whether a worker had the
    /// request (its outcome is then unknown) or it was still waiting for one (it never ran).
    case timeout(service: String, milliseconds: Int, delivered: Bool)
    /// The worker died with the request in hand and the request may not be retried.
    case workerLost(service: String)
    /// The broker is shutting down.
    case stopped
    /// The service's queue is full (`BROKER_MAX_QUEUE`): refused at once, never run.
    case overloaded(service: String, limit: Int)

    /// Whether a worker may have acted on the request.
    public var mayHaveRun: Bool {
        switch self {
        case .noWorker, .stopped, .overloaded: false
        case .timeout(_, _, let delivered): delivered
        case .workerLost: true
        }
    }

    public var description: String {
        switch self {
        case .noWorker(let service): "no live worker for service \(service)"
        case .timeout(let service, let milliseconds, let delivered):
            "service \(service) did not answer within \(milliseconds) ms" + (delivered ? "" : " (no worker was free)")
        case .workerLost(let service): "the \(service) worker handling the request died"
        case .stopped: "the broker is stopped"
        case .overloaded(let service, let limit): "service \(service) already has \(limit) requests waiting; retry later"
        }
    }

    /// The HTTP status the gateway answers with.
    public var httpStatus: Int {
        switch self {
        case .noWorker, .stopped, .overloaded: 503
        case .timeout, .workerLost: 504
        }
    }

    /// The `error` code of the HTTP answer.
    public var code: String {
        switch self {
        case .noWorker: "service_unavailable"
        case .timeout: "deadline_exceeded"
        case .workerLost: "worker_lost"
        case .stopped: "shutting_down"
        case .overloaded: "overloaded"
        }
    }
}
