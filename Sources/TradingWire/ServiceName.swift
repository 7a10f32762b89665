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

    /// Whether a replica may safely answer the same request again after another replica died.
    public static func isIdempotent(_ service: String) -> Bool {
        service == feature || service.hasPrefix(modelPrefix) || service.hasPrefix(canaryPrefix)
    }
}
