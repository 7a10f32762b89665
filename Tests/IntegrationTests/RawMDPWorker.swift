import Foundation
import Synchronization
import Testing
import ZeroMQ

/// An MDP/0.1 worker as anyone would write it from RFC 7: a raw DEALER on its own thread, none
/// of our worker code. Heartbeats every 200 ms; says DISCONNECT when stopped.
final class RawMDPWorker: Sendable {
    private let stopped = Mutex(false)

    /// `onMessage` sees every message as the DEALER received it; for a REQUEST it returns the
    /// REPLY's body frames (nil: no reply).
    /// With `keys` and `serverKey`, it connects as a CURVE client with that key pair.
    init(
        endpoint: String,
        service: String,
        keys: CurveKeyPair? = nil,
        serverKey: String? = nil,
        onMessage: @escaping @Sendable (_ frames: [[UInt8]]) -> [[UInt8]]?
    ) {
        let header = Array("MDPW01".utf8)
        let thread = Thread { [self] in
            do {
                let context = try ZMQContext()
                let dealer = try context.socket(.dealer)
                if let keys, let serverKey { try dealer.makeCurveClient(keys, serverKey: serverKey) }
                try dealer.connect(endpoint)
                try dealer.send([[], header, [0x01], Array(service.utf8)])
                var lastBeat = Date()
                while !self.stopped.withLock({ $0 }) {
                    var poller = ZMQPoller()
                    poller.add(dealer)
                    if try !poller.poll(timeoutMilliseconds: 50).isEmpty, let frames = try dealer.receive() {
                        let replyBody = onMessage(frames)
                        if frames.count >= 6, frames[2] == [0x02], let replyBody {
                            try dealer.send([[], header, [0x03], frames[3], []] + replyBody)
                        }
                    }
                    if Date().timeIntervalSince(lastBeat) > 0.2 {
                        try dealer.send([[], header, [0x04]])
                        lastBeat = Date()
                    }
                }
                try dealer.send([[], header, [0x05]])
                dealer.close(lingerMilliseconds: 100)
            } catch {
                Issue.record("raw MDP worker \(service) failed: \(error)")
            }
        }
        thread.start()
    }

    func stop() { stopped.withLock { $0 = true } }
}
