import Foundation
import ServiceSupport
import Synchronization
import ZeroMQ

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
        writeOut(LogLines.prefixed(Array(line) + [0x0A], with: prefix))
    }

    private func writeOut(_ bytes: [UInt8]) {
        output.withLock { _ in FileHandle.standardOutput.write(Data(bytes)) }
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
            url: logDirectory.appendingPathComponent("\(spec.name).log"),
            maxBytes: logMaxBytes,
            keptFiles: logFiles
        )
        let output = pipe.fileHandleForReading
        SocketThread.start(name: "log \(spec.name)") { [self] in
            copyLines(from: output, to: logFile, prefix: spec.name)
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

    /// Copies a service's output, as whole lines, to its log file and (prefixed) to stdout until
    /// the service closes it. Reads block, so nothing runs while the service is quiet; after a
    /// read it waits `batchMilliseconds` so that the lines written meanwhile are read together.
    /// A service that logs every order thus wakes this thread at most a hundred times a second,
    /// not once per line (the pipe holds 64 KiB meanwhile; past that the service waits).
    private func copyLines(from output: FileHandle, to logFile: RotatingLogFile, prefix: String) {
        let descriptor = output.fileDescriptor
        var lines = LogLines()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            let complete = lines.complete(buffer[..<count])
            if !complete.isEmpty {
                // Whole lines only, so rotation never splits one across two files.
                logFile.append(Data(complete))
                writeOut(LogLines.prefixed(complete, with: prefix))
            }
            usleep(Self.batchMilliseconds * 1_000)
        }
        // A last line without its newline is kept, not lost.
        let rest = lines.finish()
        if !rest.isEmpty { logFile.append(Data(rest)) }
        logFile.close()
        try? output.close()
    }

    static let batchMilliseconds: UInt32 = 10

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
