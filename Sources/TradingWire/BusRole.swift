/// What a key on the bus may do. Every CURVE client key the gateway admits is bound to one role,
/// and a worker may register (MDP READY) only for the services of its key's role.
public enum BusRole: String, Sendable, CaseIterable, Codable {
    case risk
    case execution
    case feature
    /// Any `model.<id>` or `canary.<id>` service.
    case model
    /// Subscribes to the control channel only (operators' tools, monitors); serves nothing.
    case observer

    /// Whether a worker holding a key of this role may serve `service`.
    public func mayServe(_ service: String) -> Bool {
        guard ServiceName.isWellFormed(service) else { return false }
        switch self {
        case .risk: return service == ServiceName.risk
        case .execution: return service == ServiceName.execution
        case .feature: return service == ServiceName.feature
        case .model:
            return ServiceName.modelID(of: service) != nil || ServiceName.canaryModelID(of: service) != nil
                || ServiceName.bundledModelIDs(of: service) != nil
        case .observer: return false
        }
    }

    /// The roles a standard key set has one key each for, workers first.
    public static let standardKeySet: [BusRole] = [.risk, .execution, .feature, .model, .observer]
}

/// The client keys the gateway admits, each bound to a role: the text of an
/// `authorized_keys` file, one `ROLE PUBLIC-KEY [comment]` per line, `#` comments allowed.
///
///     risk      rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  risk-worker
///     model     JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6  a pyzmq worker
public struct AuthorizedKeys: Sendable, Equatable {
    /// Role by Z85 public key.
    public private(set) var roles: [String: BusRole] = [:]

    public init() {}

    /// Parses the file's text; a line that is not `ROLE KEY [comment]` is an error naming its number.
    public init(text: String, isValidKey: (String) -> Bool) throws(AuthorizedKeysError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: " \t\r")
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let role = BusRole(rawValue: String(fields[0])) else {
                throw AuthorizedKeysError(
                    line: index + 1,
                    detail: "expected ROLE PUBLIC-KEY, ROLE one of \(BusRole.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let key = String(fields[1])
            guard isValidKey(key) else { throw AuthorizedKeysError(line: index + 1, detail: "the public key is not 40 characters of Z85") }
            roles[key] = role
        }
    }

    /// Adds or replaces one key.
    public mutating func add(_ publicKey: String, role: BusRole) { roles[publicKey] = role }

    public var isEmpty: Bool { roles.isEmpty }
}

/// A line of an authorized keys file that does not parse.
public struct AuthorizedKeysError: Error, CustomStringConvertible, Sendable {
    public let line: Int
    public let detail: String
    public var description: String { "authorized keys, line \(line): \(detail)" }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        let characters = Set(set)
        var result = self
        while let first = result.first, characters.contains(first) { result = result.dropFirst() }
        while let last = result.last, characters.contains(last) { result = result.dropLast() }
        return result
    }
}
