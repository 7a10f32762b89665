import CZeroMQ

/// A multipart message: one byte array per frame.
public typealias ZMQMessage = [[UInt8]]

/// A libzmq socket. Not thread-safe: create it, use it and close it on one thread.
///
/// Every receive reads a whole multipart message, so a half-read message can never corrupt the
/// next one. `EINTR` is retried; `EAGAIN` on a non-blocking call is reported as "nothing".
public final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    private let context: ZMQContext
    private var isClosed = false

    init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket")
        }
        self.handle = handle
        self.context = context
        // Never hang at shutdown on unsent messages.
        try setOption(ZMQ_LINGER, 0)
    }

    deinit { close() }

    /// Closes the socket, dropping unsent messages after `lingerMilliseconds`.
    public func close(lingerMilliseconds: Int32 = 0) {
        guard !isClosed else { return }
        isClosed = true
        var linger = lingerMilliseconds
        _ = zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        _ = zmq_close(handle)
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
    }

    /// The endpoint actually bound, e.g. after binding `tcp://127.0.0.1:*`.
    public func lastEndpoint() throws -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
            throw ZMQError.last("getsockopt ZMQ_LAST_ENDPOINT")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sets an integer option (`ZMQ_LINGER`, `ZMQ_SNDHWM`, `ZMQ_ROUTER_MANDATORY`, ...).
    public func setOption(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("setsockopt \(option)")
        }
    }

    /// Sets a binary option (`ZMQ_SUBSCRIBE`, `ZMQ_ROUTING_ID`, ...).
    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard result == 0 else { throw ZMQError.last("setsockopt \(option)") }
    }

    /// Reads an integer option.
    public func option(_ option: Int32) throws -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
            throw ZMQError.last("getsockopt \(option)")
        }
        return value
    }

    /// Sends every frame of `message`. Returns false if the socket would block and `wait` is false.
    @discardableResult
    public func send(_ message: ZMQMessage, wait: Bool = true) throws -> Bool {
        precondition(!message.isEmpty, "a ZeroMQ message has at least one frame")
        for (index, frame) in message.enumerated() {
            var flags: Int32 = index < message.count - 1 ? ZMQ_SNDMORE : 0
            if !wait { flags |= ZMQ_DONTWAIT }
            while true {
                let sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if sent >= 0 { break }
                let error = ZMQError.last("send")
                if error.code == czmq_eintr() { continue }
                // Only the first frame may report "would block": later frames are already committed.
                if error.code == czmq_eagain() && index == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Receives one whole multipart message. Returns nil when `wait` is false and nothing is queued.
    public func receive(wait: Bool = true) throws -> ZMQMessage? {
        try receiveMessage(wait: wait, readUserID: false)?.frames
    }

    /// Receives one whole multipart message with the `User-Id` its connection was given by the
    /// ZAP handler (nil on a connection that was not authenticated).
    public func receiveWithUserID(wait: Bool = true) throws -> (frames: ZMQMessage, userID: String?)? {
        try receiveMessage(wait: wait, readUserID: true)
    }

    private func receiveMessage(wait: Bool, readUserID: Bool) throws -> (frames: ZMQMessage, userID: String?)? {
        var userID: String?
        var frames: ZMQMessage = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            let flags: Int32 = (wait || !frames.isEmpty) ? 0 : ZMQ_DONTWAIT
            let received = zmq_msg_recv(&message, handle, flags)
            if received < 0 {
                let error = ZMQError.last("receive")
                if error.code == czmq_eintr() { continue }
                if error.code == czmq_eagain() && frames.isEmpty { return nil }
                throw error
            }
            // A ROUTER makes the routing-id frame itself: the connection's properties ride on the
            // frames that came over the wire.
            if readUserID && userID == nil, let property = zmq_msg_gets(&message, "User-Id") {
                userID = String(cString: property)
            }
            let size = zmq_msg_size(&message)
            if size == 0 {
                frames.append([])
            } else if let data = zmq_msg_data(&message) {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            if zmq_msg_more(&message) == 0 { return (frames, userID) }
        }
    }
}
