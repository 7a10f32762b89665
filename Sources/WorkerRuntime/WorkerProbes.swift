import TradingWire

/// A worker's probes, served by its health server beside `/health` and `/metrics`.
///
/// - `/livez`: the process answers; always 200 (never depends on the gateway, so a gateway
///   outage does not get every worker restarted).
/// - `/readyz`: the broker was heard within the heartbeat window and the control state is fresh;
///   503 with the failing checks otherwise.
enum WorkerProbes {
    struct Readiness: Codable, Sendable {
        var ready: Bool
        var service: String
        var broker_connected: Bool
        var control_known: Bool
    }

    static func routes(service: String, link: BrokerLink, control: ControlView, brokerWindow: Int) -> [String: HealthServer.Route] {
        [
            "/livez": { HealthServer.Reply(status: 200, body: Array(#"{"alive":true}"#.utf8)) },
            "/readyz": {
                let connected = link.isConnected(within: brokerWindow)
                let known = control.current() != nil
                let answer = Readiness(ready: connected && known, service: service, broker_connected: connected, control_known: known)
                return HealthServer.Reply(status: answer.ready ? 200 : 503, body: (try? WireCodec.encode(answer)) ?? [])
            },
        ]
    }
}
