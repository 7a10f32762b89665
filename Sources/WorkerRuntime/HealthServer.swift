import HTTPDeadline
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for a worker's `GET /health` (and any other read-only path it is
/// given). Each route answers JSON built by a closure at request time.
public final class HealthServer: Sendable {
    /// One answer: status, body, and its content type.
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var contentType: String

        public init(status: Int, body: [UInt8], contentType: String = "application/json") {
            self.status = status
            self.body = body
            self.contentType = contentType
        }
    }

    public typealias Route = @Sendable () -> Reply

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds `host:port` and serves `routes` (path → closure). Port 0 picks a free port.
    /// A connection that has not sent a whole request within `idleTimeout` of opening or of its
    /// previous response is closed: idle keep-alive, headers or a body dribbled byte by byte.
    public init(host: String, port: Int, routes: [String: Route], idleTimeout: TimeAmount = .seconds(30)) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        RequestDeadlineHandler<HTTPServerRequestPart, HTTPServerResponsePart>(
                            timeout: idleTimeout,
                            isRequestEnd: { if case .end = $0 { true } else { false } },
                            isResponseEnd: { if case .end = $0 { true } else { false } }
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(RouteHandler(routes: routes))
                }
            }
        channel = try bootstrap.bind(host: host, port: port).wait()
    }

    /// The bound port.
    public var port: Int { channel.localAddress?.port ?? 0 }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class RouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: HealthServer.Route]
    private var head: HTTPRequestHead?

    init(routes: [String: HealthServer.Route]) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let reply: HealthServer.Reply
            if head.method != .GET {
                reply = .init(status: 405, body: Array(#"{"error":"method_not_allowed","detail":"only GET is served here"}"#.utf8))
            } else if let route = routes[path] {
                reply = route()
            } else {
                reply = .init(status: 404, body: Array(#"{"error":"not_found","detail":"no such path"}"#.utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: reply.contentType)
            headers.add(name: "content-length", value: "\(reply.body.count)")
            let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
