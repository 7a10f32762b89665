import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceSupport
import Testing

@testable import Gateway

/// The gateway's router held to its OpenAPI document, in process (Hummingbird's router testing,
/// no socket for HTTP): the document loads from the resource bundle, every route is documented
/// and every documented path routed (`buildGateway` refuses to start otherwise), and a known path
/// asked with another method is 405 with `Allow`.
@Suite("router and OpenAPI document")
struct RouterContractTests {
    static func gateway() throws -> some ApplicationProtocol {
        let id = UUID().uuidString.prefix(8)
        let reader = EnvironmentReader(["BROKER_BIND": "inproc://router-\(id)", "CONTROL_BIND": "inproc://control-\(id)", "HTTP_PORT": "0"])
        return try buildGateway(configuration: try GatewayConfiguration(reader: reader), logger: Logger(label: "test"))
    }

    @Test("every documented path is routed with its methods, and every route documented")
    func documentMatchesRouter() async throws {
        let document = try OpenAPIDocument.load()
        #expect(document.operations.count > 20)
        let app = try Self.gateway()
        try await app.test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == document.json)
            }
        }
    }

    @Test("a known path asked with a method it does not serve answers 405 with Allow; an unknown path 404")
    func methodNotAllowed() async throws {
        let app = try Self.gateway()
        try await app.test(.router) { client in
            for (method, path, allow) in [
                (HTTPRequest.Method.put, "/health", "GET, HEAD"), (.delete, "/api/trade/execute", "POST"), (.post, "/api/orders/abc", "GET, HEAD"),
                (.patch, "/openapi.json", "GET, HEAD"),
            ] {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(body?["error"] as? String == "method_not_allowed")
                }
            }
            try await client.execute(uri: "/api/nowhere", method: .put) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("the check that holds the two together finds a route without documentation and a documented path without a route")
    func mismatchesAreNamed() {
        let routed = RouteTable(routes: [("/health", "GET"), ("/api/orders/{clientOrderId}", "GET"), ("/api/new", "POST")])
        let documented: [String: Set<String>] = ["/health": ["GET"], "/api/orders/{id}": ["GET", "DELETE"]]
        #expect(
            RouteTable.mismatches(routed: routed, documented: documented) == [
                "POST /api/new is routed but not documented", "DELETE /api/orders/{} is documented but not routed",
            ]
        )
        let agreeing: [String: Set<String>] = ["/health": ["GET"], "/api/orders/{x}": ["GET"], "/api/new": ["POST"]]
        #expect(RouteTable.mismatches(routed: routed, documented: agreeing).isEmpty)
        #expect(routed.methods(for: "/api/orders/o-1") == ["GET"])
        #expect(routed.methods(for: "/api/orders") == nil)
    }

    @Test("a malformed document is a start-up refusal naming what is wrong")
    func malformedDocument() {
        #expect(throws: OpenAPIDocumentError.self) { try OpenAPIDocument(data: Data("{\"paths\": [1]}".utf8)) }
        #expect(throws: OpenAPIDocumentError.self) { try OpenAPIDocument(data: Data("{\"openapi\"".utf8)) }
    }

    @Test("what the document forbids is refused before any worker is asked: a repeated query parameter, an X-Operator over 80, a price under 1e-8")
    func schemaViolationsRefused() async throws {
        let app = try Self.gateway()
        try await app.test(.router) { client in
            for uri in ["/api/orders?limit=5&limit=500", "/api/orders?status=pending&status=filled", "/api/equity?since=1&since=2"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(String(buffer: response.body).contains("repeated_parameter"), "\(uri)")
                }
            }
            try await client.execute(uri: "/api/orders?limit=null", method: .get) { response in
                #expect(response.status == .unprocessableContent)
            }
            let longName = String(repeating: "o", count: 81)
            for path in ["/api/halt", "/api/resume", "/api/risk/reset"] {
                try await client.execute(
                    uri: path,
                    method: .post,
                    headers: [.contentType: "application/json", HTTPField.Name("X-Operator")!: longName],
                    body: ByteBuffer(string: #"{"reason": "test"}"#)
                ) { response in
                    #expect(response.status == .unprocessableContent, "\(path)")
                    #expect(String(buffer: response.body).contains("invalid_operator"), "\(path)")
                }
            }
            let tiny = #"{"symbol": "BTCUSDT", "candles": [{"openTime": 1, "open": 1e-9, "high": 1e-9, "low": 1e-9, "close": 1e-9, "volume": 0}]}"#
            try await client.execute(
                uri: "/api/market/candles",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: tiny)
            ) {
                response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("invalid_candle"))
            }
        }
    }
}
