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

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String) {
        self.status = status
        self.code = code
        self.detail = detail
    }

    public var headers: HTTPFields { [.contentType: "application/json"] }
    public var description: String { "\(status.code) \(code): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse
    }

    var jsonResponse: Response {
        let body = (try? JSONEncoder().encode(["error": code, "detail": detail])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func invalid(_ detail: String) -> APIError { APIError(.badRequest, "invalid_request", detail) }

    init(_ error: WireError) {
        self.init(HTTPResponse.Status(code: error.status), error.code, error.detail)
    }

    init(_ error: BrokerError) {
        self.init(HTTPResponse.Status(code: error.httpStatus), error.code, error.description)
    }
}
