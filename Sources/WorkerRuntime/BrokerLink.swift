import ServiceSupport
import Synchronization

/// When the worker last heard from the broker, for its health answer.
public final class BrokerLink: Sendable {
    /// Monotonic milliseconds of the last message; `Int.min` before the first.
    private let lastContact = Atomic<Int>(Int.min)

    public init() {}

    func touch() { lastContact.store(monotonicMilliseconds(), ordering: .relaxed) }

    /// Whether the broker was heard within `milliseconds`.
    public func isConnected(within milliseconds: Int) -> Bool {
        let last = lastContact.load(ordering: .relaxed)
        return last != Int.min && monotonicMilliseconds() - last <= milliseconds
    }
}
