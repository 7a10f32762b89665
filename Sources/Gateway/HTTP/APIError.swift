import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TradingWire

/// An error answered as `{"error": code, "detail": detail}` with its HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    /// The order an execute answer is about, so that the caller can query it or retry with it.
    public var clientOrderId: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, clientOrderId: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.clientOrderId = clientOrderId
    }

    /// Sent as `Retry-After` (seconds) when set.
    public var retryAfterSeconds: Int?

    public var headers: HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { fields[.retryAfter] = "\(retryAfterSeconds)" }
        return fields
    }
    public var description: String { "\(status.code) \(code): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse
    }

    var jsonResponse: Response {
        var fields = ["error": code, "detail": detail]
        if let clientOrderId { fields["clientOrderId"] = clientOrderId }
        let body = (try? JSONEncoder().encode(fields)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func invalid(_ detail: String) -> APIError { APIError(.badRequest, "invalid_request", detail) }

    init(_ error: WireError) {
        self.init(HTTPResponse.Status(code: error.status), error.code, error.detail)
        retryAfterSeconds = error.retryAfterSeconds
    }

    init(_ error: BrokerError) {
        self.init(HTTPResponse.Status(code: error.httpStatus), error.code, error.description)
        if case .overloaded = error { retryAfterSeconds = 1 }
    }
}
