import Foundation

/// Version of the JSON bodies carried in MDP frames. A worker refuses bodies of another version.
public enum WireVersion {
    public static let current = 1
}

/// An error a worker returns. The gateway answers HTTP `status` with `{"error": code, "detail": detail}`.
public struct WireError: Codable, Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var detail: String
    public var status: Int
    /// Sent on to the HTTP caller as `Retry-After` (seconds) when set.
    public var retryAfterSeconds: Int?
    /// The rate-limit back-off an execution replica ran into, for the gateway to share with every replica.
    public var backoff: ExchangeBackoff?

    public init(code: String, detail: String, status: Int, retryAfterSeconds: Int? = nil, backoff: ExchangeBackoff? = nil) {
        self.code = code
        self.detail = detail
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.backoff = backoff
    }

    public var description: String { "\(code): \(detail)" }

    public static func invalid(_ detail: String) -> WireError {
        WireError(code: "invalid_request", detail: detail, status: 400)
    }
}

/// Every request body: `{"v": 1, "op": "...", "requestId": "...", "payload": {...}}`.
public struct WireRequest<Payload: Codable & Sendable>: Codable, Sendable {
    public var v: Int
    public var op: String
    public var requestId: String
    public var payload: Payload

    public init(op: String, requestId: String, payload: Payload) {
        self.v = WireVersion.current
        self.op = op
        self.requestId = requestId
        self.payload = payload
    }
}

/// The part of a request a worker reads first, to pick the payload type by `op`.
public struct WireRequestHeader: Codable, Sendable {
    public var v: Int
    public var op: String
    public var requestId: String
}

/// Every reply body: `{"v": 1, "result": {...}}` or `{"v": 1, "error": {...}}`.
public struct WireReply<Result: Codable & Sendable>: Codable, Sendable {
    public var v: Int
    public var result: Result?
    public var error: WireError?

    public init(result: Result) {
        self.v = WireVersion.current
        self.result = result
        self.error = nil
    }

    public init(error: WireError) {
        self.v = WireVersion.current
        self.result = nil
        self.error = error
    }

    /// The result, or the worker's error thrown.
    public func get() throws -> Result {
        if let error { throw error }
        guard let result else { throw WireError(code: "bad_reply", detail: "reply has neither result nor error", status: 502) }
        return result
    }
}

/// An empty payload or result.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// JSON coding of wire bodies to and from frames.
public enum WireCodec {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let fast = value as? any FastJSONEncodable, let bytes = fast.fastJSON() { return bytes }
        return Array(try JSONEncoder().encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let fastType = type as? any FastJSONDecodable.Type, let parsed = FastJSON.parse(bytes),
            let value = fastType.fromFastJSON(parsed) as? T
        {
            return value
        }
        if let key = FastJSON.repeatedKey(in: bytes) {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: FastJSON.repeatedKeyDetail(key)))
        }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Decodes a request of a known payload type, checking the version.
    public static func decodeRequest<P>(_ payload: P.Type, from bytes: [UInt8]) throws -> WireRequest<P> {
        let request = try decode(WireRequest<P>.self, from: bytes)
        guard request.v == WireVersion.current else {
            throw WireError(code: "unsupported_version", detail: "body version \(request.v), this worker speaks \(WireVersion.current)", status: 502)
        }
        return request
    }
}
