import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A local stand-in for Binance's spot REST API, for the live-trading tests: it checks every
/// API key, signature and timestamp, fills market orders at a fixed price, and can be told to
/// fail in the ways a real venue does.
final class FakeExchange: Sendable {
    enum Fault: Sendable, Equatable {
        case none
        /// Refuse new orders with this exchange error.
        case reject(code: Int, message: String)
        /// 500 before taking the order.
        case failBeforePlacing
        /// Take the order, then answer 500.
        case failAfterPlacing
        /// Take the order, then answer only after `seconds` (the client times out first).
        case hangAfterPlacing(seconds: Int)
        /// 429 with Retry-After.
        case rateLimit(retryAfter: Int)
        /// Take the order, then answer 500 to everything, queries included.
        case outage
        /// Take the order and answer after `seconds` (the client times out first); queries say
        /// "does not exist" for `hiddenMilliseconds` after it was taken (as the venue may until
        /// the order's timestamp plus recvWindow).
        case hideAfterPlacing(seconds: Int, hiddenMilliseconds: Int64)
        /// Take the order, execute half of it, and end it EXPIRED.
        case expireHalfExecuted
    }

    struct Placed: Sendable {
        var orderID: Int
        var symbol: String
        var side: String
        var quote: Decimal
        var quantity: Decimal
        /// Unix ms before which queries say the order does not exist.
        var hiddenUntil: Int64 = 0
        /// EXPIRED after executing `quantity` (of twice as much asked).
        var expired = false
        /// When the matching engine took it (the stand-in's server time, Unix ms).
        var time: Int64 = 0
        /// When it traded, if not when it was taken (a resting order filled later).
        var tradeTime: Int64?
    }

    struct State: Sendable {
        var fault = Fault.none
        var placed: [String: Placed] = [:]
        var orderCalls = 0
        var badSignatures = 0
        var staleTimestamps = 0
        var nextOrderID = 1000
        /// The asset trades charge their commission in: `USDT` (the quote, 0.1 % of the quote
        /// amount), the base asset (0.1 % of the quantity) or anything else (`BNB`: 0.0005 a trade).
        var commissionAsset = "USDT"
        /// The account (`FakeExchange+Account.swift`): free balances by asset, trades, faults.
        var balances: [String: Decimal] = ["USDT": 100_000]
        var accountFault = AccountFault.none
        var accountCalls = 0
        /// The stand-in's clock minus the host's, ms (`GET /api/v3/time` and the timestamp checks).
        var clockSkewMilliseconds: Int64 = 0
        /// How queries are answered before they are answered truly (`FakeExchange+OrderTruth.swift`).
        var queryFault = QueryFault.none
        var timeCalls = 0
        var queryCalls = 0
        /// The symbols exchangeInfo lists and the filters orders must pass (FakeExchange+ExchangeInfo.swift).
        var symbols = FakeExchange.defaultSymbols
        /// When set, exchangeInfo answers this body as it is (a malformed answer); its calls are counted.
        var exchangeInfoBody: String?
        var exchangeInfoCalls = 0
        /// A symbol's fill price when not `price`.
        var prices: [String: Decimal] = [:]
        /// How each placed order was sized: `quoteOrderQty` or `quantity`.
        var sizedBy: [String: String] = [:]
        /// The rate limits and their counts (`FakeExchange+RateLimits.swift`).
        var rate = RateState()
    }

    let apiKey = "fake-api-key-7f3a"
    let secret = "fake-api-secret-9c1e"
    let price: Decimal = 100
    let port = freePort()
    let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var fault: Fault {
        get { state.withLock { $0.fault } }
        set { state.withLock { $0.fault = newValue } }
    }

    func placedCount(_ clientOrderID: String) -> Int { state.withLock { $0.placed[clientOrderID] == nil ? 0 : 1 } }

    func price(of symbol: String) -> Decimal { state.withLock { $0.prices[symbol] } ?? price }

    func start() async throws {
        let router = Router()
        router.add(middleware: FakeRateLimitMiddleware(exchange: self))
        router.post("/api/v3/order") { request, _ in try self.placeOrder(request) }
        router.get("/api/v3/order") { request, _ in try self.faultedQuery(request) { try self.queryOrderByEitherID($0) } }
        router.get("/api/v3/myTrades") { request, _ in try self.faultedQuery(request) { try self.myTrades($0) } }
        registerOrderTruthRoutes(router)
        router.get("/api/v3/exchangeInfo") { request, _ in self.exchangeInfo(request) }
        router.get("/api/v3/account") { request, _ in try self.account(request) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v3/order")!)) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() { task.withLock { $0?.cancel() } }

    // MARK: endpoints

    /// The checks every signed endpoint makes; returns the parameters.
    func authenticate(_ request: Request) throws -> [String: String] {
        guard request.headers[HTTPField.Name("X-MBX-APIKEY")!] == apiKey else {
            throw Refusal(status: 401, code: -2015, message: "Invalid API-key, IP, or permissions for action.")
        }
        let query = request.uri.query ?? ""
        guard let range = query.range(of: "&signature=") else {
            throw Refusal(status: 400, code: -1102, message: "Mandatory parameter 'signature' was not sent.")
        }
        let payload = String(query[..<range.lowerBound])
        let signature = String(query[range.upperBound...])
        let expected = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        guard signature == expected else {
            state.withLock { $0.badSignatures += 1 }
            throw Refusal(status: 400, code: -1022, message: "Signature for this request is not valid.")
        }
        var parameters: [String: String] = [:]
        for pair in payload.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { parameters[parts[0]] = parts[1].removingPercentEncoding ?? parts[1] }
        }
        let now = serverNow()
        guard let timestamp = parameters["timestamp"].flatMap(Int64.init), let window = parameters["recvWindow"].flatMap(Int64.init),
            window <= 60_000, timestamp <= now + 1_000, now - timestamp <= window
        else {
            state.withLock { $0.staleTimestamps += 1 }
            throw Refusal(status: 400, code: -1021, message: "Timestamp for this request is outside of the recvWindow.")
        }
        return parameters
    }

    private func placeOrder(_ request: Request) throws -> Response {
        let parameters: [String: String]
        do { parameters = try authenticate(request) } catch let refusal as Refusal { return refusal.response }
        let fault = state.withLock { state -> Fault in
            state.orderCalls += 1
            return state.fault
        }
        switch fault {
        case .rateLimit(let seconds):
            startRetryPeriod(seconds: seconds)
            return Refusal(
                status: 429,
                code: -1003,
                message: "Too many requests; current limit of IP is 6000 requests per minute.",
                retryAfter: seconds
            )
            .response
        case .reject(let code, let message):
            return Refusal(status: 400, code: code, message: message).response
        case .failBeforePlacing:
            return Response(status: .internalServerError)
        default:
            break
        }
        guard parameters["type"] == "MARKET", let symbol = parameters["symbol"], let side = parameters["side"],
            let clientOrderID = parameters["newClientOrderId"], let size = Self.marketSize(parameters)
        else {
            return Refusal(status: 400, code: -1102, message: "A mandatory parameter was not sent.").response
        }
        let price = price(of: symbol)
        if let refusal = filterRefusal(symbol: symbol, quote: size.quote, quantity: size.quantity, price: price) { return refusal.response }
        let quote = size.quote ?? (size.quantity ?? 0) * price
        let placed: Placed? = state.withLock { state in
            if state.placed[clientOrderID] != nil { return nil }
            var order = Placed(orderID: state.nextOrderID, symbol: symbol, side: side, quote: quote, quantity: size.quantity ?? quote / price)
            order.time = Int64(Date().timeIntervalSince1970 * 1000) + state.clockSkewMilliseconds
            state.sizedBy[clientOrderID] = size.quote == nil ? "quantity" : "quoteOrderQty"
            if case .hideAfterPlacing(_, let hidden) = fault { order.hiddenUntil = Int64(Date().timeIntervalSince1970 * 1000) + hidden }
            if fault == .expireHalfExecuted {
                order.quote = quote / 2
                order.quantity = quote / 2 / price
                order.expired = true
            }
            state.nextOrderID += 1
            state.placed[clientOrderID] = order
            return order
        }
        guard let placed else { return Refusal(status: 400, code: -2010, message: "Duplicate order sent.").response }
        settleBalances(clientOrderID: clientOrderID, placed)
        switch fault {
        case .failAfterPlacing, .outage:
            return Response(status: .internalServerError)
        case .hangAfterPlacing(let seconds), .hideAfterPlacing(let seconds, _):
            Thread.sleep(forTimeInterval: Double(seconds))
        default:
            break
        }
        var body = orderJSON(clientOrderID, placed)
        body["fills"] = [tradeJSON(placed)]
        return json(body)
    }

    func queryOrder(_ request: Request) throws -> Response {
        let parameters: [String: String]
        do { parameters = try authenticate(request) } catch let refusal as Refusal { return refusal.response }
        if fault == .outage { return Response(status: .internalServerError) }
        guard let id = parameters["origClientOrderId"], let placed = state.withLock({ $0.placed[id] }),
            placed.hiddenUntil <= Int64(Date().timeIntervalSince1970 * 1000)
        else {
            return Refusal(status: 400, code: -2013, message: "Order does not exist.").response
        }
        return json(orderJSON(id, placed))
    }

    // MARK: JSON

    func orderJSON(_ clientOrderID: String, _ placed: Placed) -> [String: Any] {
        [
            "symbol": placed.symbol, "orderId": placed.orderID, "clientOrderId": clientOrderID, "transactTime": 1,
            "price": "0.00000000", "origQty": "\(placed.expired ? placed.quantity * 2 : placed.quantity)", "executedQty": "\(placed.quantity)",
            "cummulativeQuoteQty": "\(placed.quote)", "status": placed.expired ? "EXPIRED" : "FILLED", "type": "MARKET", "side": placed.side,
        ]
    }

    func tradeJSON(_ placed: Placed) -> [String: Any] {
        let asset = state.withLock { $0.commissionAsset }
        let commission: Decimal =
            switch asset {
            case "USDT": placed.quote / 1000
            case placed.symbol.replacingOccurrences(of: "USDT", with: ""): placed.quantity / 1000
            default: Decimal(string: "0.0005")!
            }
        return [
            "price": "\(price(of: placed.symbol))", "qty": "\(placed.quantity)", "commission": "\(commission)", "commissionAsset": asset,
            "orderId": placed.orderID,
        ]
    }

    func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct Refusal: Error {
        var status: Int
        var code: Int
        var message: String
        /// `Retry-After` (seconds), for a 429 or 418.
        var retryAfter: Int?

        var response: Response {
            let data = (try? JSONSerialization.data(withJSONObject: ["code": code, "msg": message])) ?? Data()
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
