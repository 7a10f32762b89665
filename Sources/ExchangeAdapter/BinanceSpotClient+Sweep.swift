import Foundation
import TradingWire

/// What a sweep of a symbol's order and trade history says of one client order id.
public enum SweepResult: Sendable, Equatable {
    /// The exchange lists the order after all: what became of it.
    case found(ExchangeOutcome)
    /// Neither `allOrders` nor `myTrades` over the window shows anything of the order.
    case clean
    /// The sweep could not be read in full (a refusal, a truncated page, a trade of an order the
    /// order list does not name): no proof either way.
    case inconclusive(String)
}

extension BinanceSpotClient {
    /// The most rows one history page holds (`limit`); a full page may hide more.
    static let sweepPageLimit = 1_000
    /// The most orders a sweep looks up by `orderId` (weight 4 each): those with trades in the
    /// window that `allOrders` does not list because they were created before it (a resting
    /// exit order, say).
    static let sweepLookupLimit = 10
    /// Binance's longest `startTime`..`endTime` window for `allOrders` and `myTrades`.
    static let sweepLongestWindow: Int64 = 86_400_000

    /// `GET /api/v3/allOrders` and `GET /api/v3/myTrades` (weight 20 each) for `symbol` between
    /// host times `start` and `end` (put on the exchange's clock, at most 24 hours): proof that the
    /// exchange has nothing under `clientOrderID` only if both pages are read in full, neither
    /// names the order, and every trade belongs to an order that is listed or, looked up by its
    /// `orderId` (at most `sweepLookupLimit` of them), has another client order id.
    public func sweep(symbol: String, clientOrderID: String, from start: Int64, to end: Int64) -> SweepResult {
        let startTime = exchangeTime(start)
        let endTime = min(exchangeTime(end), startTime + Self.sweepLongestWindow - 1)
        let window = [("symbol", symbol), ("startTime", "\(startTime)"), ("endTime", "\(endTime)"), ("limit", "\(Self.sweepPageLimit)")]
        guard case .answer(200, _, let orders?) = call("GET", "/api/v3/allOrders", window) else {
            return .inconclusive("allOrders could not be read")
        }
        var orderIDs: Set<Int> = []
        for order in orders {
            guard let id = order["clientOrderId"] as? String, let orderID = order["orderId"] as? Int else {
                return .inconclusive("allOrders lists an order without clientOrderId or orderId")
            }
            if id == clientOrderID { return .found(outcomeWithTrades(symbol: symbol, order: order, clientOrderID: clientOrderID)) }
            orderIDs.insert(orderID)
        }
        if orders.count >= Self.sweepPageLimit { return .inconclusive("allOrders returned a full page of \(orders.count)") }
        guard case .answer(200, _, let trades?) = call("GET", "/api/v3/myTrades", window) else {
            return .inconclusive("myTrades could not be read")
        }
        if trades.count >= Self.sweepPageLimit { return .inconclusive("myTrades returned a full page of \(trades.count)") }
        var unlisted: Set<Int> = []
        for trade in trades {
            guard let orderID = trade["orderId"] as? Int else { return .inconclusive("myTrades lists a trade without an orderId") }
            if !orderIDs.contains(orderID) { unlisted.insert(orderID) }
        }
        if unlisted.count > Self.sweepLookupLimit {
            return .inconclusive(
                "myTrades has trades of \(unlisted.count) orders allOrders does not list (more than \(Self.sweepLookupLimit) to look up)"
            )
        }
        for orderID in unlisted.sorted() {
            guard case .answer(200, let order, nil) = call("GET", "/api/v3/order", [("symbol", symbol), ("orderId", "\(orderID)")]),
                let id = order["clientOrderId"] as? String
            else { return .inconclusive("order \(orderID) of a trade in the window could not be read") }
            if id == clientOrderID { return .found(outcomeWithTrades(symbol: symbol, order: order, clientOrderID: clientOrderID)) }
        }
        return .clean
    }
}
