import Foundation
import TradingWire

/// A request handler that picks a typed operation by the body's `op`.
///
///     var handler = OperationHandler()
///     handler.on("features") { (request: WireRequest<FeatureRequest>) throws(WireError) in ... }
public struct OperationHandler: RequestHandler {
    private var operations: [String: @Sendable ([UInt8]) -> [UInt8]] = [:]

    public init() {}

    /// Registers `op`; its payload and result types come from the closure.
    public mutating func on<Payload: Codable & Sendable, Result: Codable & Sendable>(
        _ op: String, _ handler: @escaping @Sendable (WireRequest<Payload>) throws(WireError) -> Result
    ) {
        operations[op] = JSONRequestHandler(handler).handle(body:)
    }

    public func handle(body: [UInt8]) -> [UInt8] {
        let header: WireRequestHeader
        do {
            header = try WireCodec.decode(WireRequestHeader.self, from: body)
        } catch {
            return Self.error(WireError(code: "bad_request_body", detail: "request body is not a versioned envelope: \(error)", status: 502))
        }
        guard header.v == WireVersion.current else {
            return Self.error(WireError(code: "unsupported_version", detail: "body version \(header.v), this worker speaks \(WireVersion.current)", status: 502))
        }
        guard let operation = operations[header.op] else {
            return Self.error(WireError(code: "unknown_operation", detail: "this worker has no operation \"\(header.op)\"", status: 502))
        }
        return operation(body)
    }

    private static func error(_ error: WireError) -> [UInt8] {
        (try? WireCodec.encode(WireReply<Empty>(error: error))) ?? []
    }
}
