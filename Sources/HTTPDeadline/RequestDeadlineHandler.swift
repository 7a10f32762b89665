import NIOCore

/// Closes an HTTP connection that has not delivered a whole request (head, body and end) within
/// `timeout` of opening or of its previous response.
///
/// One deadline covers the three ways a client can hold a connection without asking anything:
/// staying idle, dribbling its headers (a decoder sees no request part until the head is
/// complete) and dribbling its body (each part would reset an idle timer). The deadline is
/// disarmed while a complete request waits for its response, so a slow handler is never cut
/// off, and armed again when the response ends.
///
/// It sits after the HTTP decoder and encoder, so it is generic over their part types:
/// Hummingbird's `HTTPRequestPart`/`HTTPResponsePart` and NIO's `HTTPServerRequestPart`/
/// `HTTPServerResponsePart` alike.
public final class RequestDeadlineHandler<RequestPart, ResponsePart>: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = RequestPart
    public typealias InboundOut = RequestPart
    public typealias OutboundIn = ResponsePart
    public typealias OutboundOut = ResponsePart

    private let timeout: TimeAmount
    private let isRequestEnd: (RequestPart) -> Bool
    private let isResponseEnd: (ResponsePart) -> Bool
    private var deadline: Scheduled<Void>?
    /// Requests read in full whose response has not ended yet (more than one when pipelined).
    private var awaitingResponse = 0

    public init(timeout: TimeAmount, isRequestEnd: @escaping (RequestPart) -> Bool, isResponseEnd: @escaping (ResponsePart) -> Bool) {
        self.timeout = timeout
        self.isRequestEnd = isRequestEnd
        self.isResponseEnd = isResponseEnd
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    public func channelActive(context: ChannelHandlerContext) {
        if deadline == nil, awaitingResponse == 0 { arm(context) }
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isRequestEnd(unwrapInboundIn(data)) {
            awaitingResponse += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if isResponseEnd(unwrapOutboundIn(data)) {
            awaitingResponse = max(0, awaitingResponse - 1)
            if awaitingResponse == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension RequestDeadlineHandler: Sendable {}
