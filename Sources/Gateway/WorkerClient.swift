import Foundation
import TradingWire

/// Why a worker call failed.
enum WorkerCallError: Error {
    /// The broker could not get a reply (no worker, deadline, worker died).
    case broker(BrokerError)
    /// The worker answered with an error.
    case worker(WireError)
    /// The worker's reply could not be read.
    case badReply(String)

    /// The metrics label of this failure.
    var outcome: String {
        switch self {
        case .broker(let error): error.code
        case .worker: "worker_error"
        case .badReply: "bad_reply"
        }
    }

    var apiError: APIError {
        switch self {
        case .broker(let error): APIError(error)
        case .worker(let error): APIError(error)
        case .badReply(let detail): APIError(.badGateway, "bad_worker_reply", detail)
        }
    }
}

/// Typed request/reply with workers over the broker: encodes the versioned envelope, decodes
/// the reply, keeps the failure kinds apart.
struct WorkerClient: Sendable {
    let broker: Broker

    /// `priority`: ahead of the ordinary requests waiting for the service (operators' actions
    /// and status reads must not wait behind a backlog of orders).
    func call<Payload: Codable & Sendable, Result: Codable & Sendable>(
        _ service: String,
        _ operation: WireOperation<Payload, Result>,
        payload: Payload,
        requestID: String,
        timeoutMilliseconds: Int? = nil,
        priority: Bool = false
    ) async throws(WorkerCallError) -> Result {
        let body: [UInt8]
        do {
            body = try WireCodec.encode(operation.request(payload, requestID: requestID))
        } catch {
            throw .badReply("request could not be encoded: \(error)")
        }
        let outcome: Swift.Result<[UInt8], BrokerError>
        do {
            outcome = .success(try await broker.request(service: service, body: body, timeoutMilliseconds: timeoutMilliseconds, priority: priority))
        } catch {
            outcome = .failure(error)
        }
        do {
            let result = try Self.decode(Result.self, from: outcome, service: service)
            GatewayCounters.call(service, outcome: "ok")
            return result
        } catch {
            GatewayCounters.call(service, outcome: error.outcome)
            throw error
        }
    }

    /// Reads a worker's reply envelope, keeping broker, worker and decoding failures apart.
    static func decode<Result: Codable & Sendable>(
        _ type: Result.Type,
        from outcome: Swift.Result<[UInt8], BrokerError>,
        service: String
    ) throws(WorkerCallError) -> Result {
        let replyBytes: [UInt8]
        switch outcome {
        case .success(let bytes): replyBytes = bytes
        case .failure(let error): throw .broker(error)
        }
        let reply: WireReply<Result>
        do {
            reply = try WireCodec.decode(WireReply<Result>.self, from: replyBytes)
        } catch {
            throw .badReply("\(service) replied with an unreadable body: \(error)")
        }
        if let error = reply.error { throw .worker(error) }
        guard let result = reply.result else { throw .badReply("\(service) replied with neither result nor error") }
        return result
    }
}
