import Foundation
import Hummingbird
import NIOPosix

// The benchmark's yardstick: one constant JSON route on a bare Hummingbird application, in its own
// process, with no middleware and no bus. `scripts/bench` measures it in the same run as the
// gateway, so that figures taken when this machine was faster or slower can be compared: it is
// the row "a bare Hummingbird JSON route" of the issue that set the performance targets.
//
//   http-yardstick [port=18001]

/// The route's answer.
struct Alive: ResponseEncodable {
    let alive: Bool
}

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 18001
guard (1...65_535).contains(port) else {
    FileHandle.standardError.write(Data("usage: http-yardstick [port 1-65535]\n".utf8))
    exit(64)
}
let router = Router()
router.get("livez") { _, _ in Alive(alive: true) }
let application = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "http-yardstick"),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 2))
)
try await application.runService()
