import ServiceSupport

/// Says "refused" in the log once a minute per key, not once per reconnect attempt.
struct RefusalLog {
    private var lastLogged: [String: Int] = [:]

    mutating func shouldLog(_ key: String, now: Int = monotonicMilliseconds()) -> Bool {
        if let last = lastLogged[key], now - last < 60_000 { return false }
        if lastLogged.count > 1_000 { lastLogged.removeAll() }
        lastLogged[key] = now
        return true
    }
}
