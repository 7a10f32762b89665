import Hummingbird
import NIOCore
import ServiceSupport
import TradingWire

extension GatewayAPI {
    /// The operator's read-outs beside the API: the equity history, the OpenAPI document and the
    /// dashboard page.
    func registerOperatorRoutes(on router: Router<GatewayRequestContext>, document: OpenAPIDocument) {
        router.get("api/equity") { request, context in
            let query = try equityQuery(request.uri.queryParameters)
            let history: EquityHistory = try await risk(Operations.Risk.equity, query, requestID: context.requestID)
            return try jsonResponse(history, requestID: context.requestID)
        }
        let documentBytes = ByteBuffer(string: document.json)
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: documentBytes))
        }
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .contentSecurityPolicy:
                        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
                ],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html))
            )
        }
    }

    /// `since` (Unix ms, default 0) and `limit` (1...10000, default 2000) of `GET /api/equity`.
    func equityQuery(_ parameters: Parameters) throws(APIError) -> EquityQuery {
        var since: Int64 = 0
        if let text = try InputValidation.single(parameters, "since") {
            guard let value = Int64(String(text)), value >= 0 else {
                throw APIError(.unprocessableContent, "invalid_since", "since must be Unix milliseconds (an integer from 0)")
            }
            since = value
        }
        let limit = try InputValidation.integer(parameters, "limit", in: 1...10_000, default: 2_000)
        return EquityQuery(since: since, limit: limit)
    }
}
