import Testing
import TradingWire

@Suite("MDP/0.1 worker protocol framing")
struct MDPTests {
    let header = Array("MDPW01".utf8)

    @Test("each command has the RFC 7 frames")
    func frames() {
        #expect(MDP.Message.ready(service: "risk").frames == [[], header, [0x01], Array("risk".utf8)])
        #expect(
            MDP.Message.request(client: [9, 9], body: [Array("{}".utf8)]).frames == [[], header, [0x02], [9, 9], [], Array("{}".utf8)]
        )
        #expect(MDP.Message.reply(client: [1], body: [[7], [8]]).frames == [[], header, [0x03], [1], [], [7], [8]])
        #expect(MDP.Message.heartbeat.frames == [[], header, [0x04]])
        #expect(MDP.Message.disconnect.frames == [[], header, [0x05]])
    }

    @Test(
        "parsing inverts framing",
        arguments: [
            MDP.Message.ready(service: "model.logit"),
            .request(client: [0, 0, 0, 0, 0, 0, 0, 1], body: [Array("body".utf8)]),
            .reply(client: [1, 2], body: [[], [3]]),
            .heartbeat,
            .disconnect,
        ]
    )
    func roundTrip(message: MDP.Message) throws {
        #expect(try MDP.Message(frames: message.frames) == message)
    }

    @Test("malformed messages are refused with the reason")
    func malformed() {
        #expect(throws: MDPError.tooFewFrames(2)) { try MDP.Message(frames: [[], self.header]) }
        #expect(throws: MDPError.missingEmptyDelimiter) { try MDP.Message(frames: [[1], self.header, [4]]) }
        #expect(throws: MDPError.wrongProtocol("MDPC01")) { try MDP.Message(frames: [[], Array("MDPC01".utf8), [4]]) }
        #expect(throws: MDPError.unknownCommand([9])) { try MDP.Message(frames: [[], self.header, [9]]) }
        #expect(throws: MDPError.self) { try MDP.Message(frames: [[], self.header, [1]]) }  // READY without service
        #expect(throws: MDPError.self) { try MDP.Message(frames: [[], self.header, [1], Array("a".utf8), Array("b".utf8)]) }
        #expect(throws: MDPError.self) { try MDP.Message(frames: [[], self.header, [2], [1], [5], [6]]) }  // no empty after client
        #expect(throws: MDPError.self) { try MDP.Message(frames: [[], self.header, [4], [1]]) }  // HEARTBEAT with a body
    }

    @Test("service names")
    func serviceNames() {
        #expect(ServiceName.model("logit") == "model.logit")
        #expect(ServiceName.modelID(of: "model.logit") == "logit")
        #expect(ServiceName.modelID(of: "model.") == nil)
        #expect(ServiceName.modelID(of: "risk") == nil)
        #expect(ServiceName.isIdempotent("feature"))
        #expect(ServiceName.isIdempotent("model.x"))
        #expect(!ServiceName.isIdempotent("execution"))
        #expect(!ServiceName.isIdempotent("risk"))
    }
}

@Suite("wire bodies")
struct WireEnvelopeTests {
    @Test("a reply carries either a result or an error")
    func replies() throws {
        let ok = try WireCodec.decode(
            WireReply<GateResult>.self,
            from: WireCodec.encode(
                WireReply(
                    result: GateResult(
                        allow: true,
                        reasons: [],
                        flags: RiskFlags(halted: false, haltReason: nil, riskLocked: false, lockReason: nil)
                    )
                )
            )
        )
        #expect(try ok.get().allow)
        let failed = try WireCodec.decode(
            WireReply<GateResult>.self,
            from: WireCodec.encode(WireReply<GateResult>(error: WireError(code: "risk_locked", detail: "dd", status: 423)))
        )
        #expect(throws: WireError(code: "risk_locked", detail: "dd", status: 423)) { try failed.get() }
    }

    @Test("requests of another version are refused")
    func version() throws {
        var request = WireRequest(op: "gate", requestId: "r1", payload: Empty())
        request.v = 2
        let bytes = try WireCodec.encode(request)
        #expect(throws: WireError.self) { try WireCodec.decodeRequest(Empty.self, from: bytes) }
    }

    @Test("the control state keeps the runbook's field names")
    func controlState() throws {
        let state = ControlState(seq: 3, halted: true, haltReason: "ops", riskLocked: false, lockReason: nil, tradingMode: .paper, ts: 1)
        let object = try #require(String(bytes: WireCodec.encode(state), encoding: .utf8))
        for field in ["\"seq\":3", "\"halted\":true", "\"haltReason\":\"ops\"", "\"riskLocked\":false", "\"tradingMode\":\"paper\"", "\"ts\":1"] {
            #expect(object.contains(field))
        }
        #expect(try WireCodec.decode(ControlState.self, from: WireCodec.encode(state)) == state)
        #expect(!state.permitsTrading)
    }

    @Test("features use the runbook's names on the wire")
    func featureNames() throws {
        let json = try #require(String(bytes: WireCodec.encode(FeatureVector(mom20: 1, rv5: 0.2, rsi14: 65)), encoding: .utf8))
        #expect(json.contains("\"mom_20\":1"))
        #expect(json.contains("\"rv_5\":0.2"))
        #expect(json.contains("\"rsi_14\":65"))
    }
}
