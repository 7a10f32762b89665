import CZeroMQ

/// The ZAP handler of a context (ZeroMQ RFC 27): a REP socket bound at
/// `inproc://zeromq.zap.01` that libzmq asks, for every CURVE handshake on a server socket of
/// the same context, whether the client's public key may connect.
///
/// The owner polls `socket` and calls `answerPending()`; `decide` maps the client's public key
/// (Z85) to a user id, or nil to refuse. The user id then rides on every message from that
/// connection as the `User-Id` property (see `ZMQSocket.receive(userID:)`).
public final class ZAPHandler {
    public static let endpoint = "inproc://zeromq.zap.01"

    /// The verdict for one handshake.
    public enum Verdict: Sendable {
        case admit(userID: String)
        case refuse(reason: String)
    }

    public let socket: ZMQSocket
    private let decide: (_ mechanism: String, _ publicKey: String?, _ address: String) -> Verdict

    /// Binds the handler in `context`; must happen before any server socket of the context binds.
    public init(context: ZMQContext, decide: @escaping (_ mechanism: String, _ publicKey: String?, _ address: String) -> Verdict) throws {
        socket = try context.socket(.reply)
        try socket.bind(Self.endpoint)
        self.decide = decide
    }

    /// Answers every queued ZAP request. Malformed requests are answered 500 when they can be.
    public func answerPending() throws {
        while let request = try socket.receive(wait: false) {
            try socket.send(Self.reply(to: request, decide: decide))
        }
    }

    /// The reply frames to one ZAP request: version, request id, status code, status text,
    /// user id, metadata.
    static func reply(to frames: ZMQMessage, decide: (String, String?, String) -> Verdict) -> ZMQMessage {
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return [Array("1.0".utf8), frames.count > 1 ? frames[1] : [], Array("500".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        let requestID = frames[1]
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        let publicKey = mechanism == "CURVE" && frames.count >= 7 ? CurveKeyPair.z85(frames[6]) : nil
        switch decide(mechanism, publicKey, address) {
        case .admit(let userID):
            return [Array("1.0".utf8), requestID, Array("200".utf8), Array("OK".utf8), Array(userID.utf8), []]
        case .refuse(let reason):
            return [Array("1.0".utf8), requestID, Array("400".utf8), Array(reason.utf8), [], []]
        }
    }
}
