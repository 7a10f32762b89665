import Testing

@testable import ZeroMQ

@Suite("ZeroMQ wrapper")
struct ZeroMQSocketTests {
    @Test("multipart messages keep every frame, empty ones included")
    func multipartRoundTrip() throws {
        let context = try ZMQContext()
        let a = try context.socket(.pair)
        let b = try context.socket(.pair)
        try a.bind("inproc://roundtrip")
        try b.connect("inproc://roundtrip")
        let message: ZMQMessage = [Array("one".utf8), [], [0, 1, 2, 255], Array(repeating: 7, count: 100_000)]
        try a.send(message)
        let received = try #require(try b.receive())
        #expect(received == message)
    }

    @Test("a non-blocking receive on an empty socket answers nil")
    func nonBlockingEmpty() throws {
        let context = try ZMQContext()
        let socket = try context.socket(.pull)
        try socket.bind("inproc://empty")
        #expect(try socket.receive(wait: false) == nil)
    }

    @Test("the poller reports the wake signal and readable sockets only")
    func pollerReadiness() throws {
        let context = try ZMQContext()
        let push = try context.socket(.push)
        let pull = try context.socket(.pull)
        try pull.bind("inproc://poll")
        try push.connect("inproc://poll")
        let wake = try WakeSignal()
        var poller = ZMQPoller()
        let pullIndex = poller.add(pull)
        let wakeIndex = poller.add(fileDescriptor: wake.fileDescriptor)
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
        wake.signal()
        #expect(try poller.poll(timeoutMilliseconds: 100) == [wakeIndex])
        wake.drain()
        try push.send([Array("x".utf8)])
        #expect(try poller.poll(timeoutMilliseconds: 1000) == [pullIndex])
        _ = try pull.receive()
        #expect(try poller.poll(timeoutMilliseconds: 0).isEmpty)
    }

    @Test("ROUTER_MANDATORY turns routing to an unknown peer into an error")
    func routerMandatory() throws {
        let context = try ZMQContext()
        let router = try context.socket(.router)
        try router.setOption(ZMQOption.routerMandatory, 1)
        try router.bind("inproc://mandatory")
        #expect {
            try router.send([Array("nobody".utf8), Array("hello".utf8)], wait: false)
        } throws: { error in
            (error as? ZMQError)?.isHostUnreachable == true
        }
    }

    @Test("a DEALER's messages reach the ROUTER behind its routing id, and replies come back")
    func routerDealer() throws {
        let context = try ZMQContext()
        let router = try context.socket(.router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        let dealer = try context.socket(.dealer)
        try dealer.setOption(ZMQOption.routingID, bytes: Array("worker-1".utf8))
        try dealer.connect(endpoint)
        try dealer.send([[], Array("ping".utf8)])
        let atRouter = try #require(try router.receive())
        #expect(atRouter == [Array("worker-1".utf8), [], Array("ping".utf8)])
        try router.send([Array("worker-1".utf8), [], Array("pong".utf8)])
        #expect(try dealer.receive() == [[], Array("pong".utf8)])
    }

    @Test("an XPUB sees each subscription, so it can welcome a late joiner")
    func xpubSeesSubscriptions() throws {
        let context = try ZMQContext()
        let publisher = try context.socket(.extendedPublisher)
        try publisher.setOption(ZMQOption.xpubVerbose, 1)
        try publisher.bind("inproc://xpub")
        let subscriber = try context.socket(.subscriber)
        try subscriber.setOption(ZMQOption.subscribe, bytes: Array("control".utf8))
        try subscriber.connect("inproc://xpub")
        let subscription = try #require(try publisher.receive())
        #expect(subscription == [[1] + Array("control".utf8)])
        try publisher.send([Array("control".utf8), Array("{}".utf8)])
        #expect(try subscriber.receive() == [Array("control".utf8), Array("{}".utf8)])
    }

    @Test("binding a taken endpoint is a ZMQError that says what failed")
    func bindConflict() throws {
        let context = try ZMQContext()
        let first = try context.socket(.router)
        try first.bind("inproc://taken")
        let second = try context.socket(.router)
        #expect(throws: ZMQError.self) { try second.bind("inproc://taken") }
        do {
            try second.bind("inproc://taken")
        } catch let error as ZMQError {
            #expect(error.description.contains("bind inproc://taken"))
        }
    }
}
