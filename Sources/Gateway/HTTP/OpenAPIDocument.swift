import Foundation
import HTTPTypes

/// The OpenAPI 3.1 document of the gateway's whole HTTP API (`Resources/openapi.json`, shipped
/// beside the executable in the target's resource bundle), loaded once at start and served at
/// `GET /openapi.json`. The gateway refuses to start when the document and its router disagree
/// (`RouteTable.mismatches`), so a route added without its documentation fails every test that
/// starts a gateway; `scripts/api-contract-test` holds the running API to it with schemathesis.
struct OpenAPIDocument: Sendable {
    /// The document's text, served as it is.
    let json: String
    /// The documented paths (`/api/orders/{clientOrderId}`) and the methods of each, upper case.
    let operations: [String: Set<String>]

    /// The resource bundle SwiftPM builds for the Gateway target, beside the executable.
    static let bundleName = "trading-pipeline_Gateway.resources"

    /// Where the document is looked for: the bundle beside the running executable (a release
    /// build, the container image), then beside `Bundle.main` (the same on Linux).
    static func candidateFiles() -> [URL] {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        return [executable, Bundle.main.bundleURL].map { $0.appendingPathComponent(bundleName).appendingPathComponent("openapi.json") }
    }

    /// Reads and parses the document; a missing or malformed one is a start-up refusal naming
    /// where it was looked for.
    static func load() throws -> OpenAPIDocument {
        let candidates = candidateFiles()
        guard let data = candidates.lazy.compactMap({ try? Data(contentsOf: $0) }).first else {
            throw OpenAPIDocumentError(detail: "not found at \(candidates.map(\.path).joined(separator: " or "))")
        }
        return try OpenAPIDocument(data: data)
    }

    init(data: Data) throws {
        guard let text = String(data: data, encoding: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let paths = root["paths"] as? [String: Any]
        else { throw OpenAPIDocumentError(detail: "not a JSON object with paths") }
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        var operations: [String: Set<String>] = [:]
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { throw OpenAPIDocumentError(detail: "path \(path) is not an object") }
            operations[path] = Set(item.keys.filter(methods.contains).map { $0.uppercased() })
        }
        self.json = text
        self.operations = operations
    }
}

/// The OpenAPI document could not be loaded.
struct OpenAPIDocumentError: Error, CustomStringConvertible {
    var detail: String
    var description: String { "the OpenAPI document (openapi.json): \(detail)" }
}

/// The router's paths and their methods, for what Hummingbird does not answer itself: a known
/// path asked with a method it does not serve is 405 with `Allow`, not 404.
struct RouteTable: Sendable {
    /// Path templates as segments (`{name}` for a parameter) with their methods.
    private let routes: [(segments: [String], methods: Set<String>)]

    /// `routes`: (path template, method) pairs, the template with `{name}` or `:name` parameters.
    init(routes: [(path: String, method: String)]) {
        var byPath: [[String]: Set<String>] = [:]
        for route in routes { byPath[Self.segments(route.path), default: []].insert(route.method.uppercased()) }
        self.routes = byPath.map { ($0.key, $0.value) }
    }

    /// The methods served on `path`, or nil for a path no route has.
    func methods(for path: String) -> Set<String>? {
        let asked = Self.segments(path)
        var found: Set<String>?
        for route in routes where route.segments.count == asked.count {
            let matches = zip(route.segments, asked).allSatisfy { template, segment in template == "{}" || template == segment }
            if matches { found = (found ?? []).union(route.methods) }
        }
        return found
    }

    /// The `Allow` header's value for these methods (HEAD with GET, as Hummingbird answers it).
    static func allowHeader(_ methods: Set<String>) -> String {
        var all = methods
        if all.contains("GET") { all.insert("HEAD") }
        return all.sorted().joined(separator: ", ")
    }

    /// Differences between the router and the document, each in words; empty when they agree.
    static func mismatches(routed: RouteTable, documented: [String: Set<String>]) -> [String] {
        let documentedTable = RouteTable(routes: documented.flatMap { path, methods in methods.map { (path, $0) } })
        func pairs(_ table: RouteTable) -> Set<String> {
            Set(table.routes.flatMap { route in route.methods.map { "\($0) /\(route.segments.joined(separator: "/"))" } })
        }
        let routedPairs = pairs(routed)
        let documentedPairs = pairs(documentedTable)
        return routedPairs.subtracting(documentedPairs).sorted().map { "\($0) is routed but not documented" }
            + documentedPairs.subtracting(routedPairs).sorted().map { "\($0) is documented but not routed" }
    }

    /// `/api/orders/{id}` and `/api/orders/:id` both give `["api", "orders", "{}"]`.
    private static func segments(_ path: String) -> [String] {
        path.split(separator: "/").map { segment in
            segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}")) ? "{}" : String(segment)
        }
    }
}
