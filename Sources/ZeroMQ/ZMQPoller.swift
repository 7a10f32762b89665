import CZeroMQ

/// Waits on several sockets and plain file descriptors at once (`zmq_poll`).
///
/// Build it once on the owning thread with the sockets and descriptors to watch, then call
/// `poll(timeoutMilliseconds:)` in the loop; it answers which items are readable.
public struct ZMQPoller {
    private var items: [zmq_pollitem_t] = []

    public init() {}

    /// Watches a socket for input; returns the item's index.
    @discardableResult
    public mutating func add(_ socket: ZMQSocket) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Watches a file descriptor (for example an eventfd) for input; returns the item's index.
    @discardableResult
    public mutating func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns the readable item indexes.
    public mutating func poll(timeoutMilliseconds: Int) throws -> [Int] {
        let count = Int32(items.count)
        while true {
            let result = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, timeoutMilliseconds) }
            if result >= 0 { break }
            let error = ZMQError.last("poll")
            if error.code == czmq_eintr() { continue }
            throw error
        }
        var ready: [Int] = []
        for index in items.indices where items[index].revents & Int16(ZMQ_POLLIN) != 0 {
            ready.append(index)
        }
        return ready
    }
}

/// A wake-up signal for a socket-owning thread: any thread may `signal()`, the owner polls
/// `fileDescriptor` beside its sockets and calls `drain()` when it fires.
public final class WakeSignal: @unchecked Sendable {
    /// The eventfd to add to a `ZMQPoller`.
    public let fileDescriptor: Int32

    public init() throws {
        let fd = czmq_eventfd()
        guard fd >= 0 else { throw ZMQError(code: czmq_errno(), operation: "eventfd") }
        fileDescriptor = fd
    }

    /// Wakes the owner. Safe from any thread.
    public func signal() { _ = czmq_eventfd_signal(fileDescriptor) }

    /// Clears pending wake-ups. Owner thread only.
    public func drain() { _ = czmq_eventfd_drain(fileDescriptor) }

    deinit { _ = czmq_close_fd(fileDescriptor) }
}
