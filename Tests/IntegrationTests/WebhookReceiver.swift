import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A local HTTP receiver for the notifier's webhooks: records every JSON body posted to
/// `/hook/<name>`, answers 500 to the first `failFirst` posts of each name, and never answers
/// `/hang` (to show that a dead receiver blocks nothing).
final class WebhookReceiver: Sendable {
    let port = freePort()
    let failFirst: Int
    private let posts = Mutex<[(name: String, json: Data)]>([])
    private let attempts = Mutex<[String: Int]>([:])
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(failFirst: Int = 0) {
        self.failFirst = failFirst
    }

    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/hook/\(name)" }
    var hangURL: String { "http://127.0.0.1:\(port)/hang" }

    func start() async throws {
        let router = Router()
        router.post("/hook/:name") { request, context in
            let name = context.parameters.get("name") ?? ""
            let body = try await request.body.collect(upTo: 1 << 20)
            let attempt = self.attempts.withLock { counts -> Int in
                counts[name, default: 0] += 1
                return counts[name] ?? 0
            }
            if attempt <= self.failFirst { return Response(status: .internalServerError) }
            self.posts.withLock { $0.append((name, Data(buffer: body))) }
            return Response(status: .ok)
        }
        router.post("/hang") { _, _ in
            try await Task.sleep(for: .seconds(600))
            return Response(status: .ok)
        }
        router.get("/ping") { _, _ in Response(status: .ok) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/ping")!)) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() { task.withLock { $0?.cancel() } }

    /// The JSON bodies received on `name`, oldest first.
    func received(_ name: String) -> [[String: Any]] {
        posts.withLock { $0.filter { $0.name == name }.map(\.json) }.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// How many posts `name` got, failed ones included.
    func attemptCount(_ name: String) -> Int { attempts.withLock { $0[name] ?? 0 } }
}
