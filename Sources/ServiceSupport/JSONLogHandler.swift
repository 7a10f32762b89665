import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line to stdout:
/// `{"ts": "...", "level": "INFO", "service": "gateway", "msg": "...", "request.id": "...", ...}`.
///
/// Levels are upper case: DEBUG (trace, debug), INFO (info, notice), WARN (warning),
/// ERROR (error, critical). ERROR is for real faults only, so counting it measures the error rate.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let service: String

    public init(service: String, level: Logger.Level) {
        self.service = service
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Self.timestamp(),
            "level": Self.levelName(event.level),
            "service": service,
            "msg": event.message.description,
        ]
        for (key, value) in metadata { object[key] = Self.json(value) }
        if let extra = event.metadata {
            for (key, value) in extra { object[key] = Self.json(value) }
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        line.append(0x0A)
        Self.output.withLock { _ in
            line.withUnsafeBytes { buffer in
                guard var base = buffer.baseAddress else { return }
                var remaining = buffer.count
                while remaining > 0 {
                    let written = Foundation.write(STDOUT_FILENO, base, remaining)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    remaining -= written
                    base += written
                }
            }
        }
    }

    /// Upper-case level names.
    public static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error, .critical: "ERROR"
        }
    }

    private static let output = Mutex(())

    private static func timestamp() -> String {
        Date().formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)
                .timeZone(separator: .omitted))
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(json)
        case .dictionary(let dictionary): dictionary.mapValues(json)
        }
    }

    /// Bootstraps swift-log for a process. Call once, from the executable only.
    public static func bootstrap(service: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let level = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { _ in JSONLogHandler(service: service, level: level) }
    }
}
