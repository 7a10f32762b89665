import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension BinanceSpotClient {
    /// Request weight of one `GET /api/v3/exchangeInfo`, whatever the number of symbols asked (Binance: 20).
    public static let exchangeInfoWeight = 20

    /// `GET /api/v3/exchangeInfo?symbols=[...]` (public: unsigned, no key): each symbol's filters,
    /// or why they are unknown. Binance refuses the whole request when one symbol does not exist
    /// (-1121 `Invalid symbol.`); then each symbol is asked alone, so one bad name does not leave
    /// the others without filters.
    public func exchangeFilters(symbols: [String]) -> [String: Result<ExchangeFilters, ExchangeFilters.Unknown>] {
        switch fetchExchangeInfo(symbols) {
        case .success(let data):
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let limits = object["rateLimits"] as? [[String: Any]] {
                rateBudget.learn(rateLimits: limits)
            }
            return ExchangeFilters.parse(exchangeInfo: data, symbols: symbols)
        case .failure(let problem) where problem.reason.contains("-1121") && symbols.count > 1:
            var result: [String: Result<ExchangeFilters, ExchangeFilters.Unknown>] = [:]
            for symbol in symbols { result.merge(exchangeFilters(symbols: [symbol])) { _, new in new } }
            return result
        case .failure(let problem):
            return Dictionary(uniqueKeysWithValues: symbols.map { ($0, .failure(problem)) })
        }
    }

    private func fetchExchangeInfo(_ symbols: [String]) -> Result<Data, ExchangeFilters.Unknown> {
        let list = "[" + symbols.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        guard let url = URL(string: configuration.baseURL + "/api/v3/exchangeInfo?symbols=" + Self.percentEncode(list)) else {
            return .failure(.init("bad exchange URL"))
        }
        var request = URLRequest(url: url, timeoutInterval: Double(configuration.timeoutMilliseconds) / 1000)
        request.httpMethod = "GET"
        switch send(request, purpose: .settle) {
        case .response(200, let data?):
            return .success(data)
        case .response(let status, let data):
            let object = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let code = (object?["code"] as? Int).map { " code \($0)" } ?? ""
            let message = (object?["msg"] as? String).map { ": " + $0.prefix(120) } ?? ""
            return .failure(.init("exchangeInfo answered HTTP \(status)\(code)\(message)"))
        case .rateLimited(let refusal):
            return .failure(.init("exchangeInfo not asked: \(refusal.reason)"))
        case .failed(let reason):
            return .failure(.init("exchangeInfo not read: \(reason)"))
        }
    }
}

/// The filters of the traded symbols, as the exchange last published them.
///
/// A symbol is learned on first use (and from the configured list at start); its filters are read
/// again once they are `refreshMilliseconds` old, all known symbols in one request: by the
/// background refresh (`refreshIfDue`), or else on the path of the order that finds them due.
/// A failed read keeps the last good filters until they are three refresh intervals old; after
/// that, or when a symbol's filters were never read, the answer is
/// the reason they are unknown, and the caller sends nothing (fail closed). Reads are at least
/// `retryMilliseconds` apart, so an exchange that does not answer is not asked on every order.
public final class ExchangeRulesBook: Sendable {
    public typealias Fetch = @Sendable ([String]) -> [String: Result<ExchangeFilters, ExchangeFilters.Unknown>]

    private struct Entry {
        var filters: ExchangeFilters
        var readAt: Int64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var problems: [String: String] = [:]
        var symbols: Set<String> = []
        var lastRead: Int64 = .min
    }

    public let refreshMilliseconds: Int64
    public let retryMilliseconds: Int64
    /// How old the last good filters may be when a refresh fails: three refresh intervals.
    public var maxAgeMilliseconds: Int64 { refreshMilliseconds * 3 }
    private let fetch: Fetch
    private let state = Mutex(State())
    /// exchangeInfo requests made (each of weight `BinanceSpotClient.exchangeInfoWeight`).
    private let reads = Atomic<Int>(0)

    public init(refreshMilliseconds: Int64, retryMilliseconds: Int64 = 5_000, fetch: @escaping Fetch) {
        self.refreshMilliseconds = refreshMilliseconds
        self.retryMilliseconds = retryMilliseconds
        self.fetch = fetch
    }

    public convenience init(client: BinanceSpotClient, refreshMilliseconds: Int64) {
        self.init(refreshMilliseconds: refreshMilliseconds) { client.exchangeFilters(symbols: $0) }
    }

    /// exchangeInfo requests made so far.
    public var readCount: Int { reads.load(ordering: .relaxed) }

    /// Reads the filters of `symbols` now (at start); returns the symbols whose filters are unknown, with why.
    @discardableResult
    public func read(_ symbols: [String], now: Int64) -> [String: String] {
        guard !symbols.isEmpty else { return [:] }
        let all = state.withLock { state -> [String] in
            state.symbols.formUnion(symbols)
            state.lastRead = now
            return state.symbols.sorted()
        }
        reads.add(1, ordering: .relaxed)
        let results = fetch(all)
        return state.withLock { state in
            for (symbol, result) in results {
                switch result {
                case .success(let filters):
                    state.entries[symbol] = Entry(filters: filters, readAt: now)
                    state.problems[symbol] = nil
                case .failure(let problem):
                    state.problems[symbol] = problem.reason
                }
            }
            return state.problems.filter { symbols.contains($0.key) }
        }
    }

    /// The background refresh: reads every known symbol again once the oldest filters are nine
    /// tenths of the refresh interval old (or some were never read), so that an order seldom finds
    /// them due. Returns the symbols still unknown after the read, with why; nil when nothing was due.
    @discardableResult
    public func refreshIfDue(now: Int64) -> [String: String]? {
        let symbols = state.withLock { state -> [String] in
            guard !state.symbols.isEmpty, now - state.lastRead >= retryMilliseconds else { return [] }
            let due = state.symbols.contains { symbol in
                guard let entry = state.entries[symbol] else { return true }
                return now - entry.readAt >= refreshMilliseconds / 10 * 9
            }
            return due ? state.symbols.sorted() : []
        }
        return symbols.isEmpty ? nil : read(symbols, now: now)
    }

    /// The filters `symbol` is to be checked against at `now`, or why they are unknown.
    public func filters(for symbol: String, now: Int64) -> Result<ExchangeFilters, ExchangeFilters.Unknown> {
        let due = state.withLock { state -> Bool in
            let known = state.symbols.insert(symbol).inserted == false
            if let entry = state.entries[symbol], now - entry.readAt < refreshMilliseconds { return false }
            return !known || now - state.lastRead >= retryMilliseconds
        }
        if due { read([symbol], now: now) }
        return state.withLock { state in
            if let entry = state.entries[symbol], now - entry.readAt < maxAgeMilliseconds { return .success(entry.filters) }
            let problem = state.problems[symbol] ?? "not read yet"
            let age = state.entries[symbol].map { "; the last good ones are \((now - $0.readAt) / 1_000) s old" } ?? ""
            return .failure(.init("the exchange filters of \(symbol) are unknown (\(problem)\(age)): no live order until exchangeInfo is read"))
        }
    }
}
