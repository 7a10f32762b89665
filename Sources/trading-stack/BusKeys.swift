import Foundation
import TradingWire
import ZeroMQ

/// The launcher's CURVE keys: made on first start under the data folder, reused after, so the
/// local stack runs with CURVE on like any other. `STACK_CURVE=off` runs the bus in the clear
/// (paper mode on loopback only), and CURVE variables set by the caller are left alone.
enum BusKeys {
    /// The extra environment per service name, or empty when CURVE is off or set by the caller.
    static func environment(
        dataDirectory: URL,
        environment: [String: String]
    ) throws -> (gateway: [String: String], client: (BusRole) -> [String: String]) {
        let callerSetsKeys = environment.keys.contains { $0.hasPrefix("CURVE_") }
        if environment["STACK_CURVE"] == "off" || callerSetsKeys { return ([:], { _ in [:] }) }
        let set = CurveKeySet(directory: dataDirectory.appendingPathComponent("curve"))
        if !set.exists { try set.generate(clients: BusRole.standardKeySet.map(\.rawValue)) }
        return (set.gatewayEnvironment, { set.clientEnvironment($0.rawValue) })
    }
}
