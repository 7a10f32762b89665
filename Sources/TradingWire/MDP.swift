/// The worker side of the Majordomo Protocol, MDP/0.1 (ZeroMQ RFC 7).
///
/// Frames as a worker's DEALER sends and receives them (the broker's ROUTER adds or strips the
/// worker's routing id in front):
///
///     READY       [empty, "MDPW01", 0x01, service]
///     REQUEST     [empty, "MDPW01", 0x02, client, empty, body...]
///     REPLY       [empty, "MDPW01", 0x03, client, empty, body...]
///     HEARTBEAT   [empty, "MDPW01", 0x04]
///     DISCONNECT  [empty, "MDPW01", 0x05]
public enum MDP {
    /// The protocol header frame for workers.
    public static let workerHeader: [UInt8] = Array("MDPW01".utf8)

    /// Command bytes.
    public enum Command: UInt8, Sendable {
        case ready = 0x01
        case request = 0x02
        case reply = 0x03
        case heartbeat = 0x04
        case disconnect = 0x05
    }

    /// One MDP worker-protocol message.
    public enum Message: Equatable, Sendable {
        /// Worker → broker: the worker offers `service`.
        case ready(service: String)
        /// Broker → worker: a request from `client` (an opaque return address).
        case request(client: [UInt8], body: [[UInt8]])
        /// Worker → broker: the reply to the request from `client`.
        case reply(client: [UInt8], body: [[UInt8]])
        /// Either way: "I am alive".
        case heartbeat
        /// Either way: "forget me" (the worker reconnects and sends READY again).
        case disconnect

        /// The frames a DEALER sends (no routing id).
        public var frames: [[UInt8]] {
            switch self {
            case .ready(let service):
                return [[], MDP.workerHeader, [Command.ready.rawValue], Array(service.utf8)]
            case .request(let client, let body):
                return [[], MDP.workerHeader, [Command.request.rawValue], client, []] + body
            case .reply(let client, let body):
                return [[], MDP.workerHeader, [Command.reply.rawValue], client, []] + body
            case .heartbeat:
                return [[], MDP.workerHeader, [Command.heartbeat.rawValue]]
            case .disconnect:
                return [[], MDP.workerHeader, [Command.disconnect.rawValue]]
            }
        }

        /// Parses the frames a DEALER received or a ROUTER received after the routing id.
        public init(frames: [[UInt8]]) throws(MDPError) {
            guard frames.count >= 3 else { throw .tooFewFrames(frames.count) }
            guard frames[0].isEmpty else { throw .missingEmptyDelimiter }
            guard frames[1] == MDP.workerHeader else { throw .wrongProtocol(String(decoding: frames[1], as: UTF8.self)) }
            guard frames[2].count == 1, let command = Command(rawValue: frames[2][0]) else {
                throw .unknownCommand(frames[2])
            }
            switch command {
            case .ready:
                guard frames.count == 4, !frames[3].isEmpty else { throw .malformed("READY needs exactly one service frame") }
                self = .ready(service: String(decoding: frames[3], as: UTF8.self))
            case .request, .reply:
                guard frames.count >= 6 else { throw .malformed("\(command) needs client, empty and body frames") }
                guard frames[4].isEmpty else { throw .malformed("\(command) needs an empty frame after the client address") }
                let body = Array(frames[5...])
                self = command == .request ? .request(client: frames[3], body: body) : .reply(client: frames[3], body: body)
            case .heartbeat:
                guard frames.count == 3 else { throw .malformed("HEARTBEAT carries no frames") }
                self = .heartbeat
            case .disconnect:
                guard frames.count == 3 else { throw .malformed("DISCONNECT carries no frames") }
                self = .disconnect
            }
        }
    }
}

/// A message that does not follow MDP/0.1.
public enum MDPError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooFewFrames(Int)
    case missingEmptyDelimiter
    case wrongProtocol(String)
    case unknownCommand([UInt8])
    case malformed(String)

    public var description: String {
        switch self {
        case .tooFewFrames(let count): "MDP message has \(count) frames, needs at least 3"
        case .missingEmptyDelimiter: "MDP message does not start with an empty frame"
        case .wrongProtocol(let header): "unexpected protocol header \"\(header)\", expected MDPW01"
        case .unknownCommand(let bytes): "unknown MDP command \(bytes)"
        case .malformed(let detail): "malformed MDP message: \(detail)"
        }
    }
}
