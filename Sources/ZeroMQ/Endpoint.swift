/// What an endpoint string says about who can reach it.
public enum ZMQEndpoint {
    /// Whether only this host can reach `endpoint`: `ipc://`, `inproc://`, or TCP on a loopback
    /// address (`127.x.x.x`, `localhost`, `[::1]`). `tcp://*` and `tcp://0.0.0.0` are not.
    public static func isLocalOnly(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        var host = Substring(endpoint.dropFirst("tcp://".count))
        // A connect endpoint may name a source address first: "src;dest".
        if let separator = host.lastIndex(of: ";") { host = host[host.index(after: separator)...] }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<close] == "::1"
        }
        let name = host.split(separator: ":").first.map(String.init) ?? ""
        return name == "localhost" || name.hasPrefix("127.")
    }
}
