import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The gateway and model service, as the runbook reaches them.
struct StackClient: Sendable {
    var backend: String
    var modelService: String
    var token: String?

    struct Answer: Sendable {
        var status: Int
        var data: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func get(_ path: String, model: Bool = false) async throws -> Answer {
        try await send("GET", (model ? modelService : backend) + path, body: nil)
    }

    func post(_ path: String, _ body: [String: Any]? = nil) async throws -> Answer {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await send("POST", backend + path, body: data)
    }

    func delete(_ path: String) async throws -> Answer {
        try await send("DELETE", backend + path, body: nil)
    }

    private func send(_ method: String, _ address: String, body: Data?) async throws -> Answer {
        guard let url = URL(string: address) else { throw Failure(description: "bad URL \(address)") }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, data: data)
        } catch {
            throw Failure(description: "\(method) \(address): \(error.localizedDescription)")
        }
    }
}

/// Pass/fail lines, counted; the command exits non-zero when any check failed. With `json`,
/// nothing is printed until `finish()`, which prints `{"ok", "checks": [{name, ok, detail}], "notes"}`.
final class Report: @unchecked Sendable {
    private(set) var failures = 0
    let json: Bool
    private var checks: [[String: Any]] = []
    private var notes: [String] = []

    init(json: Bool = false) {
        self.json = json
    }

    func pass(_ what: String, _ detail: String = "") {
        checks.append(["name": what, "ok": true, "detail": detail])
        if !json { print("PASS  \(what)\(detail.isEmpty ? "" : ": \(detail)")") }
    }

    func fail(_ what: String, _ detail: String) {
        failures += 1
        checks.append(["name": what, "ok": false, "detail": detail])
        if !json { print("FAIL  \(what): \(detail)") }
    }

    func check(_ what: String, _ condition: Bool, _ detail: String) {
        condition ? pass(what, detail) : fail(what, detail)
    }

    func note(_ text: String) {
        notes.append(text)
        if !json { print("      \(text)") }
    }

    /// Prints the JSON summary in `json` mode.
    func finish() {
        if json { print(compact(["ok": failures == 0, "checks": checks, "notes": notes] as [String: Any])) }
    }
}

/// A JSON value as compact text, for report lines.
func compact(_ value: Any?) -> String {
    guard let value else { return "null" }
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
        return String(decoding: data, as: UTF8.self)
    }
    return "\(value)"
}
