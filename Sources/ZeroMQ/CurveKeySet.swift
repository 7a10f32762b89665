import Foundation

/// A complete set of CURVE keys for one bus, as files in a directory: the gateway's pair and one
/// pair per client name, plus the `authorized_keys` file the gateway admits clients by.
///
///     DIR/gateway.key  DIR/gateway.pub          the server (secret files are mode 0600)
///     DIR/<name>.key   DIR/<name>.pub           one per client name (a role: risk, model, ...)
///     DIR/authorized_keys                       "<name> <public key>" per client
///
/// The environment each process needs is `gatewayEnvironment` / `clientEnvironment(_:)`: paths
/// for the `*_FILE` variables, as Docker and Kubernetes secrets give them.
public struct CurveKeySet: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public var gatewaySecretFile: URL { directory.appendingPathComponent("gateway.key") }
    public var gatewayPublicFile: URL { directory.appendingPathComponent("gateway.pub") }
    public var authorizedKeysFile: URL { directory.appendingPathComponent("authorized_keys") }
    public func secretFile(_ name: String) -> URL { directory.appendingPathComponent("\(name).key") }
    public func publicFile(_ name: String) -> URL { directory.appendingPathComponent("\(name).pub") }

    /// Whether the set has its server key and authorized keys already.
    public var exists: Bool {
        FileManager.default.fileExists(atPath: gatewaySecretFile.path) && FileManager.default.fileExists(atPath: authorizedKeysFile.path)
    }

    /// Writes a fresh set for `clients`. Refuses to overwrite an existing set unless `replace`.
    public func generate(clients: [String], replace: Bool = false) throws {
        if exists && !replace { throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: gatewaySecretFile.path]) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let server = try CurveKeyPair.generate()
        try write(server, secret: gatewaySecretFile, public: gatewayPublicFile)
        var authorized = "# CURVE client keys the gateway admits: ROLE PUBLIC-KEY [comment]\n"
        for name in clients {
            let pair = try CurveKeyPair.generate()
            try write(pair, secret: secretFile(name), public: publicFile(name))
            authorized += "\(name) \(pair.publicKey) \(name)\n"
        }
        try Data(authorized.utf8).write(to: authorizedKeysFile, options: .atomic)
    }

    /// Makes a pair for one more client `name` serving `role`, writes its files and appends its
    /// public key to `authorized_keys`. Refuses to overwrite an existing key of that name.
    public func addClient(_ name: String, role: String) throws -> CurveKeyPair {
        guard !FileManager.default.fileExists(atPath: secretFile(name).path) else {
            throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: secretFile(name).path])
        }
        let pair = try CurveKeyPair.generate()
        try write(pair, secret: secretFile(name), public: publicFile(name))
        let handle = try FileHandle(forWritingTo: authorizedKeysFile)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(role) \(pair.publicKey) \(name)\n".utf8))
        return pair
    }

    /// The gateway's variables: its secret key and the keys it admits.
    public var gatewayEnvironment: [String: String] {
        ["CURVE_SECRET_KEY_FILE": gatewaySecretFile.path, "CURVE_AUTHORIZED_KEYS_FILE": authorizedKeysFile.path]
    }

    /// A client's variables: its own secret key and the gateway's public key.
    public func clientEnvironment(_ name: String) -> [String: String] {
        ["CURVE_SECRET_KEY_FILE": secretFile(name).path, "CURVE_SERVER_KEY_FILE": gatewayPublicFile.path]
    }

    private func write(_ pair: CurveKeyPair, secret: URL, public publicURL: URL) throws {
        guard
            FileManager.default.createFile(atPath: secret.path, contents: Data((pair.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: secret.path])
        }
        try Data((pair.publicKey + "\n").utf8).write(to: publicURL, options: .atomic)
    }
}
