/// The MDP service names workers register under.
public enum ServiceName {
    public static let feature = "feature"
    public static let risk = "risk"
    public static let execution = "execution"
    /// Prefix of every model service: `model.<model-id>`.
    public static let modelPrefix = "model."

    /// Prefix of a canary model service: `canary.<model-id>`, routed by the gateway's canary
    /// settings (shadow, share or promoted), never picked up as a voter on its own.
    public static let canaryPrefix = "canary."

    public static func canary(_ id: String) -> String { canaryPrefix + id }

    /// Prefix of a model bundle: one worker serving several incumbent model ids, named
    /// `models.<id>.<id>...` (a model id has no dot). The gateway asks it for all of its ids in one
    /// request (`predict_models`) where it would send one request per id.
    public static let bundlePrefix = "models."

    /// At most this many model ids in one bundle.
    public static let maxBundledModels = 8

    /// The service name of a bundle of `ids`, in that order.
    public static func bundle(_ ids: [String]) -> String { bundlePrefix + ids.joined(separator: ".") }

    /// The model ids of a `models.<id>.<id>...` service name: 1 to `maxBundledModels` valid,
    /// distinct ids; nil for any other service.
    public static func bundledModelIDs(of service: String) -> [String]? {
        guard service.hasPrefix(bundlePrefix), service.utf8.count <= 255 else { return nil }
        let ids = service.dropFirst(bundlePrefix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...maxBundledModels).contains(ids.count), ids.allSatisfy(isValidModelID), Set(ids).count == ids.count else { return nil }
        return ids
    }

    /// The incumbent model ids a service votes for: its own for `model.<id>`, a bundle's ids,
    /// none for any other service (a canary never votes on its own).
    public static func incumbentModelIDs(of service: String) -> [String] {
        if let id = modelID(of: service) { return [id] }
        return bundledModelIDs(of: service) ?? []
    }

    /// The model id of a `canary.<id>` service name.
    public static func canaryModelID(of service: String) -> String? {
        guard service.hasPrefix(canaryPrefix), service.count > canaryPrefix.count else { return nil }
        return String(service.dropFirst(canaryPrefix.count))
    }

    /// The service name of a model id.
    public static func model(_ id: String) -> String { modelPrefix + id }

    /// The model id of a `model.<id>` service name, or nil for any other service.
    public static func modelID(of service: String) -> String? {
        guard service.hasPrefix(modelPrefix), service.count > modelPrefix.count else { return nil }
        return String(service.dropFirst(modelPrefix.count))
    }

    /// Whether `id` is a model id (`Identifier.modelID`).
    public static func isValidModelID(_ id: String) -> Bool { Identifier.modelID.accepts(id) }

    /// Whether `service` is one of the names of the grammar: `feature`, `risk`, `execution`,
    /// `model.<id>`, `canary.<id>` or `models.<id>.<id>...`. The broker serves no other name, so a peer can never make
    /// it create queues or metrics for arbitrary strings.
    public static func isWellFormed(_ service: String) -> Bool {
        if service == feature || service == risk || service == execution { return true }
        if let id = modelID(of: service) ?? canaryModelID(of: service) { return isValidModelID(id) }
        return bundledModelIDs(of: service) != nil
    }

    /// Whether the broker may pack several waiting requests into one REQUEST (one body frame
    /// each): the read-only services, and `risk` and `execution`, whose workers commit a
    /// REQUEST's changes (ledger, journal) in one transaction and answer them together after it.
    /// Packing never means retrying: only `isIdempotent` services are retried.
    public static func packsRequests(_ service: String) -> Bool {
        isIdempotent(service) || service == risk || service == execution
    }

    /// Whether a replica may safely answer the same request again after another replica died.
    public static func isIdempotent(_ service: String) -> Bool {
        service == feature || service.hasPrefix(modelPrefix) || service.hasPrefix(canaryPrefix) || service.hasPrefix(bundlePrefix)
    }
}
