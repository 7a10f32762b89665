import Foundation
import Logging
import Metrics
import ServiceSupport
import Synchronization
import TradingWire
import ZeroMQ

/// Answers one request body with one reply body. Called on the worker's socket thread, one
/// request at a time, as MDP/0.1 workers do. A REQUEST with several body frames (the broker
/// packs waiting requests of a read-only service together) is several requests: each frame is
/// handled on its own and the REPLY carries one frame per request frame, in order.
public protocol RequestHandler: Sendable {
    func handle(body: [UInt8]) -> [UInt8]
}

/// A handler that answers the bodies of one REQUEST together, one reply per body, in order:
/// the risk worker commits the changes of a whole REQUEST in one transaction (one fsync) and
/// answers none of them before that commit. The broker packs waiting requests of such a service
/// as it does for read-only ones (`ServiceName.packsRequests`), but never retries them.
public protocol BatchRequestHandler: RequestHandler {
    /// Exactly one reply per body, in the order of `bodies`.
    func handle(bodies: [[UInt8]]) -> [[UInt8]]
}

/// The worker side of MDP/0.1 plus the control subscription, on one dedicated thread that owns
/// both sockets for their whole life.
///
/// It connects a DEALER to the broker and sends READY, answers REQUESTs through the handler,
/// heartbeats every interval, and reconnects (READY again) when the broker has been silent for
/// `liveness` intervals or says DISCONNECT. A SUB socket beside it keeps the `ControlView` fresh.
public final class MDPWorker: Sendable {
    /// A topic of the control endpoint besides the control state (the market channel), and what
    /// to do with each message of it. Called on the socket thread, between requests.
    public struct Subscription: Sendable {
        public var topic: [UInt8]
        public var handle: @Sendable ([UInt8]) -> Void

        public init(topic: [UInt8], handle: @escaping @Sendable ([UInt8]) -> Void) {
            self.topic = topic
            self.handle = handle
        }
    }

    public let service: String
    private let subscriptions: [Subscription]
    private let configuration: WorkerConfiguration
    private let handler: any RequestHandler
    private let control: ControlView
    private let logger: Logger
    private let stopSignal: WakeSignal
    private let context: ZMQContext
    private let link: BrokerLink
    private let waitForControlState: Bool
    private let offloadRequests: Bool
    private let requestCounter: Counter
    private let requestTimer: Metrics.Timer

    /// - Parameter waitForControlState: send READY only after the first control state is heard
    ///   (the execution worker, which refuses everything without it).
    /// - Parameter offloadRequests: run the handler off the socket thread, so that a slow request
    ///   (an exchange call) never stops the heartbeats that keep the worker alive at the broker.
    public init(
        service: String,
        configuration: WorkerConfiguration,
        handler: any RequestHandler,
        control: ControlView,
        link: BrokerLink = BrokerLink(),
        waitForControlState: Bool = false,
        offloadRequests: Bool = false,
        subscriptions: [Subscription] = [],
        logger: Logger
    ) throws {
        self.subscriptions = subscriptions
        self.offloadRequests = offloadRequests
        self.link = link
        self.waitForControlState = waitForControlState
        self.requestCounter = Counter(label: "worker_requests_total", dimensions: [("service", service)])
        self.requestTimer = Metrics.Timer(
            label: "worker_request_duration_seconds",
            dimensions: [("service", service)],
            preferredDisplayUnit: .seconds
        )
        self.service = service
        self.configuration = configuration
        self.handler = handler
        self.control = control
        self.logger = logger
        self.stopSignal = try WakeSignal()
        self.context = try ZMQContext()
    }

    /// Reads every queued control message into the view, logging changes of halt, lock or mode.
    private func readControl(_ subscriber: ZMQSocket) throws {
        while let message = try subscriber.receive(wait: false) {
            if message.count == 2, message[0] != ControlState.topic, let subscription = subscriptions.first(where: { $0.topic == message[0] }) {
                subscription.handle(message[1])
                continue
            }
            guard message.count == 2, let state = try? WireCodec.decode(ControlState.self, from: message[1]) else {
                logger.warning("ignored a malformed control message")
                continue
            }
            if control.update(state) {
                logger.info(
                    "control state heard",
                    metadata: [
                        "seq": "\(state.seq)", "halted": "\(state.halted)", "riskLocked": "\(state.riskLocked)",
                        "tradingMode": "\(state.tradingMode.rawValue)", "publishedAt": "\(state.ts)",
                    ]
                )
            }
        }
    }

    /// Starts the socket thread. Returns at once; `finished` is signalled when the thread ends.
    public func start(finished: DispatchSemaphore) {
        SocketThread.start(name: "mdp-worker") { [self] in
            do {
                try self.run()
            } catch {
                self.logger.error("worker socket loop failed", metadata: ["error": "\(error)"])
                exit(1)
            }
            finished.signal()
        }
    }

    /// The reply of a request a batch handler left unanswered: an error, never silence.
    static let missingReply: [UInt8] = Array(
        #"{"v":1,"error":{"code":"internal_error","detail":"the worker gave no reply to this request","status":500}}"#.utf8
    )

    /// Asks the socket thread to say DISCONNECT and stop. Safe from any thread.
    public func stop() { stopSignal.signal() }

    private func connectBroker() throws -> ZMQSocket {
        let socket = try context.socket(.dealer)
        if let curve = configuration.curve { try socket.makeCurveClient(curve.keys, serverKey: curve.serverKey) }
        try socket.setOption(ZMQOption.immediate, 1)
        try socket.setOption(ZMQOption.sendTimeout, Int32(configuration.heartbeatIntervalMilliseconds))
        try socket.setOption(ZMQOption.reconnectInterval, 100)
        try socket.setOption(ZMQOption.reconnectIntervalMax, 2000)
        try socket.setOption(ZMQOption.tcpKeepalive, 1)
        try socket.connect(configuration.brokerEndpoint)
        return socket
    }

    private func run() throws {
        let subscriber = try context.socket(.subscriber)
        if let curve = configuration.curve { try subscriber.makeCurveClient(curve.keys, serverKey: curve.serverKey) }
        try subscriber.setOption(ZMQOption.subscribe, bytes: ControlState.topic)
        for subscription in subscriptions { try subscriber.setOption(ZMQOption.subscribe, bytes: subscription.topic) }
        try subscriber.setOption(ZMQOption.reconnectInterval, 100)
        try subscriber.setOption(ZMQOption.reconnectIntervalMax, 2000)
        try subscriber.connect(configuration.controlEndpoint)
        defer { subscriber.close() }

        if waitForControlState {
            // Offer the service only once the control state is known: a worker that would
            // refuse every request for lack of it should not be counted as live.
            logger.info("waiting for the control state before sending READY")
            var poller = ZMQPoller()
            let controlIndex = poller.add(subscriber)
            let stopIndex = poller.add(fileDescriptor: stopSignal.fileDescriptor)
            while control.current() == nil {
                let readable = try poller.poll(timeoutMilliseconds: 1000)
                if readable.contains(stopIndex) { return }
                if readable.contains(controlIndex) { try readControl(subscriber) }
            }
        }

        let interval = configuration.heartbeatIntervalMilliseconds
        var broker = try connectBroker()
        var ready = try broker.send(MDP.Message.ready(service: service).frames)
        var liveness = configuration.heartbeatLiveness
        var nextHeartbeat = monotonicMilliseconds() + interval
        logger.info("worker started", metadata: ["broker": "\(configuration.brokerEndpoint)", "control": "\(configuration.controlEndpoint)"])

        // With `offloadRequests`, the handler runs on its own queue and the socket thread keeps
        // heartbeating meanwhile; the reply comes back through `replyReady`.
        let replyReady = try WakeSignal()
        let replySlot = Mutex<[[UInt8]]?>(nil)
        let handlerQueue = DispatchQueue(label: "mdp-handler")
        var busy: (client: [UInt8], connection: Int, started: UInt64)?
        var connection = 0
        func makePoller() -> ZMQPoller {
            var poller = ZMQPoller()
            poller.add(broker)
            poller.add(subscriber)
            poller.add(fileDescriptor: stopSignal.fileDescriptor)
            poller.add(fileDescriptor: replyReady.fileDescriptor)
            return poller
        }
        let (brokerIndex, controlIndex, stopIndex, replyIndex) = (0, 1, 2, 3)
        var poller = makePoller()
        while true {
            let wait = max(0, nextHeartbeat - monotonicMilliseconds())
            let readable = try poller.poll(timeoutMilliseconds: wait)

            if readable.contains(stopIndex) {
                stopSignal.drain()
                _ = try? broker.send(MDP.Message.disconnect.frames, wait: false)
                logger.info("worker stopping: sent DISCONNECT")
                broker.close(lingerMilliseconds: 200)
                return
            }
            if readable.contains(controlIndex) { try readControl(subscriber) }
            if readable.contains(replyIndex) {
                replyReady.drain()
                if let replies = replySlot.withLock({ slot -> [[UInt8]]? in
                    defer { slot = nil }
                    return slot
                }), let done = busy {
                    busy = nil
                    requestTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - done.started))
                    requestCounter.increment(by: Int64(replies.count))
                    if done.connection != connection {
                        logger.warning("a reply finished after the broker connection changed: dropped (the gateway reconciles it)")
                    } else if try !broker.send(MDP.Message.reply(client: done.client, body: replies).frames) {
                        logger.warning("reply could not be sent: broker connection is down")
                    }
                }
            }
            var reconnect = false
            if readable.contains(brokerIndex) {
                while let frames = try broker.receive(wait: false) {
                    liveness = configuration.heartbeatLiveness
                    link.touch()
                    let message: MDP.Message
                    do {
                        message = try MDP.Message(frames: frames)
                    } catch {
                        logger.warning("ignored a message that is not MDP/0.1", metadata: ["error": "\(error)"])
                        continue
                    }
                    switch message {
                    case .request(let client, let body) where offloadRequests:
                        guard busy == nil else {
                            logger.warning("a request arrived while another is in hand: refused")
                            let refusal = WireReply<Empty>(
                                error: WireError(code: "worker_busy", detail: "this worker is handling another request", status: 503)
                            )
                            _ = try broker.send(MDP.Message.reply(client: client, body: [(try? WireCodec.encode(refusal)) ?? []]).frames)
                            continue
                        }
                        busy = (client, connection, DispatchTime.now().uptimeNanoseconds)
                        handlerQueue.async { [handler] in
                            let replies = (handler as? any BatchRequestHandler)?.handle(bodies: body) ?? body.map { handler.handle(body: $0) }
                            replySlot.withLock { $0 = replies }
                            replyReady.signal()
                        }
                    case .request(let client, let body):
                        var replies: [[UInt8]] = []
                        replies.reserveCapacity(body.count)
                        if let batchHandler = handler as? any BatchRequestHandler {
                            let started = DispatchTime.now().uptimeNanoseconds
                            replies = batchHandler.handle(bodies: body)
                            // Never fewer frames than requests: a missing reply would leave a caller unanswered.
                            while replies.count < body.count { replies.append(Self.missingReply) }
                            requestTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                        } else {
                            for request in body {
                                let started = DispatchTime.now().uptimeNanoseconds
                                replies.append(handler.handle(body: request))
                                requestTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                            }
                        }
                        requestCounter.increment(by: Int64(replies.count))
                        if try !broker.send(MDP.Message.reply(client: client, body: replies).frames) {
                            logger.warning("reply could not be sent: broker connection is down")
                        }
                    case .heartbeat:
                        break
                    case .disconnect:
                        // A refused READY is answered DISCONNECT: pause first, so that a worker whose
                        // key may not serve its service does not reconnect in a tight loop.
                        logger.info("broker sent DISCONNECT: reconnecting after one heartbeat interval")
                        usleep(UInt32(min(interval, 2_000)) * 1_000)
                        reconnect = true
                    case .ready, .reply:
                        logger.warning("ignored a worker-only command from the broker")
                    }
                    if reconnect { break }
                }
            } else if monotonicMilliseconds() >= nextHeartbeat {
                liveness -= 1
                if liveness <= 0 {
                    logger.warning("broker silent for \(configuration.heartbeatLiveness) heartbeats: reconnecting")
                    reconnect = true
                }
            }
            if !ready { reconnect = true }
            if reconnect {
                broker.close()
                broker = try connectBroker()
                ready = try broker.send(MDP.Message.ready(service: service).frames)
                connection += 1
                poller = makePoller()
                liveness = configuration.heartbeatLiveness
                nextHeartbeat = monotonicMilliseconds() + interval
                continue
            }
            if monotonicMilliseconds() >= nextHeartbeat {
                _ = try broker.send(MDP.Message.heartbeat.frames, wait: false)
                nextHeartbeat = monotonicMilliseconds() + interval
            }
        }
    }
}
