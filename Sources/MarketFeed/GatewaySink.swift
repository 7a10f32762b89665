import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TradingWire

/// Hands candles to the gateway through `POST /api/market/candles` (with the bearer token), so
/// the gateway's validation stays the single gate. A 409 `stale_candle` means the gateway already
/// holds those candles (another feed was first, or a restart re-sent them): the newest held is
/// asked (`GET /api/market/candles?limit=1`) and only newer candles are sent again.
public struct GatewaySink: Sendable {
    /// Why candles did not reach the gateway.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let client: HTTPClient
    let baseURL: String
    let token: String?
    let feedName: String
    let logger: Logger

    public init(client: HTTPClient, baseURL: String, token: String?, feedName: String, logger: Logger) {
        self.client = client
        self.baseURL = baseURL
        self.token = token
        self.feedName = feedName
        self.logger = logger
    }

    private struct Body: Encodable {
        var symbol: String
        var candles: [Candle]
    }

    private struct Held: Decodable {
        var candles: [Candle]
    }

    private struct ErrorBody: Decodable {
        var error: String
    }

    /// Posts `candles` (oldest first, at most 5 000). Returns the ones the gateway took (none when
    /// it held them all); throws when the gateway cannot be reached or refuses them otherwise.
    @discardableResult
    public func post(symbol: String, _ candles: [Candle]) async throws -> [Candle] {
        var batch = candles
        for _ in 0..<2 {
            guard !batch.isEmpty else { return [] }
            let (status, body) = try await send(.POST, "/api/market/candles", body: try JSONEncoder().encode(Body(symbol: symbol, candles: batch)))
            if status == 200 { return batch }
            let code = (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error ?? ""
            guard status == 409, code == "stale_candle" else {
                throw Failure(description: "the gateway answered \(status) \(code): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            let newest = try await newestHeld(symbol: symbol)
            batch = batch.filter { $0.openTime > (newest ?? Int64.min) }
            if !batch.isEmpty { logger.debug("gateway already held part of a batch", metadata: ["symbol": "\(symbol)"]) }
        }
        throw Failure(description: "\(symbol): the gateway kept refusing the batch as stale")
    }

    /// Sends the feed's own state (`POST /api/market/feeds`).
    public func report(_ body: some Encodable) async throws {
        let (status, answer) = try await send(.POST, "/api/market/feeds", body: try JSONEncoder().encode(body))
        guard status == 200 else {
            throw Failure(description: "POST /api/market/feeds answered \(status): \(String(decoding: answer.prefix(300), as: UTF8.self))")
        }
    }

    /// The open time of the newest candle the gateway holds for `symbol`, nil for none.
    public func newestHeld(symbol: String) async throws -> Int64? {
        let (status, body) = try await send(.GET, "/api/market/candles?symbol=\(symbol)&limit=1", body: nil)
        guard status == 200 else { throw Failure(description: "GET /api/market/candles answered \(status)") }
        return try JSONDecoder().decode(Held.self, from: body).candles.last?.openTime
    }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Market-Feed", value: feedName)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let buffer = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), Data(buffer.readableBytesView))
    }
}
