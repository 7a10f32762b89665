import DequeModule
import Foundation
import Logging
import Metrics
import Synchronization
import ServiceSupport
import TradingWire
import ZeroMQ

/// The broker's state and sockets. Lives and dies on the broker thread.
final class BrokerLoop {
    /// Collects the outcomes of a batch and hands them on once, when the last one is in.
    final class Batch {
        private var results: [Result<[UInt8], BrokerError>?]
        private var remaining: Int
        private let done: ([Result<[UInt8], BrokerError>]) -> Void

        init(count: Int, done: @escaping ([Result<[UInt8], BrokerError>]) -> Void) {
            results = Array(repeating: nil, count: count)
            remaining = count
            self.done = done
        }

        func complete(_ index: Int, with result: Result<[UInt8], BrokerError>) {
            guard results[index] == nil else { return }
            results[index] = result
            remaining -= 1
            if remaining == 0 { done(results.map { $0 ?? .failure(.stopped) }) }
        }
    }

    /// A first request whose outcome becomes the next batch, on this thread.
    final class Chain {
        let next: @Sendable (Result<[UInt8], BrokerError>) -> [Broker.BatchItem]
        let reply: Broker.ChainReply

        init(next: @escaping @Sendable (Result<[UInt8], BrokerError>) -> [Broker.BatchItem], reply: Broker.ChainReply) {
            self.next = next
            self.reply = reply
        }
    }

    /// Where a request's outcome goes.
    enum Completion {
        case single(Broker.Reply)
        case batch(Batch, Int)
        case chain(Chain)
    }

    struct Pending {
        let key: UInt64
        let service: String
        let body: [UInt8]
        let timeoutMilliseconds: Int
        let deadline: Int
        let noWorkerDeadline: Int
        let reply: Completion
        /// Goes ahead of the ordinary requests waiting for the service.
        var priority = false
        var retried = false
    }

    final class Worker {
        let identity: [UInt8]
        let service: String
        var expiry: Int
        /// The requests in hand, in the order of the body frames sent; empty when idle.
        var holding: [UInt64] = []

        init(identity: [UInt8], service: String, expiry: Int) {
            self.identity = identity
            self.service = service
            self.expiry = expiry
        }
    }

    /// Per service: idle workers, least recently used first, and requests waiting for one.
    /// A class, so that the hot path mutates in place instead of copying the queues.
    final class ServiceQueue {
        var idle = Deque<[UInt8]>()
        var waiting = Deque<Pending>()
        var workerCount = 0
        /// REQUESTs sent and the requests they carried: their ratio is the mean pack size.
        let dispatches: Counter
        let dispatchedRequests: Counter

        init(service: String) {
            dispatches = Counter(label: "broker_dispatches_total", dimensions: [("service", service)])
            dispatchedRequests = Counter(label: "broker_dispatched_requests_total", dimensions: [("service", service)])
        }
    }

    private unowned let broker: Broker
    private let router: ZMQSocket
    private let publisher: ZMQSocket
    /// Admits CURVE clients by key when the bus is secured; nil in the clear.
    private let zap: ZAPHandler?
    private let maxWorkersPerService: Int
    private var refusals = RefusalLog()
    private let logger: Logger
    private let heartbeatInterval: Int
    private let workerTimeout: Int
    private let controlInterval: Int
    private let maxBatch: Int

    private var workers: [[UInt8]: Worker] = [:]
    private var services: [String: ServiceQueue] = [:]
    /// Services with new requests or newly idle workers: dispatched once per loop turn, after
    /// every ready message is read, so that what arrived together can leave together.
    private var pendingDispatch: Set<String> = []
    /// Deadlines are checked at most this often (ms) instead of on every wake-up.
    private let deadlineGranularity = 5
    private var nextDeadlineCheck = 0
    private var inflight: [UInt64: Pending] = [:]
    private var nextKey: UInt64 = 1
    private var control: ControlState?
    /// The last market update of each symbol, for subscribers that join later.
    private var market: [String: [UInt8]] = [:]
    private var nextHeartbeat: Int
    private var nextControl: Int
    private var snapshot = Broker.Snapshot() {
        didSet { snapshotDirty = true }
    }
    /// Set when workers come or go, so that the shared snapshot is rebuilt only then.
    private var snapshotDirty = true

    init(broker: Broker) throws {
        self.broker = broker
        let configuration = broker.configuration
        logger = broker.logger
        heartbeatInterval = configuration.heartbeatIntervalMilliseconds
        workerTimeout = configuration.heartbeatIntervalMilliseconds * configuration.heartbeatLiveness
        controlInterval = configuration.controlIntervalMilliseconds
        maxBatch = configuration.maxBatch
        maxWorkersPerService = configuration.maxWorkersPerService
        // The ZAP handler is bound before any CURVE server socket of the context.
        if let curve = configuration.curve {
            let keys = curve.authorizedKeys
            let log = broker.logger
            let refusals = Mutex(RefusalLog())
            zap = try ZAPHandler(context: broker.context) { mechanism, publicKey, address in
                guard mechanism == "CURVE", let publicKey else {
                    return .refuse(reason: "CURVE is required")
                }
                guard let role = keys.roles[publicKey] else {
                    if refusals.withLock({ $0.shouldLog(publicKey) }) {
                        log.warning("refused a bus connection with an unknown key", metadata: ["key": "\(publicKey)", "peer": "\(address)"])
                    }
                    return .refuse(reason: "unknown key")
                }
                return .admit(userID: "\(role.rawValue) \(publicKey)")
            }
        } else {
            zap = nil
        }
        router = try broker.context.socket(.router)
        if let curve = configuration.curve { try router.makeCurveServer(secretKey: curve.secretKey, zapDomain: "trading") }
        try router.setMaximumMessageSize(Int64(configuration.maxMessageBytes))
        try router.setOption(ZMQOption.routerMandatory, 1)
        try router.setOption(ZMQOption.sendHighWaterMark, 10_000)
        try router.setOption(ZMQOption.receiveHighWaterMark, 10_000)
        try router.setOption(ZMQOption.tcpKeepalive, 1)
        try router.bind(configuration.routerEndpoint)
        publisher = try broker.context.socket(.extendedPublisher)
        if let curve = configuration.curve { try publisher.makeCurveServer(secretKey: curve.secretKey, zapDomain: "trading") }
        // Subscribers send nothing but (un)subscriptions.
        try publisher.setMaximumMessageSize(1_024)
        try publisher.setOption(ZMQOption.xpubVerbose, 1)
        try publisher.setOption(ZMQOption.sendHighWaterMark, 1_000)
        try publisher.bind(configuration.controlEndpoint)
        let endpoints = (try router.lastEndpoint(), try publisher.lastEndpoint())
        broker.boundEndpoints.withLock { $0 = endpoints }
        let now = monotonicMilliseconds()
        nextHeartbeat = now + heartbeatInterval
        nextControl = now + controlInterval
        logger.info("broker bound", metadata: ["router": "\(endpoints.0)", "control": "\(endpoints.1)"])
    }

    func run() {
        defer {
            router.close()
            publisher.close()
            zap?.socket.close()
        }
        do {
            var poller = ZMQPoller()
            let routerIndex = poller.add(router)
            let publisherIndex = poller.add(publisher)
            let wakeIndex = poller.add(fileDescriptor: broker.wake.fileDescriptor)
            let zapIndex = zap.map { poller.add($0.socket) }
            while true {
                let readable = try poller.poll(timeoutMilliseconds: max(0, nextTimer() - monotonicMilliseconds()))
                if readable.contains(wakeIndex) {
                    if !handleCommands() { return }
                }
                if let zapIndex, readable.contains(zapIndex) { try zap?.answerPending() }
                if readable.contains(routerIndex) {
                    while let (frames, userID) = try router.receiveWithUserID(wait: false) { handleWorkerMessage(frames, userID: userID) }
                }
                if readable.contains(publisherIndex) {
                    while let frames = try publisher.receive(wait: false) { handleSubscription(frames) }
                }
                handleTimers(now: monotonicMilliseconds())
                dispatchPending()
                publishSnapshotIfChanged()
            }
        } catch {
            // Nothing can reach a worker any more: fail every caller at once, then exit non-zero
            // so that the supervisor restarts the gateway instead of leaving requests hanging.
            logger.critical("broker socket loop failed: exiting", metadata: ["error": "\(error)"])
            failEverything(with: .stopped)
            broker.close()
            exit(70)
        }
    }

    // MARK: commands from callers

    /// Returns false when told to stop.
    private func handleCommands() -> Bool {
        let commands = broker.takeCommands()
        for (index, command) in commands.enumerated() {
            switch command {
            case .request(let service, let body, let timeout, let priority, let reply):
                enqueue(service: service, body: body, timeout: timeout, completion: .single(reply), priority: priority)
            case .chain(let first, let next, let reply):
                enqueue(service: first.service, body: first.body, timeout: first.timeoutMilliseconds, completion: .chain(Chain(next: next, reply: reply)))
            case .publish(let state):
                control = state
                publishControl()
            case .publishMarket(let symbol, let body):
                market[symbol] = body
                publishMarket(body)
            case .stop:
                for worker in workers.values {
                    _ = try? router.send([worker.identity] + MDP.Message.disconnect.frames, wait: false)
                }
                failEverything(with: .stopped)
                for later in commands[(index + 1)...] { Broker.refuse(later) }
                logger.info("broker stopped")
                return false
            }
        }
        return true
    }

    private func enqueue(batch items: [Broker.BatchItem], done: @escaping ([Result<[UInt8], BrokerError>]) -> Void) {
        let batch = Batch(count: items.count, done: done)
        for (index, item) in items.enumerated() {
            enqueue(service: item.service, body: item.body, timeout: item.timeoutMilliseconds, completion: .batch(batch, index))
        }
    }

    /// Delivers an outcome: resumes the caller, fills a batch slot, or runs a chain's next step.
    private func complete(_ completion: Completion, with result: Result<[UInt8], BrokerError>) {
        switch completion {
        case .single(let reply):
            reply.resume(returning: result)
        case .batch(let batch, let index):
            batch.complete(index, with: result)
        case .chain(let chain):
            let items = chain.next(result)
            if items.isEmpty {
                chain.reply.resume(returning: (result, []))
            } else {
                enqueue(batch: items) { chain.reply.resume(returning: (result, $0)) }
            }
        }
    }

    private func enqueue(service: String, body: [UInt8], timeout: Int, completion: Completion, priority: Bool = false) {
        // Only names of the grammar get a queue: nothing a caller passes creates arbitrary state.
        guard ServiceName.isWellFormed(service) else {
            complete(completion, with: .failure(.noWorker(service: String(service.prefix(80)))))
            return
        }
        // A bounded queue: a full one sheds the request at once instead of letting it wait
        // (an operator's priority request is never shed behind ordinary ones).
        if !priority, let queue = services[service], queue.waiting.count >= broker.configuration.maxQueue {
            complete(completion, with: .failure(.overloaded(service: service, limit: broker.configuration.maxQueue)))
            return
        }
        let now = monotonicMilliseconds()
        let pending = Pending(
            key: nextKey, service: service, body: body, timeoutMilliseconds: timeout, deadline: now + timeout,
            noWorkerDeadline: now + min(timeout, broker.configuration.noWorkerWaitMilliseconds), reply: completion, priority: priority)
        nextKey &+= 1
        let waiting = queue(service)
        if priority {
            // Behind the priority requests already waiting, ahead of every ordinary one.
            let position = waiting.waiting.firstIndex { !$0.priority } ?? waiting.waiting.count
            waiting.waiting.insert(pending, at: position)
        } else {
            waiting.waiting.append(pending)
        }
        pendingDispatch.insert(service)
    }

    // MARK: workers

    /// `userID` is what the ZAP handler gave the connection: "ROLE PUBLIC-KEY" with CURVE, nil in the clear.
    private func handleWorkerMessage(_ frames: ZMQMessage, userID: String?) {
        guard frames.count >= 2 else { return }
        let identity = frames[0]
        let message: MDP.Message
        do {
            message = try MDP.Message(frames: Array(frames[1...]))
        } catch {
            logger.warning("dropped a message that is not MDP/0.1", metadata: ["error": "\(error)"])
            return
        }
        let now = monotonicMilliseconds()
        let known = workers[identity]
        known?.expiry = now + workerTimeout
        switch message {
        case .ready(let service):
            if known != nil {
                logger.warning("READY from a registered worker: protocol error, dropping it", metadata: ["service": "\(service)"])
                disconnect(identity)
                return
            }
            guard ServiceName.isWellFormed(service) else {
                if refusals.shouldLog("name \(Self.printable(service))") {
                    logger.warning("READY with an invalid service name", metadata: ["service": "\(Self.printable(service))"])
                }
                sendDisconnect(identity)
                return
            }
            if zap != nil {
                let (role, key) = Self.roleAndKey(userID)
                guard let role, role.mayServe(service) else {
                    if refusals.shouldLog("\(key) \(service)") { logger.warning(
                        "READY refused: the key may not serve this service",
                        metadata: ["service": "\(service)", "key": "\(key)", "role": "\(role?.rawValue ?? "none")"]) }
                    sendDisconnect(identity)
                    return
                }
            }
            if let existing = services[service], existing.workerCount >= maxWorkersPerService {
                if refusals.shouldLog("full \(service)") {
                    logger.warning("READY refused: the service has its most workers", metadata: ["service": "\(service)", "workers": "\(existing.workerCount)"])
                }
                sendDisconnect(identity)
                return
            }
            workers[identity] = Worker(identity: identity, service: service, expiry: now + workerTimeout)
            let queue = queue(service)
            queue.workerCount += 1
            snapshotDirty = true
            queue.idle.append(identity)
            // An immediate heartbeat tells the worker at once that its READY arrived.
            _ = try? router.send([identity] + MDP.Message.heartbeat.frames, wait: false)
            logger.info("worker ready", metadata: ["service": "\(service)", "workers": "\(queue.workerCount)"])
            pendingDispatch.insert(service)
        case .reply(let client, let body):
            guard let worker = known else {
                sendDisconnect(identity)
                return
            }
            let holding = worker.holding
            worker.holding = []
            if let key = Self.key(from: client), key == holding.first {
                if body.count != holding.count {
                    logger.warning(
                        "reply frames do not match the requests in hand", metadata: ["service": "\(worker.service)", "requests": "\(holding.count)", "frames": "\(body.count)"])
                }
                // One body frame per request, in order; a missing frame is an empty, unreadable reply.
                for (index, key) in holding.enumerated() {
                    // A key no longer in flight passed its deadline: the late reply is dropped.
                    if let pending = inflight.removeValue(forKey: key) {
                        complete(pending.reply, with: .success(index < body.count ? body[index] : []))
                    }
                }
            } else {
                logger.warning("reply for a request the worker does not hold", metadata: ["service": "\(worker.service)"])
            }
            services[worker.service]?.idle.append(identity)
            pendingDispatch.insert(worker.service)
        case .heartbeat:
            if known == nil { sendDisconnect(identity) }
        case .disconnect:
            if known != nil {
                logger.info("worker said DISCONNECT", metadata: ["service": "\(known?.service ?? "")"])
                remove(identity)
            }
        case .request:
            logger.warning("REQUEST sent to the broker by a worker: protocol error")
            disconnect(identity)
        }
    }

    private func dispatchPending() {
        while let service = pendingDispatch.popFirst() { dispatch(service) }
    }

    /// Hands waiting requests of `service` to idle workers. A packing service's waiting requests
    /// (`ServiceName.packsRequests`: the read-only ones, and `risk`, which commits a REQUEST in
    /// one transaction) are shared out among its idle workers, several to a REQUEST (one body
    /// frame each, up to `maxBatch`); the worker answers one frame per request, in order. Others
    /// go one at a time.
    private func dispatch(_ service: String) {
        guard let queue = services[service] else { return }
        let batches = ServiceName.packsRequests(service)
        while !queue.waiting.isEmpty, !queue.idle.isEmpty {
            let identity = queue.idle.removeFirst()
            guard let worker = workers[identity] else { continue }
            let idleWorkers = queue.idle.count + 1
            let share = batches ? min(maxBatch, (queue.waiting.count + idleWorkers - 1) / idleWorkers) : 1
            var taken: [Pending] = []
            taken.reserveCapacity(share)
            for _ in 0..<share { taken.append(queue.waiting.removeFirst()) }
            var client = [UInt8](repeating: 0, count: 8)
            withUnsafeBytes(of: taken[0].key.bigEndian) { client = Array($0) }
            let frames = [identity] + MDP.Message.request(client: client, body: taken.map(\.body)).frames
            let sent: Bool
            do {
                sent = try router.send(frames, wait: false)
            } catch {
                sent = false
            }
            if sent {
                worker.holding = taken.map(\.key)
                for pending in taken { inflight[pending.key] = pending }
                queue.dispatches.increment()
                queue.dispatchedRequests.increment(by: Int64(taken.count))
            } else {
                logger.warning("worker unreachable: dropping it", metadata: ["service": "\(service)"])
                queue.waiting.prepend(contentsOf: taken)
                remove(identity)
            }
        }
    }

    private func queue(_ service: String) -> ServiceQueue {
        if let queue = services[service] { return queue }
        let queue = ServiceQueue(service: service)
        services[service] = queue
        return queue
    }

    private func sendDisconnect(_ identity: [UInt8]) {
        _ = try? router.send([identity] + MDP.Message.disconnect.frames, wait: false)
    }

    private func disconnect(_ identity: [UInt8]) {
        sendDisconnect(identity)
        remove(identity)
    }

    /// Forgets a worker; its request is retried once elsewhere when idempotent, else failed.
    private func remove(_ identity: [UInt8]) {
        guard let worker = workers.removeValue(forKey: identity) else { return }
        services[worker.service]?.workerCount -= 1
        snapshotDirty = true
        services[worker.service]?.idle.removeAll { $0 == identity }
        for key in worker.holding.reversed() {
            guard var pending = inflight.removeValue(forKey: key) else { continue }
            if ServiceName.isIdempotent(pending.service) && !pending.retried {
                pending.retried = true
                queue(pending.service).waiting.prepend(pending)
                logger.warning("retrying a request on another replica", metadata: ["service": "\(pending.service)"])
                pendingDispatch.insert(pending.service)
            } else {
                complete(pending.reply, with: .failure(.workerLost(service: pending.service)))
            }
        }
    }

    // MARK: timers

    private func nextTimer() -> Int {
        var next = min(nextHeartbeat, nextControl)
        if !inflight.isEmpty || services.values.contains(where: { !$0.waiting.isEmpty }) {
            next = min(next, max(nextDeadlineCheck, monotonicMilliseconds() + 1))
        }
        return next
    }

    private func handleTimers(now: Int) {
        if now >= nextHeartbeat {
            nextHeartbeat = now + heartbeatInterval
            for worker in Array(workers.values) {
                if worker.expiry <= now {
                    logger.warning("worker silent for \(workerTimeout) ms: dropped", metadata: ["service": "\(worker.service)"])
                    snapshot.workersExpired += 1
                    remove(worker.identity)
                } else {
                    _ = try? router.send([worker.identity] + MDP.Message.heartbeat.frames, wait: false)
                }
            }
        }
        if now >= nextControl {
            nextControl = now + controlInterval
            publishControl()
        }
        guard now >= nextDeadlineCheck else { return }
        nextDeadlineCheck = now + deadlineGranularity
        for (key, pending) in inflight where pending.deadline <= now {
            inflight.removeValue(forKey: key)
            complete(pending.reply, with: .failure(.timeout(service: pending.service, milliseconds: pending.timeoutMilliseconds, delivered: true)))
        }
        for (service, queue) in services where !queue.waiting.isEmpty {
            var kept = Deque<Pending>()
            for pending in queue.waiting {
                if pending.deadline <= now {
                    complete(pending.reply, with: .failure(.timeout(service: service, milliseconds: pending.timeoutMilliseconds, delivered: false)))
                } else if queue.workerCount == 0 && pending.noWorkerDeadline <= now {
                    complete(pending.reply, with: .failure(.noWorker(service: service)))
                } else {
                    kept.append(pending)
                }
            }
            queue.waiting = kept
        }
    }

    private func failEverything(with error: BrokerError) {
        for pending in inflight.values { complete(pending.reply, with: .failure(error)) }
        inflight.removeAll()
        for queue in services.values {
            for pending in queue.waiting { complete(pending.reply, with: .failure(error)) }
            queue.waiting.removeAll()
        }
    }

    // MARK: control channel

    private func handleSubscription(_ frames: ZMQMessage) {
        // XPUB delivers [0x01 topic...] for a subscription, [0x00 topic...] for an unsubscription.
        guard let first = frames.first, first.first == 1 else { return }
        if first.dropFirst().elementsEqual(MarketUpdate.topic) {
            // A feature worker joined: every symbol's window, so that it answers like the others.
            for body in market.values { publishMarket(body) }
            return
        }
        publishControl()
    }

    /// A dropped update is made good by the next one (each carries the whole window), and a
    /// feature worker without it refuses `features_not_current`, answered from the candles.
    private func publishMarket(_ body: [UInt8]) {
        _ = try? publisher.send([MarketUpdate.topic, body], wait: false)
    }

    private func publishControl() {
        guard var state = control else { return }
        state.ts = unixMilliseconds()
        guard let body = try? WireCodec.encode(state) else { return }
        let sent = (try? publisher.send([ControlState.topic, body], wait: false)) ?? false
        if !sent { snapshot.controlDrops += 1 }
    }

    private func publishSnapshotIfChanged() {
        guard snapshotDirty else { return }
        snapshotDirty = false
        var counts: [String: Int] = [:]
        for (service, queue) in services where queue.workerCount > 0 { counts[service] = queue.workerCount }
        snapshot.workers = counts
        let current = snapshot
        broker.snapshotState.withLock { if $0 != current { $0 = current } }
    }

    static func key(from client: [UInt8]) -> UInt64? {
        guard client.count == 8 else { return nil }
        return client.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The role and key of a ZAP user id ("ROLE PUBLIC-KEY").
    static func roleAndKey(_ userID: String?) -> (BusRole?, String) {
        guard let userID, let space = userID.firstIndex(of: " ") else { return (nil, "none") }
        return (BusRole(rawValue: String(userID[..<space])), String(userID[userID.index(after: space)...]))
    }

    /// A peer's string as it may appear in a log line: printable ASCII only, 80 characters at most.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? $0 : "?" }))
    }
}

/// Says "refused" in the log once a minute per key, not once per reconnect attempt.
struct RefusalLog {
    private var lastLogged: [String: Int] = [:]

    mutating func shouldLog(_ key: String, now: Int = monotonicMilliseconds()) -> Bool {
        if let last = lastLogged[key], now - last < 60_000 { return false }
        if lastLogged.count > 1_000 { lastLogged.removeAll() }
        lastLogged[key] = now
        return true
    }
}
