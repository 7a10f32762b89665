import CZeroMQ

/// A failed libzmq call, carrying `zmq_errno()` and the operation that failed.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The errno value libzmq reported.
    public let code: Int32
    /// What was being done, for the log line.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: czmq_errno(), operation: operation)
    }

    /// The context was terminated: the owner should close its sockets and stop.
    public var isTerminated: Bool { code == czmq_eterm() }
    /// The peer named by a ROUTER frame is not connected (with `ZMQ_ROUTER_MANDATORY`).
    public var isHostUnreachable: Bool { code == czmq_ehostunreach() }

    public var description: String {
        let message = zmq_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(operation): \(message) (errno \(code))"
    }
}
