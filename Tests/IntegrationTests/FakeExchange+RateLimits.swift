import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Binance's spot REST rate limits as its documentation (`limits.md`, `errors.md`) describes them:
/// every request costs its endpoint's weight against `REQUEST_WEIGHT` per minute (per IP), every
/// new order counts against `ORDERS` per 10 seconds and per day (per account), each over fixed
/// windows on the exchange's clock. Every answer carries `X-MBX-USED-WEIGHT-1M`; an order's also
/// `X-MBX-ORDER-COUNT-10S` and `-1D`. A request over a limit is answered 429 (-1003 for weight,
/// -1015 for orders) with `Retry-After` (seconds until the window ends); a client that keeps
/// sending while told to wait is banned: 418 with `Retry-After` (2 minutes at first). The limits
/// are the ones exchangeInfo's `rateLimits` lists.
extension FakeExchange {
    struct RateLimits: Sendable {
        var weightPerMinute = 6_000
        var ordersPer10Seconds = 100
        var ordersPerDay = 200_000
        /// Requests sent during a 429's `Retry-After` before the ban (418).
        var violationsBeforeBan = 3
        var banSeconds = 120
    }

    struct RateState: Sendable {
        var limits = RateLimits()
        /// Window index (start, server ms) and usage.
        var weightWindow: Int64 = 0
        var weight = 0
        var orderWindow10s: Int64 = 0
        var orders10s = 0
        var orderWindowDay: Int64 = 0
        var ordersDay = 0
        /// Server ms until which a 429 told the client to wait, and the requests sent anyway.
        var retryUntil: Int64 = 0
        var violations = 0
        var bannedUntil: Int64 = 0
        var answered429 = 0
        var answered418 = 0
        /// Requests and weight per "METHOD /path" since the last `resetRateCounts`.
        var requests: [String: Int] = [:]
        var weights: [String: Int] = [:]
        /// When set, these header values replace the true ones (malformed answers).
        var headerOverrides: [String: String] = [:]
    }

    /// The weight Binance's documentation gives each endpoint the stand-in serves.
    static func requestWeight(method: HTTPRequest.Method, path: String, query: String) -> Int {
        switch (method, path) {
        case (.post, "/api/v3/order"), (.get, "/api/v3/time"): 1
        case (.get, "/api/v3/order"): 4
        case (.get, "/api/v3/myTrades"): query.contains("orderId=") ? 5 : 20
        case (.get, "/api/v3/allOrders"), (.get, "/api/v3/account"), (.get, "/api/v3/exchangeInfo"): 20
        default: 1
        }
    }

    /// Whether `request` may be served now; when it may, its weight (and order) is counted.
    /// Returns the 429/418 to answer instead, or the headers to add to the answer.
    func rateCheck(_ request: Request) -> Result<HTTPFields, Refusal> {
        let now = serverNow()
        let path = request.uri.path
        let weight = Self.requestWeight(method: request.method, path: path, query: request.uri.query ?? "")
        let isOrder = request.method == .post && path == "/api/v3/order"
        return state.withLock { state -> Result<HTTPFields, Refusal> in
            var rate = state.rate
            defer { state.rate = rate }
            let key = "\(request.method.rawValue) \(path)"
            if rate.bannedUntil > now {
                rate.answered418 += 1
                return .failure(
                    Self.tooMany(418, -1003, "Way too many requests; IP banned until \(rate.bannedUntil).", until: rate.bannedUntil, now: now)
                )
            }
            if rate.retryUntil > now {
                rate.violations += 1
                if rate.violations >= rate.limits.violationsBeforeBan {
                    rate.bannedUntil = now + Int64(rate.limits.banSeconds) * 1000
                    rate.answered418 += 1
                    return .failure(
                        Self.tooMany(418, -1003, "Way too many requests; IP banned until \(rate.bannedUntil).", until: rate.bannedUntil, now: now)
                    )
                }
                rate.answered429 += 1
                return .failure(Self.tooMany(429, -1003, "Too many requests; please back off.", until: rate.retryUntil, now: now))
            }
            rate.violations = 0
            let minute = now - now % 60_000
            if rate.weightWindow != minute { (rate.weightWindow, rate.weight) = (minute, 0) }
            let tenSeconds = now - now % 10_000
            if rate.orderWindow10s != tenSeconds { (rate.orderWindow10s, rate.orders10s) = (tenSeconds, 0) }
            let day = now - now % 86_400_000
            if rate.orderWindowDay != day { (rate.orderWindowDay, rate.ordersDay) = (day, 0) }
            if rate.weight + weight > rate.limits.weightPerMinute {
                rate.retryUntil = minute + 60_000
                rate.answered429 += 1
                return .failure(
                    Self.tooMany(
                        429,
                        -1003,
                        "Too many requests; current limit of IP is \(rate.limits.weightPerMinute) requests per minute. Please use WebSocket Streams for live updates to avoid polling the API.",
                        until: rate.retryUntil,
                        now: now
                    )
                )
            }
            if isOrder, rate.orders10s + 1 > rate.limits.ordersPer10Seconds || rate.ordersDay + 1 > rate.limits.ordersPerDay {
                let daily = rate.ordersDay + 1 > rate.limits.ordersPerDay
                rate.retryUntil = daily ? day + 86_400_000 : tenSeconds + 10_000
                rate.answered429 += 1
                let message =
                    daily
                    ? "Too many new orders; current limit is \(rate.limits.ordersPerDay) orders per DAY."
                    : "Too many new orders; current limit is \(rate.limits.ordersPer10Seconds) orders per 10 SECOND."
                return .failure(Self.tooMany(429, -1015, message, until: rate.retryUntil, now: now))
            }
            rate.weight += weight
            rate.requests[key, default: 0] += 1
            rate.weights[key, default: 0] += weight
            var fields = HTTPFields()
            fields[HTTPField.Name("X-MBX-USED-WEIGHT-1M")!] = "\(rate.weight)"
            if isOrder {
                rate.orders10s += 1
                rate.ordersDay += 1
                fields[HTTPField.Name("X-MBX-ORDER-COUNT-10S")!] = "\(rate.orders10s)"
                fields[HTTPField.Name("X-MBX-ORDER-COUNT-1D")!] = "\(rate.ordersDay)"
            }
            for (name, value) in rate.headerOverrides { fields[HTTPField.Name(name)!] = value }
            return .success(fields)
        }
    }

    /// A 429 or 418 as Binance answers it: the error body and `Retry-After` in whole seconds.
    static func tooMany(_ status: Int, _ code: Int, _ message: String, until: Int64, now: Int64) -> Refusal {
        Refusal(status: status, code: code, message: message, retryAfter: Int(max(1, (until - now + 999) / 1000)))
    }

    /// A 429 answered from a fault: the client is to wait `seconds`, and is banned if it does not.
    func startRetryPeriod(seconds: Int) {
        let now = serverNow()
        state.withLock { state in
            state.rate.retryUntil = max(state.rate.retryUntil, now + Int64(seconds) * 1000)
            state.rate.answered429 += 1
        }
    }

    /// Sets this minute's used weight (another client on the same IP used the rest).
    func setWeight(_ weight: Int) {
        let now = serverNow()
        let minute = now - now % 60_000
        state.withLock { state in
            if state.rate.weightWindow != minute { (state.rate.weightWindow, state.rate.weight) = (minute, 0) }
            state.rate.weight = max(state.rate.weight, weight)
        }
    }

    func resetRateCounts() {
        state.withLock { state in
            state.rate.requests = [:]
            state.rate.weights = [:]
        }
    }

    var rate: RateState {
        get { state.withLock { $0.rate } }
        set { state.withLock { $0.rate = newValue } }
    }

    /// The `rateLimits` exchangeInfo lists: the stand-in's own.
    var rateLimitsJSON: [[String: Any]] {
        let limits = state.withLock { $0.rate.limits }
        return [
            ["rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": limits.weightPerMinute],
            ["rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": limits.ordersPer10Seconds],
            ["rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": limits.ordersPerDay],
            ["rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61_000],
        ]
    }
}

/// Puts every request through the stand-in's rate limits (`FakeExchange.rateCheck`).
struct FakeRateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let exchange: FakeExchange

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch exchange.rateCheck(request) {
        case .failure(let refusal):
            return refusal.response
        case .success(let fields):
            var response = try await next(request, context)
            for field in fields { response.headers[field.name] = field.value }
            return response
        }
    }
}
