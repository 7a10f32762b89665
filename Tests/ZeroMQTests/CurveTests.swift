import Foundation
import Testing

@testable import ZeroMQ

@Suite("CURVE and ZAP")
struct CurveTests {
    @Test("a secret key gives back its public key; malformed keys are refused")
    func keyPairs() throws {
        let pair = try CurveKeyPair.generate()
        #expect(CurveKeyPair.isZ85Key(pair.publicKey) && CurveKeyPair.isZ85Key(pair.secretKey))
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(throws: ZMQError.self) { try CurveKeyPair(secretKey: "short") }
        #expect(!CurveKeyPair.isZ85Key(String(repeating: "~", count: 40)))
    }

    @Test("the ZAP handler admits a known key with its user id, which rides on every message; others never connect")
    func zapAdmitsByKey() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let known = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context) { mechanism, key, _ in
            mechanism == "CURVE" && key == known.publicKey ? .admit(userID: "model \(key ?? "")") : .refuse(reason: "unknown")
        }
        let router = try context.socket(.router)
        try router.makeCurveServer(secretKey: server.secretKey, zapDomain: "test")
        try router.setOption(ZMQOption.receiveTimeout, 200)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint()

        let clientContext = try ZMQContext()
        let stranger = try clientContext.socket(.dealer)
        try stranger.makeCurveClient(try CurveKeyPair.generate(), serverKey: server.publicKey)
        try stranger.connect(endpoint)
        let keyless = try clientContext.socket(.dealer)
        try keyless.connect(endpoint)
        let friend = try clientContext.socket(.dealer)
        try friend.makeCurveClient(known, serverKey: server.publicKey)
        try friend.connect(endpoint)
        _ = try stranger.send([Array("from stranger".utf8)], wait: false)
        _ = try keyless.send([Array("from keyless".utf8)], wait: false)
        _ = try friend.send([Array("from friend".utf8)], wait: false)

        var received: [(String, String?)] = []
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            try zap.answerPending()
            if let (frames, userID) = try router.receiveWithUserID(wait: false) {
                received.append((String(decoding: frames.last ?? [], as: UTF8.self), userID))
            }
            usleep(5_000)
        }
        #expect(received.map(\.0) == ["from friend"])
        #expect(received.first?.1 == "model \(known.publicKey)")
    }

    @Test("only loopback, ipc and inproc endpoints count as local")
    func localEndpoints() {
        for local in ["tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:5", "ipc:///tmp/x", "inproc://a", "tcp://127.0.0.2:9"] {
            #expect(ZMQEndpoint.isLocalOnly(local), "\(local)")
        }
        for open in ["tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://backend:5555", "tcp://10.0.0.1:1", "tcp://[::]:5", "tcp://eth0:5555"] {
            #expect(!ZMQEndpoint.isLocalOnly(open), "\(open)")
        }
    }
}
