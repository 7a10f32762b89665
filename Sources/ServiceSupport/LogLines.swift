import Foundation

/// Cuts a child process's output into whole lines as it arrives in chunks of any size, and writes
/// them prefixed with the child's name: what the launcher does with every service's output.
///
/// A chunk is handled in one pass: the complete lines it ends (with any partial line left from
/// before) come out together, ready for one write to the log file and one to the terminal,
/// instead of a write per line.
public struct LogLines: Sendable {
    private var partial: [UInt8] = []

    public init() {}

    /// Takes `chunk` and returns the lines it completes, each ending in a newline (empty when
    /// the chunk ends no line). The rest waits for the next chunk.
    public mutating func complete(_ chunk: some Collection<UInt8>) -> [UInt8] {
        partial.append(contentsOf: chunk)
        guard let last = partial.lastIndex(of: 0x0A) else { return [] }
        let lines = Array(partial[...last])
        partial.removeSubrange(...last)
        return lines
    }

    /// What is left without its newline (the last line of a child that exited mid-line), with a
    /// newline added; empty when nothing is left.
    public mutating func finish() -> [UInt8] {
        defer { partial.removeAll() }
        return partial.isEmpty ? [] : partial + [0x0A]
    }

    /// `lines` (each ending in a newline) with `[prefix] ` before each one.
    public static func prefixed(_ lines: [UInt8], with prefix: String) -> [UInt8] {
        let head = Array("[\(prefix)] ".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(lines.count + 8 * head.count)
        var start = lines.startIndex
        while start < lines.endIndex {
            let end = lines[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? lines.endIndex
            out.append(contentsOf: head)
            out.append(contentsOf: lines[start..<end])
            start = end
        }
        return out
    }
}
