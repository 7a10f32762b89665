import Foundation
import ServiceSupport
import Testing

@Suite("the launcher's rotating log files")
struct RotatingLogFileTests {
    @Test("a log rotates past its size, keeps the configured number of old files, and never splits a line")
    func rotates() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rotating-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("gateway.log")
        let log = try RotatingLogFile(url: url, maxBytes: 1_000, keptFiles: 2)
        let line = Data((String(repeating: "x", count: 99) + "\n").utf8)
        for _ in 0..<55 { log.append(line) }
        log.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["gateway.log", "gateway.log.1", "gateway.log.2"])
        for name in names {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            #expect(data.count <= 1_000, "\(name) has \(data.count) bytes")
            #expect(data.count % 100 == 0, "\(name) holds a partial line")
        }
        // 55 lines of 100 bytes, 10 to a file: the last 5 in the live file, 20 in the two kept.
        #expect(try Data(contentsOf: url).count == 500)

        // Reopened, it appends to what is there.
        let again = try RotatingLogFile(url: url, maxBytes: 1_000, keptFiles: 2)
        again.append(line)
        again.close()
        #expect(try Data(contentsOf: url).count == 600)
    }
}
