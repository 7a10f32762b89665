import Foundation
import Hummingbird
import NIOCore

/// The stand-in's account, written from Binance's documentation of `GET /api/v3/account`
/// (weight 20: `balances: [{asset, free, locked}]`, amounts as decimal strings, `updateTime`),
/// `GET /api/v3/myTrades` (weight 20: `symbol, id, orderId, orderListId, price, qty, quoteQty,
/// commission, commissionAsset, time, isBuyer, isMaker, isBestMatch`) and `GET /api/v3/allOrders`
/// (weight 20: each order with its `clientOrderId`). Fills move the balances; a trade made by
/// hand in the exchange's app and a deposit are fault modes, and so are broken answers.
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

    /// One trade at the exchange, ours or not.
    struct AccountTrade: Sendable {
        var symbol: String
        var id: Int
        var orderID: Int
        var clientOrderID: String
        var isBuyer: Bool
        var price: Decimal
        var quantity: Decimal
        var quote: Decimal
        var commission: Decimal
        var commissionAsset: String
        var time: Int64
    }

    /// The assets of a symbol of this stand-in (every one ends in USDT).
    static func assets(_ symbol: String) -> (base: String, quote: String) {
        (String(symbol.dropLast(4)), "USDT")
    }

    /// Moves the balances by an order of ours that filled (the executed part), commission taken
    /// in the asset trades charge it in, and records its trade.
    func settleBalances(clientOrderID: String, _ placed: Placed) {
        state.withLock { state in
            let base = Self.assets(placed.symbol).base
            let commission: Decimal =
                switch state.commissionAsset {
                case "USDT": placed.quote / 1000
                case base: placed.quantity / 1000
                default: Decimal(string: "0.0005")!
                }
            Self.trade(
                &state,
                symbol: placed.symbol,
                buy: placed.side == "BUY",
                quantity: placed.quantity,
                quote: placed.quote,
                orderID: placed.orderID,
                clientOrderID: clientOrderID,
                commission: commission,
                commissionAsset: state.commissionAsset
            )
        }
    }

    /// A trade made by hand in the exchange's app: the balances move, and `myTrades` lists it
    /// under an order whose client order id is the app's (`web_...`).
    func tradeByHand(symbol: String, buy: Bool, quantity: Decimal) {
        state.withLock { state in
            let orderID = state.nextOrderID
            state.nextOrderID += 1
            Self.trade(
                &state,
                symbol: symbol,
                buy: buy,
                quantity: quantity,
                quote: quantity * price,
                orderID: orderID,
                clientOrderID: "web_\(orderID)",
                commission: quantity * price / 1000,
                commissionAsset: "USDT"
            )
        }
    }

    /// A deposit (or, negative, a withdrawal) of `asset`.
    func deposit(_ asset: String, _ amount: Decimal) {
        state.withLock { $0.balances[asset, default: 0] += amount }
    }

    func balance(_ asset: String) -> Decimal { state.withLock { $0.balances[asset] ?? 0 } }

    private static func trade(
        _ state: inout State,
        symbol: String,
        buy: Bool,
        quantity: Decimal,
        quote: Decimal,
        orderID: Int,
        clientOrderID: String,
        commission: Decimal,
        commissionAsset: String
    ) {
        let (base, quoteAsset) = assets(symbol)
        let sign: Decimal = buy ? 1 : -1
        state.balances[base, default: 0] += sign * quantity
        state.balances[quoteAsset, default: 0] -= sign * quote
        state.balances[commissionAsset, default: 0] -= commission
        state.trades.append(
            AccountTrade(
                symbol: symbol,
                id: state.trades.count + 1,
                orderID: orderID,
                clientOrderID: clientOrderID,
                isBuyer: buy,
                price: quantity > 0 ? quote / quantity : 0,
                quantity: quantity,
                quote: quote,
                commission: commission,
                commissionAsset: commissionAsset,
                time: Int64(Date().timeIntervalSince1970 * 1000)
            )
        )
    }

    // MARK: endpoints

    func account(_ request: Request) throws -> Response {
        do { _ = try authenticateAccount(request) } catch let refusal as Refusal { return refusal.response }
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

    /// `myTrades` without an `orderId`: the newest `limit` trades of the symbol.
    func symbolTrades(_ parameters: [String: String]) -> Response {
        let symbol = parameters["symbol"] ?? ""
        let limit = Int(parameters["limit"] ?? "") ?? 500
        let trades = state.withLock { $0.trades.filter { $0.symbol == symbol } }.suffix(limit)
        let body: [[String: Any]] = trades.map { trade in
            [
                "symbol": trade.symbol, "id": trade.id, "orderId": trade.orderID, "orderListId": -1, "price": Self.text(trade.price),
                "qty": Self.text(trade.quantity), "quoteQty": Self.text(trade.quote), "commission": Self.text(trade.commission),
                "commissionAsset": trade.commissionAsset, "time": Int(trade.time), "isBuyer": trade.isBuyer, "isMaker": false, "isBestMatch": true,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func allOrders(_ request: Request) throws -> Response {
        let parameters: [String: String]
        do { parameters = try authenticateAccount(request) } catch let refusal as Refusal { return refusal.response }
        let symbol = parameters["symbol"] ?? ""
        let trades = state.withLock { $0.trades.filter { $0.symbol == symbol } }
        let body: [[String: Any]] = trades.map { trade in
            [
                "symbol": trade.symbol, "orderId": trade.orderID, "orderListId": -1, "clientOrderId": trade.clientOrderID, "price": "0.00000000",
                "origQty": Self.text(trade.quantity), "executedQty": Self.text(trade.quantity), "cummulativeQuoteQty": Self.text(trade.quote),
                "status": "FILLED", "timeInForce": "GTC", "type": "MARKET", "side": trade.isBuyer ? "BUY" : "SELL", "time": Int(trade.time),
                "updateTime": Int(trade.time), "isWorking": true,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
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
