import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TradingWire

extension Request {
    /// Decodes a JSON body of at most `limit` bytes; every failure is a 4xx `APIError` saying
    /// which field is wrong. An empty body decodes as `{}` when `allowEmpty`.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int, allowEmpty: Bool = false) async throws -> T {
        var buffer = try await body.collect(upTo: limit)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            if allowEmpty, let empty = try? JSONDecoder().decode(T.self, from: Data("{}".utf8)) { return empty }
            throw APIError.invalid("the request body is empty; a JSON object is expected")
        }
        if let fastType = T.self as? any FastJSONDecodable.Type, let parsed = FastJSON.parse(bytes),
            let value = fastType.fromFastJSON(parsed) as? T
        {
            return value
        }
        if let key = FastJSON.repeatedKey(in: bytes) { throw APIError.invalid(FastJSON.repeatedKeyDetail(key)) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.invalid(Self.describe(error))
        } catch {
            throw APIError.invalid("the body is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context.codingPath + [key])
            return "missing field \"\(at)\""
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\" has the wrong type (expected \(Self.name(of: type)))"
        case .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" is null (expected \(Self.name(of: type)))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not valid JSON" }
            return "field \"\(path(context.codingPath))\": \(context.debugDescription)"
        @unknown default:
            return "the body does not match the expected shape"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type, is Int.Type: "number"
        case is String.Type: "string"
        case is Bool.Type: "boolean"
        default: "\(type)".contains("Dictionary") ? "object" : ("\(type)".contains("Array") ? "array" : "\(type)")
        }
    }
}

/// Encodes a response body as JSON.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, requestID: String? = nil) throws -> Response {
    let data: [UInt8]
    if let fast = value as? any FastJSONEncodable, let bytes = fast.fastJSON() {
        data = bytes
    } else {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        data = Array(try encoder.encode(value))
    }
    var headers: HTTPFields = [.contentType: "application/json"]
    if let requestID { headers[.requestID] = requestID }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
