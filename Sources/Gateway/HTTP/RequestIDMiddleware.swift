import HTTPTypes
import Hummingbird

/// Sets the context's request id: the caller's `X-Request-Id` when it is 1 to 128 visible ASCII
/// characters, else a generated one. The header is replaced as well, so that no raw header
/// bytes reach a log line.
struct RequestIDMiddleware: RouterMiddleware {
    func handle(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async throws -> Response {
        let given = request.headers[.requestID]
        var context = context
        context.requestID = InputValidation.requestID(given)
        guard context.requestID != given || request.headers[values: .requestID].count > 1 else { return try await next(request, context) }
        var head = request.head
        head.headerFields[.requestID] = context.requestID
        return try await next(Request(head: head, body: request.body), context)
    }
}
