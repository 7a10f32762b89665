import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for a worker's `GET /health` (and any other read-only path it is
/// given). Each route answers JSON built by a closure at request time.
public final class HealthServer: Sendable {
    public typealias Route = @Sendable () -> (status: Int, body: [UInt8])

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds `host:port` and serves `routes` (path → closure). Port 0 picks a free port.
    public init(host: String, port: Int, routes: [String: Route]) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
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
            let (status, body): (Int, [UInt8])
            if head.method != .GET {
                (status, body) = (405, Array(#"{"error":"method_not_allowed","detail":"only GET is served here"}"#.utf8))
            } else if let route = routes[path] {
                (status, body) = route()
            } else {
                (status, body) = (404, Array(#"{"error":"not_found","detail":"no such path"}"#.utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: "\(body.count)")
            let responseHead = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
