import Foundation
import TradingWire

/// A request handler that picks a typed operation by the body's `op`.
///
///     var handler = OperationHandler()
///     handler.on(Operations.Feature.features) { request throws(WireError) in ... }
public struct OperationHandler: RequestHandler {
    /// Per operation: body and (when not yet checked) the op it must name → reply body.
    private var operations: [String: @Sendable ([UInt8], String?) -> [UInt8]] = [:]

    public init() {}

    /// Serves `operation`: the closure takes its payload and answers its result.
    public mutating func on<Payload: Codable & Sendable, Result: Codable & Sendable>(
        _ operation: WireOperation<Payload, Result>,
        _ handler: @escaping @Sendable (WireRequest<Payload>) throws(WireError) -> Result
    ) {
        let typed = JSONRequestHandler(handler)
        operations[operation.name] = { body, expectedOp in typed.handle(body: body, expectedOp: expectedOp) }
    }

    public func handle(body: [UInt8]) -> [UInt8] {
        // A worker with one operation decodes the body once and checks `op` after.
        if operations.count == 1, let (op, operation) = operations.first {
            return operation(body, op)
        }
        let header: WireRequestHeader
        do {
            header = try WireCodec.decode(WireRequestHeader.self, from: body)
        } catch {
            return Self.error(WireError(code: "bad_request_body", detail: "request body is not a versioned envelope: \(error)", status: 502))
        }
        guard header.v == WireVersion.current else {
            return Self.error(
                WireError(code: "unsupported_version", detail: "body version \(header.v), this worker speaks \(WireVersion.current)", status: 502)
            )
        }
        guard let operation = operations[header.op] else {
            return Self.error(WireError(code: "unknown_operation", detail: "this worker has no operation \"\(header.op)\"", status: 502))
        }
        return operation(body, nil)
    }

    private static func error(_ error: WireError) -> [UInt8] {
        (try? WireCodec.encode(WireReply<Empty>(error: error))) ?? []
    }
}
