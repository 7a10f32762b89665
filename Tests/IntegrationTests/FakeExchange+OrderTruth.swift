import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The stand-in's clock and its order history, as Binance documents them:
///
/// - `GET /api/v3/time` (weight 1) answers `{"serverTime": ms}` from the stand-in's own clock,
///   which may be skewed from the host's (`State.clockSkewMilliseconds`). Signed requests are
///   refused with -1021 when `timestamp > serverTime + 1000` or `serverTime - timestamp > recvWindow`.
/// - `GET /api/v3/allOrders` (weight 20): `symbol`, optional `orderId`, `startTime`, `endTime`
///   (at most 24 hours apart, else -1127), `limit` (default 500, at most 1000), oldest first.
/// - `GET /api/v3/myTrades` (weight 20, 5 with `orderId`): `symbol`, `orderId` or `startTime` /
///   `endTime` (at most 24 hours apart), `limit` (default 500, at most 1000), oldest first.
///
/// An order hidden from `GET /api/v3/order` (late visibility: the matching engine has not shown
/// it yet) is hidden from both histories too.
extension FakeExchange {
    /// How the query endpoints (`GET /api/v3/order`, `allOrders`, `myTrades`) answer before they
    /// answer truly. Each faulted answer uses up one of `count`.
    enum QueryFault: Sendable, Equatable {
        case none
        /// Refuse with this HTTP status and Binance code (-1021, -2015 with 401, ...); a nil code
        /// is a web application firewall's HTML page (403 with no JSON).
        case refuse(count: Int, status: Int, code: Int?)
        /// Answer 200 with this body (truncated JSON, a string for a number, ...).
        case malformed(count: Int, body: String)
    }

    /// The stand-in's clock, Unix ms.
    func serverNow() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000) + state.withLock { $0.clockSkewMilliseconds }
    }

    func registerOrderTruthRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/api/v3/time") { _, _ in
            self.state.withLock { $0.timeCalls += 1 }
            return self.json(["serverTime": self.serverNow()])
        }
        router.get("/api/v3/allOrders") { request, _ in try self.faultedQuery(request) { try self.allOrders($0) } }
    }

    /// Counts the query and answers the injected fault, if one is left; else `answer`.
    func faultedQuery(_ request: Request, _ answer: (Request) throws -> Response) throws -> Response {
        let fault = state.withLock { state -> QueryFault in
            state.queryCalls += 1
            switch state.queryFault {
            case .none: return .none
            case .refuse(let count, let status, let code):
                state.queryFault = count > 1 ? .refuse(count: count - 1, status: status, code: code) : .none
                return .refuse(count: count, status: status, code: code)
            case .malformed(let count, let body):
                state.queryFault = count > 1 ? .malformed(count: count - 1, body: body) : .none
                return .malformed(count: count, body: body)
            }
        }
        switch fault {
        case .none:
            return try answer(request)
        case .refuse(_, let status, let code?):
            let message =
                code == -1021 ? "Timestamp for this request is outside of the recvWindow." : "Invalid API-key, IP, or permissions for action."
            return Refusal(status: status, code: code, message: message).response
        case .refuse(_, let status, nil):
            return Response(
                status: .init(code: status),
                headers: [.contentType: "text/html"],
                body: .init(byteBuffer: ByteBuffer(string: "<html><body><h1>403 Forbidden</h1></body></html>"))
            )
        case .malformed(_, let body):
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// The time window and limit of a history query, or the refusal Binance answers.
    private func window(_ parameters: [String: String]) throws -> (start: Int64?, end: Int64?, limit: Int) {
        func time(_ name: String) throws -> Int64? {
            guard let text = parameters[name] else { return nil }
            guard let value = Int64(text) else {
                throw Refusal(status: 400, code: -1100, message: "Illegal characters found in parameter '\(name)'.")
            }
            return value
        }
        let start = try time("startTime")
        let end = try time("endTime")
        if let start, let end, end - start > 86_400_000 {
            throw Refusal(status: 400, code: -1127, message: "More than 24 hours between startTime and endTime.")
        }
        let limit = Int(parameters["limit"] ?? "500") ?? -1
        guard (1...1_000).contains(limit) else { throw Refusal(status: 400, code: -1130, message: "Data sent for parameter 'limit' is not valid.") }
        return (start, end, limit)
    }

    /// `GET /api/v3/order` by `orderId` (Binance takes it or `origClientOrderId`); by client order id otherwise.
    func queryOrderByEitherID(_ request: Request) throws -> Response {
        let parameters: [String: String]
        do { parameters = try authenticate(request) } catch let refusal as Refusal { return refusal.response }
        guard let orderID = parameters["orderId"].flatMap(Int.init) else { return try queryOrder(request) }
        if fault == .outage { return Response(status: .internalServerError) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard let (id, placed) = state.withLock({ $0.placed.first { $0.value.orderID == orderID && $0.value.hiddenUntil <= now } }) else {
            return Refusal(status: 400, code: -2013, message: "Order does not exist.").response
        }
        return json(orderJSON(id, placed))
    }

    /// The orders of `symbol` the matching engine shows, oldest first, within the window (by
    /// `time`, when the engine took them; `myTrades` windows by when they traded).
    private func visibleOrders(_ parameters: [String: String], at time: (Placed) -> Int64 = { $0.time }) throws -> [(String, Placed)] {
        guard let symbol = parameters["symbol"] else {
            throw Refusal(status: 400, code: -1102, message: "Mandatory parameter 'symbol' was not sent.")
        }
        let (start, end, limit) = try window(parameters)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let fromID = parameters["orderId"].flatMap(Int.init)
        return state.withLock { $0.placed }
            .filter { _, placed in
                placed.symbol == symbol && placed.hiddenUntil <= now && start.map { time(placed) >= $0 } ?? true
                    && end.map { time(placed) <= $0 } ?? true && fromID.map { placed.orderID >= $0 } ?? true
            }
            .sorted { $0.value.orderID < $1.value.orderID }
            .prefix(limit).map { ($0.key, $0.value) }
    }

    func allOrders(_ request: Request) throws -> Response {
        do {
            let parameters = try authenticate(request)
            if fault == .outage { return Response(status: .internalServerError) }
            let list = try visibleOrders(parameters).map { id, placed in
                var order = orderJSON(id, placed)
                order["time"] = placed.time
                order["updateTime"] = placed.time
                return order
            }
            return array(list)
        } catch let refusal as Refusal {
            return refusal.response
        }
    }

    func myTrades(_ request: Request) throws -> Response {
        do {
            var parameters = try authenticate(request)
            if fault == .outage { return Response(status: .internalServerError) }
            let orderID = parameters.removeValue(forKey: "orderId").flatMap(Int.init)
            let trades = try visibleOrders(parameters, at: { $0.tradeTime ?? $0.time }).filter { orderID == nil || $0.1.orderID == orderID }.map {
                _,
                placed in
                var trade = tradeJSON(placed)
                trade["symbol"] = placed.symbol
                trade["id"] = placed.orderID * 10
                trade["time"] = placed.tradeTime ?? placed.time
                trade["quoteQty"] = "\(placed.quote)"
                trade["isBuyer"] = placed.side == "BUY"
                return trade
            }
            return array(trades)
        } catch let refusal as Refusal {
            return refusal.response
        }
    }

    private func array(_ list: [[String: Any]]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: list)) ?? Data("[]".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
