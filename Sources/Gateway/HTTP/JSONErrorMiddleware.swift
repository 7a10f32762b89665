import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Turns every error into a JSON answer: `APIError` as itself, Hummingbird's errors (404, 405,
/// 413) with their status, anything else as a logged 500. Logs 5xx at ERROR: they are faults.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    /// The router's paths and methods: a 404 for a path that exists under other methods is a 405.
    let routes: RouteTableBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            log(error, request)
            return error.jsonResponse
        } catch let error as any HTTPResponseError {
            let code: String
            let detail: String
            switch error.status {
            case .notFound:
                if let methods = routes.table?.methods(for: request.uri.path), !methods.contains(request.method.rawValue) {
                    let allowed = RouteTable.allowHeader(methods)
                    let apiError = APIError(
                        .methodNotAllowed,
                        "method_not_allowed",
                        "\(request.method) is not allowed on \(request.uri.path): \(allowed)"
                    )
                    log(apiError, request)
                    var response = apiError.jsonResponse
                    response.headers[.allow] = allowed
                    return response
                }
                (code, detail) = ("not_found", "no route \(request.method) \(request.uri.path)")
            case .methodNotAllowed: (code, detail) = ("method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge: (code, detail) = ("body_too_large", "the request body is larger than allowed")
            default: (code, detail) = ("http_\(error.status.code)", error.status.reasonPhrase)
            }
            let apiError = APIError(error.status, code, detail)
            log(apiError, request)
            return apiError.jsonResponse
        } catch {
            let apiError = APIError(.internalServerError, "internal_error", "unexpected failure")
            logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return apiError.jsonResponse
        }
    }

    private func log(_ error: APIError, _ request: Request) {
        let metadata: Logger.Metadata = [
            "request.id": "\(request.headers[.requestID] ?? "")", "path": "\(request.uri.path)",
            "status": "\(error.status.code)", "error": "\(error.code)", "detail": "\(error.detail)",
        ]
        if error.status.code >= 500 && error.code != "overloaded" {
            logger.error("request failed", metadata: metadata)
        } else if error.code == "risk_locked" {
            GatewayCounters.riskLockedRefusals.increment()
            logger.warning("risk_locked: refused", metadata: metadata)
        } else if error.code == "stale_market_data" {
            let consensus = request.uri.path.hasSuffix("/consensus")
            GatewayCounters.staleData(consensus ? "consensus" : "order")
            logger.warning("stale market data: \(consensus ? "consensus" : "order") refused", metadata: metadata)
        } else {
            logger.info("request refused", metadata: metadata)
        }
    }
}

/// The route table, set once the router is complete (the middleware is added before the routes).
final class RouteTableBox: Sendable {
    private let storage = Mutex<RouteTable?>(nil)

    var table: RouteTable? { storage.withLock { $0 } }

    func set(_ table: RouteTable) { storage.withLock { $0 = table } }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    /// Who asked for an operator action, when the body does not say.
    static let operatorName = Self("X-Operator")!
}
