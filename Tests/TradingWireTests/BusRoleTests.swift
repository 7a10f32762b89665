import Testing
import TradingWire

@Suite("service names and bus roles")
struct BusRoleTests {
    @Test("only names of the grammar are services")
    func grammar() {
        for name in ["feature", "risk", "execution", "model.logit", "canary.xgb", "model.a-b_9"] {
            #expect(ServiceName.isWellFormed(name), "\(name)")
        }
        for name in ["", "riskx", "model.", "model.a.b", "canary.", "model.\u{0}", "model." + String(repeating: "a", count: 65), "admin", "model.é"] {
            #expect(!ServiceName.isWellFormed(name), "\(name)")
        }
    }

    @Test("a bundle names 1 to 8 distinct model ids")
    func bundles() {
        #expect(ServiceName.bundledModelIDs(of: "models.logit.xgb.rsi") == ["logit", "xgb", "rsi"])
        #expect(ServiceName.bundle(["logit", "xgb"]) == "models.logit.xgb")
        #expect(ServiceName.incumbentModelIDs(of: "models.a.b") == ["a", "b"])
        #expect(ServiceName.incumbentModelIDs(of: "model.a") == ["a"])
        #expect(ServiceName.incumbentModelIDs(of: "canary.a").isEmpty && ServiceName.incumbentModelIDs(of: "risk").isEmpty)
        let eight = "models." + (1...8).map { "m\($0)" }.joined(separator: ".")
        #expect(ServiceName.isWellFormed("models.a") && ServiceName.isWellFormed(eight) && ServiceName.isIdempotent("models.a.b"))
        let nine = "models." + (1...9).map { "m\($0)" }.joined(separator: ".")
        let long = "models." + (1...4).map { _ in String(repeating: "a", count: 64) }.joined(separator: ".")
        for name in ["models.", "models.a.", "models..a", "models.a.a", "models.a b", "models.é", nine, long, "modelsa"] {
            #expect(ServiceName.bundledModelIDs(of: name) == nil && !ServiceName.isWellFormed(name), "\(name)")
        }
    }

    @Test("each role serves its own services only")
    func roles() {
        #expect(BusRole.risk.mayServe("risk") && !BusRole.risk.mayServe("execution") && !BusRole.risk.mayServe("model.x"))
        #expect(BusRole.execution.mayServe("execution") && !BusRole.execution.mayServe("risk"))
        #expect(BusRole.feature.mayServe("feature") && !BusRole.feature.mayServe("model.x"))
        #expect(BusRole.model.mayServe("model.x") && BusRole.model.mayServe("canary.x") && !BusRole.model.mayServe("risk"))
        #expect(BusRole.model.mayServe("models.x.y") && !BusRole.risk.mayServe("models.x.y") && !BusRole.model.mayServe("models.x.x"))
        #expect(!BusRole.observer.mayServe("feature") && !BusRole.model.mayServe("model.bad name"))
    }

    @Test("authorized keys parse line by line; a bad line is named")
    func authorizedKeys() throws {
        let key = String(repeating: "a", count: 40)
        let other = String(repeating: "b", count: 40)
        let keys = try AuthorizedKeys(text: "# comment\n\nrisk \(key) risk-worker\n  model\t\(other)\n", isValidKey: { $0.count == 40 })
        #expect(keys.roles == [key: .risk, other: .model])
        #expect(throws: AuthorizedKeysError.self) { try AuthorizedKeys(text: "root \(key)", isValidKey: { $0.count == 40 }) }
        do {
            _ = try AuthorizedKeys(text: "risk \(key)\nmodel short", isValidKey: { $0.count == 40 })
            Issue.record("a short key was accepted")
        } catch {
            #expect(error.line == 2)
        }
    }
}
