import Foundation
import Synchronization

/// An append-only log file that rotates by size: once a write would take `name.log` past
/// `maxBytes`, it becomes `name.log.1` (`.1` becomes `.2`, and so on, keeping `keptFiles` old
/// files; the oldest is deleted). Writes are whole lines, so no line is split across files.
public final class RotatingLogFile: Sendable {
    private struct State {
        var handle: FileHandle?
        var size: UInt64
    }

    private let path: String
    private let maxBytes: UInt64
    private let keptFiles: Int
    private let state: Mutex<State>

    /// Opens (or creates) the file at `url` for appending.
    public init(url: URL, maxBytes: UInt64, keptFiles: Int) throws {
        path = url.path
        self.maxBytes = maxBytes
        self.keptFiles = keptFiles
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: url)
        let size = try handle.seekToEnd()
        state = Mutex(State(handle: handle, size: size))
    }

    /// Appends `lines` (each already ending in a newline), rotating first when they would not fit.
    public func append(_ lines: Data) {
        guard !lines.isEmpty else { return }
        state.withLock { state in
            if state.size > 0, state.size + UInt64(lines.count) > maxBytes { rotate(&state) }
            state.handle?.write(lines)
            state.size += UInt64(lines.count)
        }
    }

    public func close() {
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
        }
    }

    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        let manager = FileManager.default
        try? manager.removeItem(atPath: "\(path).\(keptFiles)")
        if keptFiles > 0 {
            for index in stride(from: keptFiles - 1, through: 1, by: -1) {
                try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
            try? manager.moveItem(atPath: path, toPath: "\(path).1")
        } else {
            try? manager.removeItem(atPath: path)
        }
        _ = manager.createFile(atPath: path, contents: nil)
        state.handle = FileHandle(forWritingAtPath: path)
        state.size = 0
    }
}
