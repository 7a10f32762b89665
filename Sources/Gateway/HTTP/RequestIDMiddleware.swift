import HTTPTypes
import Hummingbird

/// Replaces an `X-Request-Id` that is not 1 to 128 visible ASCII characters with a generated
/// one before anything else sees the request, so that no raw header bytes reach a log line.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.requestID]
        let sane = InputValidation.requestID(given)
        guard sane != given || request.headers[values: .requestID].count > 1 else { return try await next(request, context) }
        var head = request.head
        head.headerFields[.requestID] = sane
        return try await next(Request(head: head, body: request.body), context)
    }
}
