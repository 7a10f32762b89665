import Foundation
import Logging
import ServiceSupport
import TradingWire
import ZeroMQ

/// The broker thread's loop, which lives and dies on that thread: the ROUTER side of MDP/0.1
/// (workers' READY, REPLY, HEARTBEAT and DISCONNECT), the callers' requests (queued per service,
/// packed, dispatched, retried once when idempotent, expired at their deadlines: see
/// `BrokerQueues.swift`), heartbeats, and the timer of the control channel (`ControlChannel`).
/// Bus admission is `BusAdmission`'s.
final class BrokerLoop {
    private unowned let broker: Broker
    private let router: ZMQSocket
    /// The XPUB side: control state and market updates.
    private let channel: ControlChannel
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
        zap = try configuration.curve.map { try BusAdmission.handler(context: broker.context, keys: $0.authorizedKeys, logger: broker.logger) }
        router = try broker.context.socket(.router)
        if let curve = configuration.curve { try router.makeCurveServer(secretKey: curve.secretKey, zapDomain: "trading") }
        try router.setMaximumMessageSize(Int64(configuration.maxMessageBytes))
        try router.setOption(ZMQOption.routerMandatory, 1)
        try router.setOption(ZMQOption.sendHighWaterMark, 10_000)
        try router.setOption(ZMQOption.receiveHighWaterMark, 10_000)
        try router.setOption(ZMQOption.tcpKeepalive, 1)
        try router.bind(configuration.routerEndpoint)
        channel = try ControlChannel(context: broker.context, endpoint: configuration.controlEndpoint, curve: configuration.curve)
        let endpoints = (try router.lastEndpoint(), try channel.socket.lastEndpoint())
        broker.boundEndpoints.withLock { $0 = endpoints }
        let now = monotonicMilliseconds()
        nextHeartbeat = now + heartbeatInterval
        nextControl = now + controlInterval
        logger.info("broker bound", metadata: ["router": "\(endpoints.0)", "control": "\(endpoints.1)"])
    }

    func run() {
        defer {
            router.close()
            channel.socket.close()
            zap?.socket.close()
        }
        do {
            var poller = ZMQPoller()
            let routerIndex = poller.add(router)
            let channelIndex = poller.add(channel.socket)
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
                if readable.contains(channelIndex) { try channel.readSubscriptions() }
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
                enqueue(
                    service: first.service,
                    body: first.body,
                    timeout: first.timeoutMilliseconds,
                    completion: .chain(Chain(next: next, reply: reply))
                )
            case .batch(let items, let reply):
                enqueue(batch: items) { reply.resume(returning: $0) }
            case .publish(let state):
                channel.publish(state)
            case .publishMarket(let symbol, let body):
                channel.publishMarket(symbol: symbol, body: body)
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
        // A service with a queue has passed already (a bundle's name is not checked in one look).
        guard services[service] != nil || ServiceName.isWellFormed(service) else {
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
            key: nextKey,
            service: service,
            body: body,
            timeoutMilliseconds: timeout,
            deadline: now + timeout,
            noWorkerDeadline: now + min(timeout, broker.configuration.noWorkerWaitMilliseconds),
            reply: completion,
            priority: priority
        )
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
                let (role, key) = BusAdmission.roleAndKey(userID)
                guard let role, role.mayServe(service) else {
                    if refusals.shouldLog("\(key) \(service)") {
                        logger.warning(
                            "READY refused: the key may not serve this service",
                            metadata: ["service": "\(service)", "key": "\(key)", "role": "\(role?.rawValue ?? "none")"]
                        )
                    }
                    sendDisconnect(identity)
                    return
                }
            }
            if let existing = services[service], existing.workerCount >= maxWorkersPerService {
                if refusals.shouldLog("full \(service)") {
                    logger.warning(
                        "READY refused: the service has its most workers",
                        metadata: ["service": "\(service)", "workers": "\(existing.workerCount)"]
                    )
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
                        "reply frames do not match the requests in hand",
                        metadata: ["service": "\(worker.service)", "requests": "\(holding.count)", "frames": "\(body.count)"]
                    )
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
            channel.republish()
        }
        guard now >= nextDeadlineCheck else { return }
        nextDeadlineCheck = now + deadlineGranularity
        for (key, pending) in inflight where pending.deadline <= now {
            inflight.removeValue(forKey: key)
            complete(pending.reply, with: .failure(.timeout(service: pending.service, milliseconds: pending.timeoutMilliseconds, delivered: true)))
        }
        for (service, queue) in services where !queue.waiting.isEmpty {
            for (pending, error) in queue.expireWaiting(service: service, now: now) { complete(pending.reply, with: .failure(error)) }
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

    // MARK: snapshot

    private func publishSnapshotIfChanged() {
        if channel.drops != snapshot.controlDrops { snapshot.controlDrops = channel.drops }
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

    /// A peer's string as it may appear in a log line: printable ASCII only, 80 characters at most.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? $0 : "?" }))
    }
}
