import Foundation
import ServiceSupport
import Synchronization

/// One process the supervisor keeps running.
struct ServiceSpec: Sendable {
    var name: String
    var executable: String
    var environment: [String: String]
}

/// Starts processes, prefixes their output onto stdout and copies it to a log file each,
/// restarts any that die (with backoff), and stops them all on request.
final class Supervisor: Sendable {
    private struct Running {
        var processes: [String: Process] = [:]
        var restarts: [String: Int] = [:]
        var stopping = false
    }

    private let state = Mutex(Running())
    private let output = Mutex(())
    private let logDirectory: URL
    private let logMaxBytes: UInt64
    private let logFiles: Int

    /// Each service logs to `logDirectory/<name>.log`, rotated past `logMaxBytes`, keeping
    /// `logFiles` old files.
    init(logDirectory: URL, logMaxBytes: UInt64, logFiles: Int) throws {
        self.logDirectory = logDirectory
        self.logMaxBytes = logMaxBytes
        self.logFiles = logFiles
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
    }

    /// Prints a line of the supervisor's own, as JSON like every other process.
    func say(_ message: String, level: String = "INFO") {
        let object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()), "level": level, "service": "trading-stack", "msg": message,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        write(prefix: "trading-stack", line: data)
    }

    private func write(prefix: String, line: Data) {
        var out = Data("[\(prefix)] ".utf8)
        out.append(line)
        out.append(0x0A)
        output.withLock { _ in FileHandle.standardOutput.write(out) }
    }

    func start(_ spec: ServiceSpec) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spec.executable)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { _, new in new }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let logFile = try RotatingLogFile(
            url: logDirectory.appendingPathComponent("\(spec.name).log"), maxBytes: logMaxBytes, keptFiles: logFiles)
        let pending = Mutex(Data())
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                // A last line without its newline is kept, not lost.
                let rest = pending.withLock { buffer in defer { buffer.removeAll() }; return buffer }
                if !rest.isEmpty { logFile.append(rest + Data([0x0A])) }
                logFile.close()
                return
            }
            let lines: [Data] = pending.withLock { buffer in
                buffer.append(chunk)
                var lines: [Data] = []
                while let newline = buffer.firstIndex(of: 0x0A) {
                    lines.append(buffer[buffer.startIndex..<newline])
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
                return lines
            }
            // Whole lines only, so rotation never splits one across two files.
            logFile.append(lines.reduce(into: Data()) { $0.append($1); $0.append(0x0A) })
            for line in lines { write(prefix: spec.name, line: line) }
        }
        process.terminationHandler = { [self] finished in
            let stopping = state.withLock { $0.stopping }
            guard !stopping else { return }
            let restarts = state.withLock { state -> Int in
                state.restarts[spec.name, default: 0] += 1
                return state.restarts[spec.name, default: 0]
            }
            let delay = min(10.0, 0.5 * pow(2.0, Double(min(restarts - 1, 5))))
            say("\(spec.name) exited with status \(finished.terminationStatus); restarting in \(delay) s", level: "WARN")
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [self] in
                guard !state.withLock({ $0.stopping }) else { return }
                do {
                    try start(spec)
                } catch {
                    say("\(spec.name) could not be restarted: \(error)", level: "ERROR")
                }
            }
        }
        try process.run()
        state.withLock { $0.processes[spec.name] = process }
        say("started \(spec.name) (pid \(process.processIdentifier))")
    }

    /// SIGTERM to every process, SIGKILL to any still alive after `grace` seconds.
    func stopAll(grace: TimeInterval = 5) {
        let processes = state.withLock { state -> [String: Process] in
            state.stopping = true
            return state.processes
        }
        for (_, process) in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline && processes.values.contains(where: \.isRunning) { usleep(50_000) }
        for (name, process) in processes where process.isRunning {
            say("\(name) did not stop in \(grace) s: killing it", level: "WARN")
            kill(process.processIdentifier, SIGKILL)
        }
        say("all services stopped")
    }
}
