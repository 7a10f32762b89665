import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Overload is shed, not queued; idle connections are closed; headers are never logged raw.
@Suite("overload and hostile HTTP against the real stack", .serialized)
struct OverloadTests {
    @Test("a full service queue answers 503 overloaded with Retry-After at once")
    func fullQueue() async throws {
        let stack = try Stack(["BROKER_MAX_QUEUE": "2", "BROKER_MAX_BATCH": "1", "REQUEST_TIMEOUT_MS": "3000", "NO_WORKER_WAIT_MS": "3000"])
        try await stack.startAll()
        stack.signal("feature-worker", SIGSTOP)
        defer { stack.signal("feature-worker", SIGCONT) }
        let answers = try await withThrowingTaskGroup(of: (Int, String?, Duration).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let start = ContinuousClock.now
                    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(stack.httpPort)/api/ai/consensus")!, timeoutInterval: 10)
                    request.httpMethod = "POST"
                    request.httpBody = Data(#"{"symbol": "BTCUSDT", "candles": [\#(Self.candles)]}"#.utf8)
                    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    let (_, response) = try await URLSession.shared.data(for: request)
                    let http = response as? HTTPURLResponse
                    return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Retry-After"), ContinuousClock.now - start)
                }
            }
            var all: [(Int, String?, Duration)] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        let shed = answers.filter { $0.0 == 503 }
        #expect(!shed.isEmpty, "no request was shed: \(answers.map { $0.0 })")
        #expect(shed.allSatisfy { $0.1 == "1" }, "Retry-After missing: \(shed)")
        // Shed at once, not after waiting out a deadline (3 s here).
        #expect(shed.allSatisfy { $0.2 < .seconds(2) }, "\(shed.map { $0.2 })")
    }

    static var candles: String {
        (0..<25).map {
            #"{"openTime": \#(1_700_000_000_000 + $0 * 300_000), "open": 100, "high": 101, "low": 99, "close": \#(100 + $0), "volume": 1}"#
        }
        .joined(separator: ",")
    }

    @Test("300 idle TCP connections are closed by the gateway and a worker's health server within the idle timeout; the stack keeps answering")
    func idleConnections() async throws {
        let stack = try Stack(["HTTP_IDLE_TIMEOUT_MS": "1000"])
        try await stack.startAll()
        let sockets = try (0..<300).map { index in try connectTCP(port: index % 3 == 0 ? stack.modelHealthPort : stack.httpPort) }
        defer { for fd in sockets { close(fd) } }
        #expect(try await stack.get("/health").status == 200)
        try await waitUntil("every idle connection is closed by the server", timeout: .seconds(10)) {
            sockets.allSatisfy { isClosedByPeer($0) }
        }
        #expect(try await stack.get("/health").status == 200)
        #expect(try await stack.get("/health", port: stack.modelHealthPort).status == 200)
    }

    @Test("headers or a body dribbled a byte at a time are cut off at the idle timeout, on the gateway and a worker's health server")
    func slowDribble() async throws {
        let stack = try Stack(["HTTP_IDLE_TIMEOUT_MS": "1000"])
        try await stack.startAll()
        let endlessHeader = Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 10_000)
        let bodyHead = "POST /api/ai/consensus HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        let held = try await withThrowingTaskGroup(of: (String, Duration).self) { group in
            for (name, port) in [("gateway", stack.httpPort), ("model health", stack.modelHealthPort)] {
                group.addTask {
                    let fd = try connectTCP(port: port)
                    defer { close(fd) }
                    return ("\(name) headers", await dribble(fd, endlessHeader, every: .milliseconds(100), limit: .seconds(8)))
                }
            }
            group.addTask {
                let fd = try connectTCP(port: stack.httpPort)
                defer { close(fd) }
                _ = Array(bodyHead.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return ("gateway body", await dribble(fd, Array("{\"a\": 1}".utf8), every: .milliseconds(100), limit: .seconds(8)))
            }
            var all: [(String, Duration)] = []
            for try await result in group { all.append(result) }
            return all
        }
        for (what, duration) in held {
            #expect(duration < .seconds(4), "\(what) was held open for \(duration) with a 1 s timeout")
        }
        #expect(try await stack.get("/health").status == 200)
        #expect(try await stack.get("/health", port: stack.modelHealthPort).status == 200)
    }

    @Test("a 60 kB X-Request-Id is replaced, never logged raw")
    func hugeRequestID() async throws {
        let stack = try Stack()
        try await stack.startAll()
        let huge = String(repeating: "risk_locked", count: 6_000)
        for _ in 0..<3 {
            let answer = try await stack.request(
                "POST",
                "/api/trade/execute",
                body: Data("{".utf8),
                headers: ["X-Request-Id": huge, "Content-Type": "application/json"]
            )
            #expect(answer.status >= 400 && answer.status < 500)
        }
        let sane = "abc-123_X.y:z/0~!"
        let echoed = try await stack.request(
            "POST",
            "/api/ai/consensus",
            body: Data(#"{"symbol": "BTCUSDT", "features": {"mom_20": 1, "rv_5": 0.2, "rsi_14": 50}}"#.utf8),
            headers: ["X-Request-Id": sane, "Content-Type": "application/json"]
        )
        #expect(echoed.json["requestId"] as? String == sane, "\(echoed.text)")
        try await Task.sleep(for: .milliseconds(300))
        let log = stack.log("gateway")
        #expect(!log.contains("risk_lockedrisk_locked"), "the raw header reached the log")
        #expect(log.utf8.count < 200_000, "the gateway log grew to \(log.utf8.count) bytes")
    }
}

/// A blocking TCP connection to 127.0.0.1:`port` that sends nothing.
func connectTCP(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// True once the peer has closed `fd` (a read returns end of file or a reset), without blocking.
func isClosedByPeer(_ fd: Int32) -> Bool {
    var byte: UInt8 = 0
    let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK))
    if count == 0 { return true }
    if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
    return false
}

/// Sends `bytes` one at a time every `interval` until the peer closes `fd` or `limit` passes;
/// returns how long the peer kept the connection open.
func dribble(_ fd: Int32, _ bytes: [UInt8], every interval: Duration, limit: Duration) async -> Duration {
    let start = ContinuousClock.now
    var index = 0
    while ContinuousClock.now - start < limit {
        if isClosedByPeer(fd) { return ContinuousClock.now - start }
        var byte = bytes[index % bytes.count]
        if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 { return ContinuousClock.now - start }
        index += 1
        try? await Task.sleep(for: interval)
    }
    return ContinuousClock.now - start
}
