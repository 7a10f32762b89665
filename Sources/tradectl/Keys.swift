import ArgumentParser
import Foundation
import TradingWire
import ZeroMQ

/// CURVE keys for the bus: a complete set in one command, or one more client key.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "CURVE keys for the ZeroMQ bus.",
        subcommands: [Generate.self, Add.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a complete key set into DIR: the gateway's pair, one pair per role, and authorized_keys.",
            discussion: """
                The gateway reads CURVE_SECRET_KEY_FILE=DIR/gateway.key and CURVE_AUTHORIZED_KEYS_FILE=DIR/authorized_keys;
                a worker reads CURVE_SECRET_KEY_FILE=DIR/<role>.key and CURVE_SERVER_KEY_FILE=DIR/gateway.pub.
                Roles: \(BusRole.standardKeySet.map(\.rawValue).joined(separator: ", ")).
                """
        )
        @Argument(help: "The directory to write (created mode 0700).") var directory: String
        @Flag(help: "Replace an existing key set.") var force = false

        func run() throws {
            let set = CurveKeySet(directory: URL(fileURLWithPath: directory))
            guard !set.exists || force else {
                throw ValidationError("\(directory) already holds a key set; pass --force to replace it (every process then needs the new keys)")
            }
            try set.generate(clients: BusRole.standardKeySet.map(\.rawValue), replace: force)
            print(
                "wrote a CURVE key set to \(directory): gateway.key/.pub, \(BusRole.standardKeySet.map { "\($0.rawValue).key/.pub" }.joined(separator: ", ")), authorized_keys"
            )
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key pair for one more client, print it, and append its public key to DIR/authorized_keys.",
            discussion: "The gateway reads authorized_keys when it starts: restart it to admit the new key."
        )
        @Argument(help: "The key set's directory.") var directory: String
        @Argument(help: "The role the key may serve: \(BusRole.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Argument(help: "A name for the key (files NAME.key and NAME.pub).") var name: String

        func run() throws {
            guard let role = BusRole(rawValue: role) else {
                throw ValidationError("unknown role \(role): one of \(BusRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty else {
                throw ValidationError("a key name is letters, digits, - and _")
            }
            let set = CurveKeySet(directory: URL(fileURLWithPath: directory))
            guard set.exists else { throw ValidationError("\(directory) holds no key set: run tradectl keys generate \(directory) first") }
            guard !FileManager.default.fileExists(atPath: set.secretFile(name).path) else {
                throw ValidationError("\(set.secretFile(name).path) exists already: choose another name")
            }
            let pair = try set.addClient(name, role: role.rawValue)
            print("public \(pair.publicKey)")
            print("secret in \(set.secretFile(name).path); server key in \(set.gatewayPublicFile.path); restart the gateway to admit it")
        }
    }
}
