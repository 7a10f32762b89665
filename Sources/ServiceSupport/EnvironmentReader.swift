import Foundation

/// Reads typed configuration from environment variables. A value that is set but does not parse
/// is an error (the process refuses to start), never silently replaced by the default.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public func string(_ key: String, default fallback: String) -> String {
        guard let value = values[key], !value.isEmpty else { return fallback }
        return value
    }

    public func optionalString(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    /// A secret from `KEY`, or from the file named by `KEY_FILE` (Docker and Kubernetes secrets),
    /// surrounding whitespace trimmed. Both set, or an unreadable file, is an error.
    public func secret(_ key: String) throws -> String? {
        let direct = optionalString(key)
        guard let path = optionalString(key + "_FILE") else { return direct }
        guard direct == nil else { throw ConfigurationError(key: key, value: "(set)", expected: "either \(key) or \(key)_FILE, not both") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: key + "_FILE", value: path, expected: "a readable file")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let text = optionalString(key) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(key: key, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func double(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = optionalString(key) else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ConfigurationError(key: key, value: text, expected: "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func decimal(_ key: String, default fallback: Decimal, in range: ClosedRange<Decimal>) throws -> Decimal {
        guard let text = optionalString(key) else { return fallback }
        guard let value = Decimal(string: text), !value.isNaN, range.contains(value) else {
            throw ConfigurationError(key: key, value: text, expected: "a decimal in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = optionalString(key)?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(key: key, value: text, expected: "true or false")
        }
    }
}

/// A configuration value that does not parse.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let key: String
    public let value: String
    public let expected: String

    public init(key: String, value: String, expected: String) {
        self.key = key
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(key)=\"\(value)\" is invalid: expected \(expected)" }
}

/// Milliseconds since the Unix epoch.
public func unixMilliseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded())
}

/// Milliseconds from a monotonic clock, for timers.
public func monotonicMilliseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec * 1000 + time.tv_nsec / 1_000_000
}
