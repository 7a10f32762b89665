import CZeroMQ
import Glibc

/// A dedicated OS thread for sockets that must stay on one thread for their whole life.
///
/// Foundation's `Thread` may run its body on a libdispatch worker on Linux, one of the threads
/// Swift concurrency also uses; a loop blocked in `zmq_poll` there starves async work. This
/// starts a plain pthread instead.
public enum SocketThread {
    private final class Body {
        let name: String
        let run: () -> Void

        init(name: String, run: @escaping () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Starts `body` on a new detached pthread named `name`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                body.name.withCString { czmq_name_thread($0) }
                body.run()
                return nil
            },
            context
        )
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}
