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

@Suite("one JSON object per log line")
struct JSONLogLineTests {
    @Test("a line is one JSON object that reads back as written, whatever the message holds")
    func readsBack() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} slash / ü €"
        let date = Date(timeIntervalSince1970: 1_764_225_796.204)
        let line = JSONLogHandler.line(
            level: .warning,
            service: "gateway",
            message: tricky,
            fields: ["request.id": "r-1", "level": "forged", "nested": ["a": "1", "list": ["x", .stringConvertible(42)]]],
            at: date
        )
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false, "a message with a newline still makes one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["msg"] as? String == tricky)
        #expect(object["level"] as? String == "WARN", "metadata cannot forge the level")
        #expect(object["service"] as? String == "gateway")
        #expect(object["request.id"] as? String == "r-1")
        #expect(object["ts"] as? String == "2025-11-27T06:43:16.204Z")
        let nested = try #require(object["nested"] as? [String: Any])
        #expect(nested["a"] as? String == "1" && nested["list"] as? [String] == ["x", "42"])
        // Keys in order, as before: the same line for the same fields.
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.hasPrefix(#"{"level":"WARN","msg":"#))
    }

    @Test("timestamps are UTC to the millisecond, across years and before 1970")
    func timestamps() {
        #expect(
            JSONLogHandler.line(level: .info, service: "s", message: "m", fields: [:], at: Date(timeIntervalSince1970: 0))
                .starts(with: Array(#"{"level":"INFO","msg":"m","service":"s","ts":"1970-01-01T00:00:00.000Z"}"#.utf8))
        )
        let leap = String(
            decoding: JSONLogHandler.line(level: .info, service: "s", message: "m", fields: [:], at: Date(timeIntervalSince1970: 951_782_399.999)),
            as: UTF8.self
        )
        #expect(leap.contains("2000-02-28T23:59:59.999Z"))
        let before = String(
            decoding: JSONLogHandler.line(level: .info, service: "s", message: "m", fields: [:], at: Date(timeIntervalSince1970: -0.001)),
            as: UTF8.self
        )
        #expect(before.contains("1969-12-31T23:59:59.999Z"))
    }
}
