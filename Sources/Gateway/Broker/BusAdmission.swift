import Logging
import Synchronization
import TradingWire
import ZeroMQ

/// Who may join the secured bus: a CURVE peer whose public key `authorized_keys` lists, admitted
/// with the user id "ROLE PUBLIC-KEY" that the broker later reads to decide which services the
/// peer may serve (`BusRole.mayServe`).
enum BusAdmission {
    /// The ZAP handler of the broker's context: refuses any other mechanism and any unknown key
    /// (said in the log once a minute per key, not on every reconnect attempt).
    static func handler(context: ZMQContext, keys: AuthorizedKeys, logger: Logger) throws -> ZAPHandler {
        let refusals = Mutex(RefusalLog())
        return try ZAPHandler(context: context) { mechanism, publicKey, address in
            guard mechanism == "CURVE", let publicKey else {
                return .refuse(reason: "CURVE is required")
            }
            guard let role = keys.roles[publicKey] else {
                if refusals.withLock({ $0.shouldLog(publicKey) }) {
                    logger.warning("refused a bus connection with an unknown key", metadata: ["key": "\(publicKey)", "peer": "\(address)"])
                }
                return .refuse(reason: "unknown key")
            }
            return .admit(userID: "\(role.rawValue) \(publicKey)")
        }
    }

    /// The role and key of a ZAP user id ("ROLE PUBLIC-KEY"); no role and "none" without one.
    static func roleAndKey(_ userID: String?) -> (BusRole?, String) {
        guard let userID, let space = userID.firstIndex(of: " ") else { return (nil, "none") }
        return (BusRole(rawValue: String(userID[..<space])), String(userID[userID.index(after: space)...]))
    }
}
