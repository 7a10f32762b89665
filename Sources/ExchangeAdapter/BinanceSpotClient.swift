import Crypto
import Foundation
import Synchronization
import TradingWire
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// API key and secret. Never printed: `description` is redacted.
public struct ExchangeCredentials: Sendable, CustomStringConvertible {
    let apiKey: String
    let secret: String

    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    public var description: String { "ExchangeCredentials(redacted)" }
}

/// Where the exchange is and how patient to be with it.
public struct ExchangeConfiguration: Sendable {
    /// `https://api.binance.com` for the real venue, `https://testnet.binance.vision` for its testnet.
    public var baseURL: String
    public var credentials: ExchangeCredentials
    /// `recvWindow` sent with each signed request, ms.
    public var receiveWindowMilliseconds: Int
    /// How long one HTTP call may take before the outcome counts as unknown, ms.
    public var timeoutMilliseconds: Int

    public init(baseURL: String, credentials: ExchangeCredentials, receiveWindowMilliseconds: Int = 5_000, timeoutMilliseconds: Int = 2_000) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.receiveWindowMilliseconds = receiveWindowMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// What became of an order at the exchange.
public enum ExchangeOutcome: Sendable, Equatable {
    /// Filled: the exchange's own figures (average price, quantity, quote amount, and the
    /// commission summed by the asset it was charged in: the quote asset, the base asset or BNB).
    case filled(price: Decimal, quantity: Decimal, quoteAmount: Decimal, commissions: [String: Decimal])
    /// Refused by the exchange: nothing was traded.
    case rejected(code: Int, message: String)
    /// The exchange has no order under that client order id.
    case notFound
    /// Accepted but not (yet) filled: `status` as the exchange says.
    case open(status: String)
    /// Throttled: nothing was placed; try again after `retryAfter` seconds.
    case rateLimited(retryAfter: Int)
    /// No answer that settles it (timeout, 5xx, unreadable): the order may or may not exist.
    case unknown(reason: String)
}

/// Binance spot REST: market orders sized by quote amount, order query by client order id,
/// HMAC-SHA256 signed with timestamp and `recvWindow`. It never re-sends an order: a call
/// without a clear answer is `.unknown`, to be settled by `queryOrder`.
public final class BinanceSpotClient: Sendable {
    private let configuration: ExchangeConfiguration
    /// Until when (Unix ms) the exchange asked us to stay away.
    private let backoffUntil = Mutex<Int64>(0)

    public init(configuration: ExchangeConfiguration) {
        self.configuration = configuration
    }

    /// `POST /api/v3/order`: a MARKET order for `quoteAmount` of the quote currency.
    ///
    /// Signed with `timestamp` (the order's reservation time) when given: the exchange refuses
    /// the order once `timestamp + recvWindow` has passed, so it can exist there only if it was
    /// placed before then (see `provablyAbsent`).
    public func placeMarketOrder(symbol: String, side: Side, quoteAmount: Decimal, clientOrderID: String, timestamp: Int64? = nil) -> ExchangeOutcome {
        if let wait = remainingBackoff() { return .rateLimited(retryAfter: wait) }
        let parameters = [
            ("symbol", symbol), ("side", side == .buy ? "BUY" : "SELL"), ("type", "MARKET"), ("quoteOrderQty", "\(quoteAmount)"),
            ("newClientOrderId", clientOrderID), ("newOrderRespType", "FULL"),
        ]
        switch call("POST", "/api/v3/order", parameters, timestamp: timestamp) {
        case .answer(200, let object, _):
            return Self.outcome(ofOrder: object, trades: object["fills"] as? [[String: Any]])
        case .answer(let status, let object, _):
            return refusal(status: status, object: object)
        case .rateLimited(let seconds):
            return .rateLimited(retryAfter: seconds)
        case .failed(let reason):
            return .unknown(reason: reason)
        }
    }

    /// `GET /api/v3/order` by client order id, and the order's trades for its commission.
    public func queryOrder(symbol: String, clientOrderID: String) -> ExchangeOutcome {
        if let wait = remainingBackoff() { return .unknown(reason: "rate limited for \(wait) s more") }
        switch call("GET", "/api/v3/order", [("symbol", symbol), ("origClientOrderId", clientOrderID)]) {
        case .answer(200, let object, _):
            let executed = Self.decimal(object["executedQty"]) ?? 0
            guard object["status"] as? String == "FILLED" || (Self.finalStatuses.contains(object["status"] as? String ?? "") && executed > 0) else {
                return Self.outcome(ofOrder: object, trades: nil)
            }
            let orderID = (object["orderId"] as? Int).map(String.init) ?? "\(object["orderId"] ?? "")"
            switch call("GET", "/api/v3/myTrades", [("symbol", symbol), ("orderId", orderID)]) {
            case .answer(200, _, let array?):
                return Self.outcome(ofOrder: object, trades: array)
            default:
                return .unknown(reason: "the order is filled but its trades could not be read")
            }
        case .answer(let status, let object, _):
            if object["code"] as? Int == -2013 { return .notFound }
            if (500...599).contains(status) { return .unknown(reason: "exchange error \(status)") }
            return refusal(status: status, object: object)
        case .rateLimited(let seconds):
            return .unknown(reason: "rate limited for \(seconds) s")
        case .failed(let reason):
            return .unknown(reason: reason)
        }
    }

    /// Whether "not found" for an order signed at `timestamp` is proof that it never traded:
    /// only once `timestamp + recvWindow` (plus a second of clock skew) has passed, because until
    /// then the exchange may still accept it or not yet show it.
    public func provablyAbsent(signedAt timestamp: Int64, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) -> Bool {
        now > timestamp + Int64(configuration.receiveWindowMilliseconds) + 1_000
    }

    // MARK: outcomes

    private func refusal(status: Int, object: [String: Any]) -> ExchangeOutcome {
        if (500...599).contains(status) { return .unknown(reason: "exchange error \(status)") }
        let code = object["code"] as? Int ?? status
        let message = (object["msg"] as? String).map { String($0.prefix(200)) } ?? "HTTP \(status)"
        return .rejected(code: code, message: message)
    }

    /// Statuses after which an order trades no more.
    static let finalStatuses: Set<String> = ["REJECTED", "EXPIRED", "CANCELED", "EXPIRED_IN_MATCH"]

    /// The fill from an order (and, when given, its trades: price and commission per trade). An
    /// order that ended (EXPIRED, CANCELED, ...) after a partial execution is the fill of the
    /// executed part; with nothing executed it is a rejection.
    static func outcome(ofOrder object: [String: Any], trades: [[String: Any]]?) -> ExchangeOutcome {
        let status = object["status"] as? String ?? "UNKNOWN"
        let executed = decimal(object["executedQty"]) ?? 0
        guard status == "FILLED" || (finalStatuses.contains(status) && executed > 0) else {
            if finalStatuses.contains(status) {
                return .rejected(code: 0, message: "order \(status.lowercased()) by the exchange")
            }
            return .open(status: status)
        }
        guard let quantity = decimal(object["executedQty"]), let quote = decimal(object["cummulativeQuoteQty"]), quantity > 0 else {
            return .unknown(reason: "a filled order without quantities")
        }
        var commissions: [String: Decimal] = [:]
        for trade in trades ?? [] {
            guard let amount = decimal(trade["commission"]), amount != 0 else { continue }
            let asset = (trade["commissionAsset"] as? String).map { String($0.prefix(12)) } ?? ""
            commissions[asset, default: 0] += amount
        }
        let price = (quote / quantity).rounded8
        return .filled(price: price, quantity: quantity, quoteAmount: quote, commissions: commissions)
    }

    static func decimal(_ value: Any?) -> Decimal? {
        if let text = value as? String { return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) }
        if let number = value as? Double, number.isFinite { return Decimal(string: "\(number)") }
        if let number = value as? Int { return Decimal(number) }
        return nil
    }

    // MARK: HTTP

    enum CallResult {
        case answer(Int, [String: Any], [[String: Any]]? = nil)
        case rateLimited(Int)
        case failed(String)
    }

    /// The signed query: parameters, `timestamp`, `recvWindow`, then `signature` = hex HMAC-SHA256.
    static func signedQuery(_ parameters: [(String, String)], secret: String, timestamp: Int64, receiveWindow: Int) -> String {
        let all = parameters + [("timestamp", "\(timestamp)"), ("recvWindow", "\(receiveWindow)")]
        let query = all.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
        let mac = HMAC<SHA256>.authenticationCode(for: Data(query.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return query + "&signature=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func percentEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    func call(_ method: String, _ path: String, _ parameters: [(String, String)], timestamp: Int64? = nil) -> CallResult {
        let query = Self.signedQuery(
            parameters, secret: configuration.credentials.secret, timestamp: timestamp ?? Int64(Date().timeIntervalSince1970 * 1000),
            receiveWindow: configuration.receiveWindowMilliseconds)
        guard let url = URL(string: configuration.baseURL + path + "?" + query) else { return .failed("bad exchange URL") }
        var request = URLRequest(url: url, timeoutInterval: Double(configuration.timeoutMilliseconds) / 1000)
        request.httpMethod = method
        request.setValue(configuration.credentials.apiKey, forHTTPHeaderField: "X-MBX-APIKEY")
        let done = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data: data, response: response as? HTTPURLResponse, error: error)
            done.signal()
        }.resume()
        if done.wait(timeout: .now() + .milliseconds(configuration.timeoutMilliseconds + 500)) == .timedOut {
            return .failed("no answer within \(configuration.timeoutMilliseconds) ms")
        }
        let (data, response, error) = box.get()
        if let error { return .failed("transport: \(error.localizedDescription)") }
        guard let response else { return .failed("no HTTP response") }
        if response.statusCode == 429 || response.statusCode == 418 {
            let seconds = Int(response.value(forHTTPHeaderField: "Retry-After") ?? "") ?? 60
            backoffUntil.withLock { $0 = Int64(Date().timeIntervalSince1970 * 1000) + Int64(seconds) * 1000 }
            return .rateLimited(seconds)
        }
        let parsed = data.flatMap { try? JSONSerialization.jsonObject(with: $0) }
        if let array = parsed as? [[String: Any]] { return .answer(response.statusCode, [:], array) }
        if let object = parsed as? [String: Any] { return .answer(response.statusCode, object) }
        if (500...599).contains(response.statusCode) { return .answer(response.statusCode, [:]) }
        return .failed("unreadable answer (HTTP \(response.statusCode))")
    }

    func remainingBackoff() -> Int? {
        let until = backoffUntil.withLock { $0 }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return until > now ? Int((until - now + 999) / 1000) : nil
    }
}

private final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var response: HTTPURLResponse?
    private var error: (any Error)?

    func set(data: Data?, response: HTTPURLResponse?, error: (any Error)?) {
        lock.withLock {
            self.data = data
            self.response = response
            self.error = error
        }
    }

    func get() -> (Data?, HTTPURLResponse?, (any Error)?) {
        lock.withLock { (data, response, error) }
    }
}

extension Decimal {
    var rounded8: Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, 8, .plain)
        return result
    }
}
