import CZeroMQ

/// A libzmq context. Thread-safe by libzmq's contract; terminated when the last reference goes,
/// which is after every socket made from it is closed (each socket keeps its context alive).
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads.
    public init(ioThreads: Int32 = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        _ = zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
    }

    /// Makes a socket of the given type. The socket must then stay on one thread for its whole life.
    public func socket(_ type: ZMQSocketType) throws -> ZMQSocket {
        try ZMQSocket(context: self, type: type)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && czmq_errno() == czmq_eintr() {}
    }

    /// The libzmq version this process runs against, as "major.minor.patch".
    public static var libraryVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

/// The socket types this project uses.
public enum ZMQSocketType: Sendable {
    case router, dealer, publisher, extendedPublisher, subscriber, pair, push, pull, reply

    var rawValue: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .publisher: ZMQ_PUB
        case .extendedPublisher: ZMQ_XPUB
        case .subscriber: ZMQ_SUB
        case .pair: ZMQ_PAIR
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .reply: ZMQ_REP
        }
    }
}
