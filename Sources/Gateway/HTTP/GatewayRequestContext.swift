import Hummingbird

/// The context of every gateway route: Hummingbird's core context plus the request id, made
/// sane (or generated) once by `RequestIDMiddleware` before any route or other middleware sees
/// the request.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The request's `X-Request-Id` as it may appear in a log line and an answer: 1 to 128
    /// visible ASCII characters, generated when the caller sent none or a bad one.
    var requestID = ""

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
