import Hummingbird

/// Kubernetes-style probes.
///
/// - `GET /livez`: the process is alive and its HTTP server answers; always 200. A liveness probe
///   must not depend on other processes, or an outage of one would restart them all.
/// - `GET /readyz`: ready to serve: the broker's sockets are bound and the control state has been
///   heard from the risk worker (so halts and locks are known). 503 with the missing checks
///   otherwise.
struct Probes: Sendable {
    let broker: Broker
    let control: ControlCenter

    /// One readiness answer.
    struct Readiness: Encodable, Sendable {
        var ready: Bool
        var checks: [String: Bool]
    }

    func readiness() -> Readiness {
        let checks = ["brokerBound": broker.endpoints != nil, "controlStateKnown": control.control != nil]
        return Readiness(ready: checks.values.allSatisfy { $0 }, checks: checks)
    }

    /// `/livez`'s body: the same bytes every time, written once.
    static let alive = ByteBuffer(string: #"{"alive":true}"#)

    func register(on router: Router<GatewayRequestContext>) {
        router.get("livez") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: Self.alive))
        }
        router.get("readyz") { _, _ in
            let answer = readiness()
            return try jsonResponse(answer, status: answer.ready ? .ok : .serviceUnavailable)
        }
    }
}
