import Foundation
import Logging

/// Reports a start-up failure as one ERROR log line and exits non-zero.
public enum StartupFailure {
    public static func report(service: String, error: any Error) -> Never {
        Logger(label: service).error("refusing to start", metadata: ["error": "\(error)"])
        exit(2)
    }
}
