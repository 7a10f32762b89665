import Foundation
import Logging
import Synchronization
import TradingWire

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
        var fields: [String: Logger.MetadataValue] = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let line = Self.line(level: event.level, service: service, message: event.message.description, fields: fields)
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

    /// One log line, newline included: `ts`, `level`, `service` and `msg` (these four cannot be
    /// overridden by metadata), then the metadata, keys in order.
    public static func line(
        level: Logger.Level,
        service: String,
        message: String,
        fields: [String: Logger.MetadataValue],
        at date: Date = Date()
    ) -> [UInt8] {
        var fields = fields
        fields["ts"] = .string(timestamp(date))
        fields["level"] = .string(levelName(level))
        fields["service"] = .string(service)
        fields["msg"] = .string(message)
        var line: [UInt8] = []
        line.reserveCapacity(256)
        write(.dictionary(fields), to: &line)
        line.append(0x0A)
        return line
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

    /// UTC, to the millisecond: `2026-11-27T06:43:16.204Z`.
    static func timestamp(_ date: Date = Date()) -> String {
        // Truncated to the millisecond, except where binary floating point lands within a microsecond below one.
        let exact = date.timeIntervalSince1970 * 1_000
        let milliseconds = Int64(abs(exact - exact.rounded()) < 1e-3 ? exact.rounded() : exact.rounded(.down))
        return ISO8601Millis.format(milliseconds)
    }

    /// One metadata value as JSON: objects with their keys in order, strings escaped as JSON
    /// requires (quotes, backslashes, control characters), slashes and non-ASCII as they are.
    static func write(_ value: Logger.MetadataValue, to line: inout [UInt8]) {
        switch value {
        case .string(let string): writeString(string, to: &line)
        case .stringConvertible(let convertible): writeString(convertible.description, to: &line)
        case .array(let array):
            line.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                write(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            line.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                writeString(key, to: &line)
                line.append(UInt8(ascii: ":"))
                if let member = dictionary[key] { write(member, to: &line) }
            }
            line.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ string: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                line.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }

    /// Bootstraps swift-log for a process. Call once, from the executable only.
    public static func bootstrap(service: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let level = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { _ in JSONLogHandler(service: service, level: level) }
    }
}
