import Foundation
import TradingWire

/// What the exchange said about the account, or why nothing usable came back.
public enum AccountAnswer: Sendable, Equatable {
    case account(ExchangeAccount)
    /// No usable answer (an error, a timeout, truncated JSON, a balance that is not a number):
    /// the reconciliation's state becomes unknown, the book stays as it is.
    case unknown(reason: String)
}

/// The account sweeps: `GET /api/v3/account` (weight 20) for the balances, `GET /api/v3/myTrades`
/// (weight 20) and `GET /api/v3/allOrders` (weight 20) for the trades and the orders they belong to.
extension BinanceSpotClient {
    /// The balances (`free`, `locked`) of `assets`; an asset the answer does not list holds
    /// nothing. Every amount must be a plain decimal string: anything else makes the answer unusable.
    public func account(assets: [String]) -> AccountAnswer {
        switch call("GET", "/api/v3/account", []) {
        case .answer(200, let object, nil):
            return Self.account(from: object, assets: Set(assets), now: Int64(Date().timeIntervalSince1970 * 1000))
        case .answer(let status, let object, _):
            return .unknown(reason: "GET /api/v3/account answered HTTP \(status)\((object["code"] as? Int).map { " code \($0)" } ?? "")")
        case .rateLimited(let refusal):
            return .unknown(reason: "GET /api/v3/account not asked: \(refusal.reason)")
        case .failed(let reason):
            return .unknown(reason: "GET /api/v3/account: \(reason)")
        }
    }

    static func account(from object: [String: Any], assets: Set<String>, now: Int64) -> AccountAnswer {
        guard let entries = object["balances"] as? [[String: Any]] else { return .unknown(reason: "the account answer has no balances list") }
        var balances: [ExchangeBalance] = []
        for entry in entries {
            guard let asset = entry["asset"] as? String else { return .unknown(reason: "a balance without an asset") }
            guard assets.isEmpty || assets.contains(asset) else { continue }
            guard let free = strictDecimal(entry["free"]), let locked = strictDecimal(entry["locked"]) else {
                return .unknown(
                    reason: "\(asset)'s balance is not a decimal (free \(entry["free"] ?? "absent"), locked \(entry["locked"] ?? "absent"))"
                )
            }
            balances.append(ExchangeBalance(asset: asset, free: free, locked: locked))
        }
        let updated = (object["updateTime"] as? Int).map(Int64.init) ?? now
        return .account(ExchangeAccount(balances: balances, takenAt: updated))
    }

    /// The newest `limit` trades of `symbol`, each with the client order id of its order when the
    /// exchange's order list (as long) names it, or why no usable answer came.
    public func trades(symbol: String, limit: Int) -> Result<[ExchangeTrade], AccountSweepError> {
        let parameters = [("symbol", symbol), ("limit", "\(limit)")]
        guard case .answer(200, _, let trades?) = call("GET", "/api/v3/myTrades", parameters) else {
            return .failure(AccountSweepError(reason: "GET /api/v3/myTrades gave no usable answer"))
        }
        guard case .answer(200, _, let orders?) = call("GET", "/api/v3/allOrders", parameters) else {
            return .failure(AccountSweepError(reason: "GET /api/v3/allOrders gave no usable answer"))
        }
        var clientIDs: [Int64: String] = [:]
        for order in orders {
            if let id = Self.integer(order["orderId"]), let client = order["clientOrderId"] as? String { clientIDs[id] = client }
        }
        var result: [ExchangeTrade] = []
        for trade in trades {
            guard let id = Self.integer(trade["id"]), let orderID = Self.integer(trade["orderId"]), let price = strictDecimal(trade["price"]),
                let quantity = strictDecimal(trade["qty"]), let quote = strictDecimal(trade["quoteQty"]),
                let commission = strictDecimal(trade["commission"]), let time = Self.integer(trade["time"]), let isBuyer = trade["isBuyer"] as? Bool
            else { return .failure(AccountSweepError(reason: "a trade of \(symbol) is unreadable")) }
            result.append(
                ExchangeTrade(
                    symbol: symbol,
                    id: id,
                    orderId: orderID,
                    clientOrderId: clientIDs[orderID],
                    price: price,
                    qty: quantity,
                    quoteQty: quote,
                    commission: commission,
                    commissionAsset: (trade["commissionAsset"] as? String) ?? "",
                    time: time,
                    isBuyer: isBuyer
                )
            )
        }
        return .success(result)
    }

    static func integer(_ value: Any?) -> Int64? {
        if let number = value as? Int { return Int64(number) }
        if let number = value as? Int64 { return number }
        return nil
    }
}

/// A sweep that gave no usable answer.
public struct AccountSweepError: Error, Sendable, Equatable {
    public var reason: String
}

/// A decimal written as Binance writes amounts (`"0.00100000"`): optional minus, digits, an
/// optional fraction. Anything else (a word, an exponent, a JSON number, trailing text) is nil,
/// where `Decimal(string:)` would read a prefix.
func strictDecimal(_ value: Any?) -> Decimal? {
    guard let text = value as? String, !text.isEmpty, text.count <= 40 else { return nil }
    var digits = 0
    var point = false
    for (index, byte) in text.utf8.enumerated() {
        switch byte {
        case UInt8(ascii: "-") where index == 0: continue
        case UInt8(ascii: ".") where !point && digits > 0: point = true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
        default: return nil
        }
    }
    guard digits > 0, text.utf8.last != UInt8(ascii: ".") else { return nil }
    return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
}
