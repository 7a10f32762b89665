import Foundation
import Logging
import Metrics

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where and how notifications go.
///
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `NOTIFY_WEBHOOK_URL` | comma list | unset (off) | webhook URLs; an entry `slack=URL`, `discord=URL`, `telegram=URL` or `json=URL` picks its shape |
/// | `NOTIFY_FORMAT` | `json`, `slack`, `discord`, `telegram` | `json` | shape of entries without a prefix |
/// | `NOTIFY_TELEGRAM_CHAT_ID` | string | unset | `chat_id` of Telegram posts (the bot token is in the URL) |
/// | `NOTIFY_MAX_ATTEMPTS` | int | 5 | tries per notification and URL |
/// | `NOTIFY_BACKOFF_MS` | int | 500 | first retry delay, doubled on each retry |
/// | `NOTIFY_TIMEOUT_MS` | int | 5000 | one post's deadline |
public struct NotifierConfiguration: Sendable {
    /// The body shape a receiver expects.
    public enum Format: String, Sendable, CaseIterable {
        case json, slack, discord, telegram
    }

    /// One receiver.
    public struct Target: Sendable {
        public var url: URL
        public var format: Format
    }

    public var targets: [Target]
    public var telegramChatID: String?
    public var maxAttempts: Int
    public var backoffMilliseconds: Int
    public var timeoutMilliseconds: Int

    public init(reader: EnvironmentReader) throws {
        let defaultText = reader.string("NOTIFY_FORMAT", default: "json").lowercased()
        guard let defaultFormat = Format(rawValue: defaultText) else {
            throw ConfigurationError(key: "NOTIFY_FORMAT", value: defaultText, expected: "json, slack, discord or telegram")
        }
        var targets: [Target] = []
        for entry in (reader.optionalString("NOTIFY_WEBHOOK_URL") ?? "").split(separator: ",") {
            var text = entry.trimmingCharacters(in: .whitespaces)
            var format = defaultFormat
            if let equals = text.firstIndex(of: "="), let prefixed = Format(rawValue: String(text[..<equals]).lowercased()) {
                format = prefixed
                text = String(text[text.index(after: equals)...])
            }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigurationError(
                    key: "NOTIFY_WEBHOOK_URL",
                    value: text,
                    expected: "comma-separated http(s) URLs, each optionally prefixed with json=, slack=, discord= or telegram="
                )
            }
            targets.append(Target(url: url, format: format))
        }
        self.targets = targets
        telegramChatID = reader.optionalString("NOTIFY_TELEGRAM_CHAT_ID")
        maxAttempts = try reader.int("NOTIFY_MAX_ATTEMPTS", default: 5, in: 1...20)
        backoffMilliseconds = try reader.int("NOTIFY_BACKOFF_MS", default: 500, in: 1...60_000)
        timeoutMilliseconds = try reader.int("NOTIFY_TIMEOUT_MS", default: 5_000, in: 100...60_000)
    }
}

/// One event for the operators.
public struct Notification: Codable, Sendable, Equatable {
    /// `halt`, `resume`, `trading_state`, `protection_lock`, `lock`, `reset`, `live_fill`,
    /// `no_live_worker`, `worker_back`, `model_reload_failed`.
    public var event: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// One line for a chat message.
    public var text: String
    public var details: [String: String]
    /// The process that noticed it.
    public var source: String
    /// Unix milliseconds.
    public var ts: Int64

    public init(event: String, severity: String, text: String, details: [String: String] = [:], source: String, ts: Int64 = unixMilliseconds()) {
        self.event = event
        self.severity = severity
        self.text = text
        self.details = details
        self.source = source
        self.ts = ts
    }
}

/// Posts notifications to webhooks in the background.
///
/// `notify` only appends to a bounded buffer (the newest 1000 are kept) and returns: it never
/// waits for the network, so it may be called from any path. `run()` delivers them in order to
/// each URL (every URL with its own queue, so a dead receiver delays only its own), retrying
/// with exponential backoff; a notification that still fails is logged and
/// counted (`notifications_total{outcome="failed"}`), never retried forever.
public final class Notifier: Sendable {
    public let configuration: NotifierConfiguration
    private let source: String
    private let logger: Logger
    /// One queue per URL, so a slow or dead receiver only delays its own notifications.
    private let queues: [(stream: AsyncStream<Notification>, continuation: AsyncStream<Notification>.Continuation)]
    private let session: URLSession

    public init(configuration: NotifierConfiguration, source: String, logger: Logger) {
        self.configuration = configuration
        self.source = source
        self.logger = logger
        queues = configuration.targets.map { _ in AsyncStream.makeStream(of: Notification.self, bufferingPolicy: .bufferingNewest(1_000)) }
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = Double(configuration.timeoutMilliseconds) / 1000
        session = URLSession(configuration: sessionConfiguration)
    }

    /// Whether any webhook is configured.
    public var isEnabled: Bool { !configuration.targets.isEmpty }

    /// Queues an event; returns at once.
    public func notify(event: String, severity: String, text: String, details: [String: String] = [:]) {
        guard isEnabled else { return }
        let notification = Notification(event: event, severity: severity, text: text, details: details, source: source)
        for queue in queues {
            if case .dropped = queue.continuation.yield(notification) {
                Counter(label: "notifications_total", dimensions: [("event", event), ("outcome", "dropped")]).increment()
            }
        }
    }

    /// Delivers queued notifications until the task is cancelled or `finish()` is called.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for (target, queue) in zip(configuration.targets, queues) {
                group.addTask {
                    for await notification in queue.stream {
                        let delivered = await self.deliver(notification, to: target)
                        Counter(
                            label: "notifications_total",
                            dimensions: [("event", notification.event), ("outcome", delivered ? "sent" : "failed")]
                        )
                        .increment()
                        if Task.isCancelled { break }
                    }
                }
            }
        }
    }

    /// Ends `run()` once the queue is drained.
    public func finish() {
        for queue in queues { queue.continuation.finish() }
    }

    private func deliver(_ notification: Notification, to target: NotifierConfiguration.Target) async -> Bool {
        var request = URLRequest(url: target.url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body(notification, format: target.format)
        var delay = configuration.backoffMilliseconds
        for attempt in 1...configuration.maxAttempts {
            var failure: String
            do {
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { return true }
                failure = "HTTP \(status)"
            } catch {
                failure = "\(error)"
            }
            guard attempt < configuration.maxAttempts, !Task.isCancelled else {
                logger.warning(
                    "notification not delivered",
                    metadata: ["event": "\(notification.event)", "host": "\(target.url.host ?? "")", "attempts": "\(attempt)", "error": "\(failure)"]
                )
                return false
            }
            try? await Task.sleep(for: .milliseconds(delay))
            delay = min(delay * 2, 60_000)
        }
        return false
    }

    /// The body in the receiver's shape.
    func body(_ notification: Notification, format: NotifierConfiguration.Format) -> Data {
        let line = "[\(notification.severity.uppercased())] \(notification.text)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch format {
        case .json: return (try? encoder.encode(notification)) ?? Data()
        case .slack: return (try? encoder.encode(["text": line])) ?? Data()
        case .discord: return (try? encoder.encode(["content": line])) ?? Data()
        case .telegram: return (try? encoder.encode(["chat_id": configuration.telegramChatID ?? "", "text": line])) ?? Data()
        }
    }
}
