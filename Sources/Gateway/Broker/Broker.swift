import Foundation
import Logging
import ServiceSupport
import Synchronization
import TradingWire
import ZeroMQ

/// The MDP/0.1 broker and the control publisher, on one thread that owns the ROUTER and XPUB
/// sockets for their whole life.
///
/// Async callers hand requests over through a locked inbox and an eventfd wake-up, then await a
/// continuation that the socket thread resumes with the reply: no thread per request, nothing
/// blocking an event loop. Per service the broker keeps the idle workers (least recently used
/// first) and the requests waiting for one; it heartbeats every worker, drops the silent, retries
/// an idempotent request once on another replica when its worker dies, and enforces deadlines.
public final class Broker: Sendable {
    typealias Reply = CheckedContinuation<Result<[UInt8], BrokerError>, Never>
    typealias ChainReply = CheckedContinuation<(Result<[UInt8], BrokerError>, [Result<[UInt8], BrokerError>]), Never>
    typealias BatchReply = CheckedContinuation<[Result<[UInt8], BrokerError>], Never>

    /// One request of a batch: to which service, what body, how long it may take.
    public struct BatchItem: Sendable {
        public var service: String
        public var body: [UInt8]
        public var timeoutMilliseconds: Int

        public init(service: String, body: [UInt8], timeoutMilliseconds: Int) {
            self.service = service
            self.body = body
            self.timeoutMilliseconds = timeoutMilliseconds
        }
    }

    enum Command: Sendable {
        case request(service: String, body: [UInt8], timeoutMilliseconds: Int, priority: Bool, reply: Reply)
        case chain(first: BatchItem, next: @Sendable (Result<[UInt8], BrokerError>) -> [BatchItem], reply: ChainReply)
        case batch(items: [BatchItem], reply: BatchReply)
        case publish(ControlState)
        case publishMarket(symbol: String, body: [UInt8])
        case stop
    }

    struct Inbox {
        var commands: [Command] = []
        var signalled = false
        /// Set when the socket thread failed to start or has ended: nothing would read the
        /// inbox again, so a request is answered `.stopped` at once instead of waiting forever.
        var closed = false
    }

    /// What the socket thread reports about itself, for `/health` and metrics.
    public struct Snapshot: Sendable, Equatable {
        /// Live workers per service.
        public var workers: [String: Int] = [:]
        /// Control messages dropped at the PUB high-water mark.
        public var controlDrops = 0
        /// Workers dropped for silence since start.
        public var workersExpired = 0
    }

    let configuration: BrokerConfiguration
    let logger: Logger
    let inbox = Mutex(Inbox())
    let wake: WakeSignal
    let snapshotState = Mutex(Snapshot())
    let context: ZMQContext
    let boundEndpoints = Mutex<(router: String, control: String)?>(nil)

    public init(configuration: BrokerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.wake = try WakeSignal()
        self.context = try ZMQContext()
    }

    /// Binds the sockets on a new thread and starts serving. Throws if a bind fails.
    public func start() throws {
        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        SocketThread.start(name: "mdp-broker") { [self] in
            let loop: BrokerLoop
            do {
                loop = try BrokerLoop(broker: self)
            } catch {
                failure.withLock { $0 = error }
                close()
                started.signal()
                return
            }
            started.signal()
            loop.run()
            close()
        }
        started.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// No socket thread will read the inbox any more: every request waiting in it, and every
    /// later one, is answered `.stopped` (a caller never waits on a broker that is not there).
    func close() {
        let left = inbox.withLock { inbox in
            inbox.closed = true
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        for command in left { Self.refuse(command) }
    }

    /// Answers a command no socket thread will carry out: a request or chain with `.stopped`.
    static func refuse(_ command: Command) {
        switch command {
        case .request(_, _, _, _, let reply): reply.resume(returning: .failure(.stopped))
        case .chain(_, _, let reply): reply.resume(returning: (.failure(.stopped), []))
        case .batch(let items, let reply): reply.resume(returning: items.map { _ in .failure(.stopped) })
        case .publish, .publishMarket, .stop: break
        }
    }

    /// The endpoints actually bound (useful with port 0).
    public var endpoints: (router: String, control: String)? { boundEndpoints.withLock { $0 } }

    /// Sends `body` to one worker of `service` and awaits its reply. A `priority` request (an
    /// operator's halt, resume or reset, a status read) goes ahead of every ordinary request
    /// waiting for the service, and is never shed by its queue bound.
    public func request(service: String, body: [UInt8], timeoutMilliseconds: Int? = nil, priority: Bool = false) async throws(BrokerError) -> [UInt8]
    {
        let timeout = timeoutMilliseconds ?? configuration.requestTimeoutMilliseconds
        let result = await withCheckedContinuation { (continuation: Reply) in
            send(.request(service: service, body: body, timeoutMilliseconds: timeout, priority: priority, reply: continuation))
        }
        return try result.get()
    }

    /// Sends `first`; when its outcome is in, `next` turns it into a batch (empty: stop) that is
    /// sent at once from the broker thread, without a round trip through the caller. `next` runs
    /// on the broker thread: it must be quick and must not block. Answers both outcomes.
    public func request(
        _ first: BatchItem,
        then next: @escaping @Sendable (Result<[UInt8], BrokerError>) -> [BatchItem]
    ) async -> (first: Result<[UInt8], BrokerError>, then: [Result<[UInt8], BrokerError>]) {
        await withCheckedContinuation { (continuation: ChainReply) in
            send(.chain(first: first, next: next, reply: continuation))
        }
    }

    /// Sends every item at once (each to its own service, with its own deadline) and awaits all
    /// their outcomes, in the order of `items`.
    public func request(batch items: [BatchItem]) async -> [Result<[UInt8], BrokerError>] {
        guard !items.isEmpty else { return [] }
        return await withCheckedContinuation { (continuation: BatchReply) in
            send(.batch(items: items, reply: continuation))
        }
    }

    /// Publishes the whole control state now and at every interval from now on.
    public func publish(_ state: ControlState) { send(.publish(state)) }

    /// Publishes a symbol's candles on the market channel now, and again to every new
    /// subscriber of it (the broker keeps the last update of each symbol).
    public func publishMarket(_ update: MarketUpdate) {
        guard let body = try? WireCodec.encode(update) else {
            logger.warning("a market update could not be encoded", metadata: ["symbol": "\(update.symbol)"])
            return
        }
        send(.publishMarket(symbol: update.symbol, body: body))
    }

    /// Stops the socket thread; waiting requests fail with `.stopped`.
    public func stop() { send(.stop) }

    /// Live workers per service and counters.
    public var snapshot: Snapshot { snapshotState.withLock { $0 } }

    private func send(_ command: Command) {
        let (accepted, mustSignal) = inbox.withLock { inbox -> (Bool, Bool) in
            guard !inbox.closed else { return (false, false) }
            inbox.commands.append(command)
            defer { inbox.signalled = true }
            return (true, !inbox.signalled)
        }
        guard accepted else { return Self.refuse(command) }
        if mustSignal { wake.signal() }
    }

    /// Socket thread only: takes every queued command.
    func takeCommands() -> [Command] {
        wake.drain()
        return inbox.withLock { inbox in
            inbox.signalled = false
            defer { inbox.commands.removeAll(keepingCapacity: true) }
            return inbox.commands
        }
    }
}
