import Foundation
import ServiceSupport
import Testing

@Suite("the launcher's output lines")
struct LogLinesTests {
    @Test("chunks cut anywhere come out as the same whole lines, each prefixed once")
    func wholeLines() {
        let text = Array("{\"a\":1}\n\n{\"b\":\"two\"}\nlast line without its newline".utf8)
        // Every way of cutting the text in two, and byte by byte.
        var cuts: [[[UInt8]]] = (0...text.count).map { [Array(text[..<$0]), Array(text[$0...])] }
        cuts.append(text.map { [$0] })
        for chunks in cuts {
            var lines = LogLines()
            var out: [UInt8] = []
            for chunk in chunks { out += lines.complete(chunk) }
            #expect(String(decoding: out, as: UTF8.self) == "{\"a\":1}\n\n{\"b\":\"two\"}\n")
            #expect(String(decoding: lines.finish(), as: UTF8.self) == "last line without its newline\n")
            #expect(lines.finish().isEmpty)
        }
        let prefixed = LogLines.prefixed(Array("{\"a\":1}\n\nx\n".utf8), with: "gateway")
        #expect(String(decoding: prefixed, as: UTF8.self) == "[gateway] {\"a\":1}\n[gateway] \n[gateway] x\n")
        #expect(LogLines.prefixed([], with: "gateway").isEmpty)
    }
}
