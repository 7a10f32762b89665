import ServiceSupport
import Synchronization

/// When the worker last heard from the broker, for its health answer.
public final class BrokerLink: Sendable {
    private let lastContact = Mutex<Int64>(0)

    public init() {}

    func touch() { lastContact.withLock { $0 = unixMilliseconds() } }

    /// Whether the broker was heard within `milliseconds`.
    public func isConnected(within milliseconds: Int) -> Bool {
        unixMilliseconds() - lastContact.withLock { $0 } <= Int64(milliseconds)
    }
}
