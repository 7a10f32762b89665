import Foundation
import Hummingbird
import NIOCore

/// The stand-in's account, written from Binance's documentation of `GET /api/v3/account`
/// (weight 20: `balances: [{asset, free, locked}]`, amounts as decimal strings, `updateTime`),
/// `GET /api/v3/myTrades` (weight 20: `symbol, id, orderId, orderListId, price, qty, quoteQty,
/// commission, commissionAsset, time, isBuyer, isMaker, isBestMatch`) and `GET /api/v3/allOrders`
/// (weight 20: each order with its `clientOrderId`; both served by `FakeExchange+OrderTruth.swift`
/// from the placed orders). Fills move the balances; a trade made by hand in the exchange's app
/// and a deposit are fault modes, and so are broken answers.
extension FakeExchange {
    /// How `GET /api/v3/account` misbehaves.
    enum AccountFault: Sendable, Equatable {
        case none
        /// The body cut off mid-way.
        case truncated
        /// `free` is a word, not a decimal string.
        case wordForNumber
        /// A negative `free` balance of USDT.
        case negativeBalance
        /// HTTP 500.
        case serverError
    }

    /// The assets of a symbol of this stand-in (every one ends in USDT).
    static func assets(_ symbol: String) -> (base: String, quote: String) {
        (String(symbol.dropLast(4)), "USDT")
    }

    /// Moves the balances by an order of ours that filled (the executed part), the commission
    /// taken in the asset trades charge it in (as `tradeJSON` reports it).
    func settleBalances(clientOrderID: String, _ placed: Placed) {
        state.withLock { state in
            let base = Self.assets(placed.symbol).base
            let commission: Decimal =
                switch state.commissionAsset {
                case "USDT": placed.quote / 1000
                case base: placed.quantity / 1000
                default: Decimal(string: "0.0005")!
                }
            Self.move(&state, placed, commission: commission, in: state.commissionAsset)
        }
    }

    /// A trade made by hand in the exchange's app: the balances move, and `myTrades` and
    /// `allOrders` list it under an order whose client order id is the app's (`web_...`).
    func tradeByHand(symbol: String, buy: Bool, quantity: Decimal) {
        state.withLock { state in
            let orderID = state.nextOrderID
            state.nextOrderID += 1
            let placed = Placed(
                orderID: orderID,
                symbol: symbol,
                side: buy ? "BUY" : "SELL",
                quote: quantity * price,
                quantity: quantity,
                time: Int64(Date().timeIntervalSince1970 * 1000)
            )
            state.placed["web_\(orderID)"] = placed
            Self.move(&state, placed, commission: placed.quote / 1000, in: "USDT")
        }
    }

    /// A deposit (or, negative, a withdrawal) of `asset`.
    func deposit(_ asset: String, _ amount: Decimal) {
        state.withLock { $0.balances[asset, default: 0] += amount }
    }

    func balance(_ asset: String) -> Decimal { state.withLock { $0.balances[asset] ?? 0 } }

    private static func move(_ state: inout State, _ placed: Placed, commission: Decimal, in commissionAsset: String) {
        let (base, quote) = assets(placed.symbol)
        let sign: Decimal = placed.side == "BUY" ? 1 : -1
        state.balances[base, default: 0] += sign * placed.quantity
        state.balances[quote, default: 0] -= sign * placed.quote
        state.balances[commissionAsset, default: 0] -= commission
    }

    // MARK: endpoints

    func account(_ request: Request) throws -> Response {
        do { _ = try authenticate(request) } catch let refusal as Refusal { return refusal.response }
        let (balances, fault) = state.withLock { state -> ([String: Decimal], AccountFault) in
            state.accountCalls += 1
            return (state.balances, state.accountFault)
        }
        var entries = balances.keys.sorted().map { asset -> [String: Any] in
            ["asset": asset, "free": Self.text(balances[asset] ?? 0), "locked": "0.00000000"]
        }
        switch fault {
        case .serverError: return Response(status: .internalServerError)
        case .wordForNumber:
            entries = entries.map {
                var entry = $0
                entry["free"] = "plenty"
                return entry
            }
        case .negativeBalance:
            entries = entries.map {
                var entry = $0
                if entry["asset"] as? String == "USDT" { entry["free"] = "-5.00000000" }
                return entry
            }
        default: break
        }
        let body: [String: Any] = [
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0, "canTrade": true, "canWithdraw": true,
            "canDeposit": true, "brokered": false, "requireSelfTradePrevention": false, "preventSor": false,
            "updateTime": Int(Date().timeIntervalSince1970 * 1000), "accountType": "SPOT", "balances": entries, "permissions": ["SPOT"],
            "uid": 354_937_868,
        ]
        var data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        if fault == .truncated { data = data.prefix(data.count / 2) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Binance writes amounts with eight decimals.
    static func text(_ value: Decimal) -> String {
        var value = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 8, .plain)
        let plain = "\(rounded)"
        let parts = plain.split(separator: ".", maxSplits: 1)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        return "\(parts[0]).\(fraction)\(String(repeating: "0", count: max(0, 8 - fraction.count)))"
    }
}
