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
    /// How close to the exchange's rate limits to go (`ExchangeRateBudget`).
    public var rate: ExchangeRateSettings

    public init(
        baseURL: String,
        credentials: ExchangeCredentials,
        receiveWindowMilliseconds: Int = 5_000,
        timeoutMilliseconds: Int = 2_000,
        rate: ExchangeRateSettings = ExchangeRateSettings()
    ) {
        self.rate = rate
        self.baseURL = baseURL
        self.credentials = credentials
        self.receiveWindowMilliseconds = receiveWindowMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// How a MARKET order is sized.
public enum MarketOrderSize: Sendable, Equatable {
    /// `quoteOrderQty`: this amount of the quote asset.
    case quote(Decimal)
    /// `quantity`: this quantity of the base asset (a multiple of the symbol's step).
    case base(Decimal)
}

/// What became of an order at the exchange.
public enum ExchangeOutcome: Sendable, Equatable {
    /// Filled: the exchange's own figures (average price, quantity, quote amount, and the
    /// commission summed by the asset it was charged in: the quote asset, the base asset or BNB).
    case filled(price: Decimal, quantity: Decimal, quoteAmount: Decimal, commissions: [String: Decimal])
    /// Refused by the exchange (an order refused when placed, or one the exchange shows ended
    /// with nothing executed): nothing was traded. Never the refusal of a query.
    case rejected(code: Int, message: String)
    /// The exchange has no order under that client order id.
    case notFound
    /// Accepted but not (yet) filled: `status` as the exchange says.
    case open(status: String)
    /// Throttled by the exchange (429/418): nothing was placed; try again after `retryAfter` seconds.
    case rateLimited(retryAfter: Int)
    /// Not sent: the rate budget (usage near a limit, or a back-off in force) holds new orders
    /// for `retryAfter` seconds more.
    case overBudget(retryAfter: Int, reason: String)
    /// No answer that settles it (timeout, 5xx, unreadable): the order may or may not exist.
    case unknown(reason: String)
}

/// Binance spot REST: market orders sized by quote amount, order query by client order id,
/// HMAC-SHA256 signed with timestamp and `recvWindow` on the exchange's clock (the offset
/// `syncClock` measured). It never re-sends an order: a call without a clear answer is
/// `.unknown`, to be settled by `queryOrder`; a query refused with -1021 is asked once more after
/// the clock is measured again.
public final class BinanceSpotClient: Sendable {
    let configuration: ExchangeConfiguration
    /// The usage the exchange reports, its limits and the back-off in force (`ExchangeRateBudget`).
    public let rateBudget: ExchangeRateBudget
    /// The measured offset to the exchange's clock (`BinanceSpotClient+Clock.swift`).
    let clockState = Mutex(ExchangeClockState())

    public init(configuration: ExchangeConfiguration) {
        self.configuration = configuration
        rateBudget = ExchangeRateBudget(settings: configuration.rate)
    }

    /// `POST /api/v3/order`: a MARKET order for `quoteAmount` of the quote currency.
    ///
    /// Signed with `timestamp` (the order's reservation time) when given: the exchange refuses
    /// the order once `timestamp + recvWindow` has passed, so it can exist there only if it was
    /// placed before then (see `provablyAbsent`).
    public func placeMarketOrder(symbol: String, side: Side, quoteAmount: Decimal, clientOrderID: String, timestamp: Int64? = nil) -> ExchangeOutcome
    {
        placeMarketOrder(symbol: symbol, side: side, size: .quote(quoteAmount), clientOrderID: clientOrderID, timestamp: timestamp)
    }

    /// `POST /api/v3/order`: a MARKET order sized by quote amount or by base quantity.
    public func placeMarketOrder(
        symbol: String,
        side: Side,
        size: MarketOrderSize,
        clientOrderID: String,
        timestamp: Int64? = nil
    ) -> ExchangeOutcome {
        let sizing =
            switch size {
            case .quote(let amount): ("quoteOrderQty", "\(amount)")
            case .base(let quantity): ("quantity", "\(quantity)")
            }
        let parameters = [
            ("symbol", symbol), ("side", side == .buy ? "BUY" : "SELL"), ("type", "MARKET"), sizing,
            ("newClientOrderId", clientOrderID), ("newOrderRespType", "FULL"),
        ]
        switch call("POST", "/api/v3/order", parameters, timestamp: timestamp, purpose: .order) {
        case .answer(200, let object, _):
            return Self.outcome(ofOrder: object, trades: object["fills"] as? [[String: Any]], clientOrderID: clientOrderID)
        case .answer(let status, let object, _):
            return refusal(status: status, object: object)
        case .rateLimited(let refusal):
            let seconds = refusal.seconds(at: Self.hostNow())
            return refusal.fromExchange ? .rateLimited(retryAfter: seconds) : .overBudget(retryAfter: seconds, reason: refusal.reason)
        case .failed(let reason):
            return .unknown(reason: reason)
        }
    }

    /// `GET /api/v3/order` by client order id (weight 4), and the order's trades for its
    /// commission (weight 5). Only -2013 says the exchange has no such order; any other refusal
    /// (-1021, -1022, -2014, -2015, 401, 403, a body that cannot be read) is `.unknown`, and so is
    /// a query the rate budget holds (`purpose`: the reconciliation's share, or an order's).
    public func queryOrder(symbol: String, clientOrderID: String, purpose: RequestPurpose = .reconcile) -> ExchangeOutcome {
        switch call("GET", "/api/v3/order", [("symbol", symbol), ("origClientOrderId", clientOrderID)], purpose: purpose) {
        case .answer(200, let object, nil):
            return outcomeWithTrades(symbol: symbol, order: object, clientOrderID: clientOrderID, purpose: purpose)
        case .answer(let status, let object, nil) where (400...499).contains(status) && object["code"] as? Int == -2013:
            return .notFound
        case .answer(let status, let object, _):
            let code = (object["code"] as? Int).map { " code \($0)" } ?? ""
            return .unknown(reason: "the query was refused (HTTP \(status)\(code)): no proof either way")
        case .rateLimited(let refusal):
            return .unknown(reason: "not asked: \(refusal.reason)")
        case .failed(let reason):
            return .unknown(reason: reason)
        }
    }

    /// The outcome of an order the exchange listed, with its trades when it executed something.
    func outcomeWithTrades(
        symbol: String,
        order object: [String: Any],
        clientOrderID: String,
        purpose: RequestPurpose = .reconcile
    ) -> ExchangeOutcome {
        let outcome = Self.outcome(ofOrder: object, trades: nil, clientOrderID: clientOrderID)
        guard case .filled = outcome else { return outcome }
        guard let orderID = object["orderId"] as? Int else { return .unknown(reason: "a filled order without an orderId") }
        switch call("GET", "/api/v3/myTrades", [("symbol", symbol), ("orderId", "\(orderID)")], purpose: purpose) {
        case .answer(200, _, let array?):
            return Self.outcome(ofOrder: object, trades: array, clientOrderID: clientOrderID)
        default:
            return .unknown(reason: "the order is filled but its trades could not be read")
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
    /// Statuses of an order that may still trade.
    static let openStatuses: Set<String> = ["NEW", "PENDING_NEW", "PARTIALLY_FILLED", "PENDING_CANCEL"]

    /// The fill from an order (and, when given, its trades: price and commission per trade). An
    /// order that ended (EXPIRED, CANCELED, ...) after a partial execution is the fill of the
    /// executed part; with nothing executed it is a rejection. An answer that cannot be read
    /// whole (another order's id, an unknown status, a quantity that is not a plain non-negative
    /// decimal string, trades that do not add up) is `.unknown`: never a fill or a rejection.
    static func outcome(ofOrder object: [String: Any], trades: [[String: Any]]?, clientOrderID: String) -> ExchangeOutcome {
        guard object["clientOrderId"] as? String == clientOrderID else { return .unknown(reason: "the answer names another client order id") }
        guard let status = object["status"] as? String, finalStatuses.contains(status) || openStatuses.contains(status) || status == "FILLED" else {
            return .unknown(reason: "unknown order status \(String(describing: object["status"]).prefix(40))")
        }
        guard let executed = amount(object["executedQty"]) else { return .unknown(reason: "executedQty is not a non-negative decimal") }
        guard status == "FILLED" || (finalStatuses.contains(status) && executed > 0) else {
            if finalStatuses.contains(status) {
                return .rejected(code: 0, message: "order \(status.lowercased()) by the exchange")
            }
            return .open(status: status)
        }
        guard let quote = amount(object["cummulativeQuoteQty"]), executed > 0, quote > 0 else {
            return .unknown(reason: "a filled order without quantities")
        }
        var commissions: [String: Decimal] = [:]
        var traded: Decimal = 0
        for trade in trades ?? [] {
            guard let quantity = amount(trade["qty"]), let commission = amount(trade["commission"]) else {
                return .unknown(reason: "a trade whose qty or commission is not a non-negative decimal")
            }
            traded += quantity
            guard commission != 0 else { continue }
            let asset = (trade["commissionAsset"] as? String).map { String($0.prefix(12)) } ?? ""
            commissions[asset, default: 0] += commission
        }
        if let trades, !trades.isEmpty, traded != executed {
            return .unknown(reason: "the trades add up to \(traded), the order says \(executed) executed")
        }
        let price = (quote / executed).rounded8
        return .filled(price: price, quantity: executed, quoteAmount: quote, commissions: commissions)
    }

    /// A quantity as Binance writes it: a string of digits with at most one decimal point, no
    /// sign, no exponent. Anything else (a number, "two", "-2", "1e3") is nil.
    static func amount(_ value: Any?) -> Decimal? {
        guard let text = value as? String, !text.isEmpty, text.utf8.count <= 40 else { return nil }
        var points = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") { points += 1 } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return nil }
        }
        guard points <= 1, text != "." else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    // MARK: HTTP

    enum CallResult {
        case answer(Int, [String: Any], [[String: Any]]? = nil)
        /// Not sent (the rate budget), or a 429/418.
        case rateLimited(ExchangeRateRefusal)
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

    /// A signed call on the exchange's clock (`timestamp`, host time, defaults to now). A -1021
    /// refusal has the clock measured again; a GET (a query, safe to repeat) is then sent once
    /// more, an order never is.
    func call(
        _ method: String,
        _ path: String,
        _ parameters: [(String, String)],
        timestamp: Int64? = nil,
        purpose: RequestPurpose = .reconcile
    ) -> CallResult {
        func signed() -> String {
            path + "?"
                + Self.signedQuery(
                    parameters,
                    secret: configuration.credentials.secret,
                    timestamp: exchangeTime(timestamp ?? Self.hostNow()),
                    receiveWindow: configuration.receiveWindowMilliseconds
                )
        }
        let result = send(method, signed(), purpose: purpose)
        guard Self.isClockRefusal(result) else { return result }
        syncClock()
        return method == "GET" ? send(method, signed(), purpose: purpose) : result
    }

    /// One HTTP call to `pathAndQuery`, signed or not.
    func send(_ method: String, _ pathAndQuery: String, purpose: RequestPurpose) -> CallResult {
        guard let url = URL(string: configuration.baseURL + pathAndQuery) else { return .failed("bad exchange URL") }
        var request = URLRequest(url: url, timeoutInterval: Double(configuration.timeoutMilliseconds) / 1000)
        request.httpMethod = method
        request.setValue(configuration.credentials.apiKey, forHTTPHeaderField: "X-MBX-APIKEY")
        switch send(request, purpose: purpose) {
        case .failed(let reason): return .failed(reason)
        case .rateLimited(let refusal): return .rateLimited(refusal)
        case .response(let status, let data):
            let parsed = data.flatMap { try? JSONSerialization.jsonObject(with: $0) }
            if let array = parsed as? [[String: Any]] { return .answer(status, [:], array) }
            if let object = parsed as? [String: Any] { return .answer(status, object) }
            if (500...599).contains(status) { return .answer(status, [:]) }
            return .failed("unreadable answer (HTTP \(status))")
        }
    }

    enum RawAnswer {
        case response(Int, Data?)
        case rateLimited(ExchangeRateRefusal)
        case failed(String)
    }

    /// Binance's request weight of an endpoint (spot REST documentation).
    static func weight(method: String, path: String, query: String) -> Int {
        switch (method, path) {
        case ("POST", "/api/v3/order"), ("GET", "/api/v3/time"): 1
        case ("GET", "/api/v3/order"): 4
        case ("GET", "/api/v3/myTrades"): query.contains("orderId=") ? 5 : 20
        case ("GET", "/api/v3/allOrders"), ("GET", "/api/v3/account"), ("GET", "/api/v3/exchangeInfo"): 20
        default: 1
        }
    }

    /// One HTTP exchange within the timeout, if the rate budget lets it go: every answer's usage
    /// headers are read, and a 429/418 starts the back-off its `Retry-After` asks for.
    func send(_ request: URLRequest, purpose: RequestPurpose) -> RawAnswer {
        let method = request.httpMethod ?? "GET"
        let weight = Self.weight(method: method, path: request.url?.path ?? "", query: request.url?.query ?? "")
        let isOrder = method == "POST" && request.url?.path == "/api/v3/order"
        let sent = Self.hostNow()
        if let refusal = rateBudget.admit(purpose, weight: weight, orders: isOrder ? 1 : 0, now: sent, exchangeNow: exchangeTime(sent)) {
            return .rateLimited(refusal)
        }
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
        let now = Self.hostNow()
        let header: (String) -> String? = { response.value(forHTTPHeaderField: $0) }
        if let refusal = rateBudget.observe(status: response.statusCode, header: header, now: now, exchangeNow: exchangeTime(now)) {
            return .rateLimited(refusal)
        }
        return .response(response.statusCode, data)
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
    var rounded8: Decimal { rounded(places: 8, .plain) }
}
