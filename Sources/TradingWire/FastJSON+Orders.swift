import Foundation

/// A wire type with a hand-written JSON object writer and reader, for the order path (reserve,
/// execute, settle). The writer writes what Foundation's encoder writes, key for key (amounts as
/// `Decimal`'s description); the reader reads what Foundation's decoder reads, amounts exactly
/// from their text. Anything unusual (a NaN, an escaped string, a missing member) is declined
/// with nil, and `WireCodec` lets Foundation decide: faster, never more lenient.
public protocol FastJSONObject: FastJSONDecodable, FastJSONEncodable {
    var fastObject: FastJSON.ObjectWriter { get }
}

extension FastJSONObject {
    public func fastJSON() -> [UInt8]? {
        let writer = fastObject
        return writer.valid ? writer.finished : nil
    }
}

extension FastJSON.Value {
    /// An optional member, as Foundation's `decodeIfPresent` reads it: absent or null is nil;
    /// a member that is present but not readable clears `readable`.
    public func member<T>(_ key: String, _ readable: inout Bool, _ read: (FastJSON.Value) -> T?) -> T? {
        switch self[key] {
        case nil, .null?:
            return nil
        case let value?:
            let result = read(value)
            if result == nil { readable = false }
            return result
        }
    }

    /// An array member whose every element reads.
    public func elements<T>(_ key: String, _ read: (FastJSON.Value) -> T?) -> [T]? {
        self[key]?.elements(read)
    }

    /// This array's elements, when every one reads.
    public func elements<T>(_ read: (FastJSON.Value) -> T?) -> [T]? {
        guard case .array(let values) = self else { return nil }
        var result: [T] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let element = read(value) else { return nil }
            result.append(element)
        }
        return result
    }

    /// An object of amounts by name.
    var decimals: [String: Decimal]? {
        guard case .object(let members) = self else { return nil }
        var result: [String: Decimal] = [:]
        for (key, value) in members {
            guard let amount = value.decimal else { return nil }
            result[key] = amount
        }
        return result
    }

    func raw<T: RawRepresentable>(_ key: String, as: T.Type) -> T? where T.RawValue == String {
        self[key]?.string.flatMap(T.init(rawValue:))
    }
}

extension OrderIntent: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("clientOrderId", clientOrderId)
        writer.field("symbol", symbol)
        writer.field("side", side.rawValue)
        writer.field("qtyUsd", qtyUsd)
        writer.field("confidence", confidence)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> OrderIntent? {
        guard let id = value["clientOrderId"]?.string, let symbol = value["symbol"]?.string, let side = value.raw("side", as: Side.self),
            let qtyUsd = value["qtyUsd"]?.decimal, let confidence = value["confidence"]?.double
        else { return nil }
        return OrderIntent(clientOrderId: id, symbol: symbol, side: side, qtyUsd: qtyUsd, confidence: confidence)
    }
}

extension ExecutionTerms: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("markPrice", markPrice)
        writer.field("slippageBps", slippageBps)
        writer.field("feeBps", feeBps)
        writer.field("quoteMarkUsd", quoteMarkUsd)
        writer.field("heldQuantity", heldQuantity)
        if let closeQuantity { writer.field("closeQuantity", closeQuantity) }
        if let forcedClose { writer.field("forcedClose", forcedClose) }
        writer.field("priceSource", priceSource?.rawValue)
        if let bookAgeMs { writer.field("bookAgeMs", bookAgeMs) }
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ExecutionTerms? {
        var readable = true
        let quoteMark = value.member("quoteMarkUsd", &readable, \.decimal)
        let held = value.member("heldQuantity", &readable, \.decimal)
        let closeQuantity = value.member("closeQuantity", &readable, \.decimal)
        let forced = value.member("forcedClose", &readable, \.bool)
        let source = value.member("priceSource", &readable) { $0.string.flatMap(PriceSource.init(rawValue:)) }
        let bookAge = value.member("bookAgeMs", &readable, \.int64)
        guard readable, let mark = value["markPrice"]?.decimal, let slippage = value["slippageBps"]?.decimal, let fee = value["feeBps"]?.decimal
        else { return nil }
        return ExecutionTerms(
            markPrice: mark,
            slippageBps: slippage,
            feeBps: fee,
            quoteMarkUsd: quoteMark,
            heldQuantity: held,
            closeQuantity: closeQuantity,
            forcedClose: forced,
            priceSource: source,
            bookAgeMs: bookAge
        )
    }
}

extension Fill: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("price", price)
        writer.field("quantity", quantity)
        writer.field("notional", notional)
        writer.field("fee", fee)
        if let commissions { writer.field("commissions", decimals: commissions) }
        writer.field("dust", dust)
        writer.field("dryRun", dryRun)
        writer.field("filledAt", filledAt)
        writer.field("priceSource", priceSource?.rawValue)
        return writer
    }

    /// Through the throwing initializer: a fill it refuses is declined, and Foundation's
    /// decoder then gives the precise error.
    public static func fromFastJSON(_ value: FastJSON.Value) -> Fill? {
        var readable = true
        let commissions = value.member("commissions", &readable, \.decimals)
        let dust = value.member("dust", &readable, \.decimal)
        let source = value.member("priceSource", &readable) { $0.string.flatMap(PriceSource.init(rawValue:)) }
        guard readable, let price = value["price"]?.decimal, let quantity = value["quantity"]?.decimal,
            let notional = value["notional"]?.decimal, let fee = value["fee"]?.decimal, let dryRun = value["dryRun"]?.bool,
            let filledAt = value["filledAt"]?.int64
        else { return nil }
        var fill = try? Fill(
            price: price,
            quantity: quantity,
            notional: notional,
            fee: fee,
            commissions: commissions,
            dryRun: dryRun,
            filledAt: filledAt
        )
        fill?.dust = dust
        fill?.priceSource = source
        return fill
    }
}

extension Order: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("intent", object: intent.fastObject)
        writer.field("status", status.rawValue)
        writer.field("mode", mode.rawValue)
        writer.field("createdAt", createdAt)
        if let terms { writer.field("terms", object: terms.fastObject) }
        if let fill { writer.field("fill", object: fill.fastObject) }
        writer.field("rejectReason", rejectReason)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> Order? {
        var readable = true
        let terms = value.member("terms", &readable, ExecutionTerms.fromFastJSON)
        let fill = value.member("fill", &readable, Fill.fromFastJSON)
        let rejectReason = value.member("rejectReason", &readable, \.string)
        guard readable, let intentValue = value["intent"], let intent = OrderIntent.fromFastJSON(intentValue),
            let status = value.raw("status", as: OrderStatus.self), let mode = value.raw("mode", as: TradingMode.self),
            let createdAt = value["createdAt"]?.int64
        else { return nil }
        return Order(intent: intent, status: status, mode: mode, createdAt: createdAt, terms: terms, fill: fill, rejectReason: rejectReason)
    }
}

extension ProtectionLock: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("id", id)
        writer.field("symbol", symbol)
        writer.field("rule", rule)
        writer.field("reason", reason)
        writer.field("since", since)
        writer.field("until", until)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ProtectionLock? {
        var readable = true
        let symbol = value.member("symbol", &readable, \.string)
        guard readable, let id = value["id"]?.string, let rule = value["rule"]?.string, let reason = value["reason"]?.string,
            let since = value["since"]?.int64, let until = value["until"]?.int64
        else { return nil }
        return ProtectionLock(id: id, symbol: symbol, rule: rule, reason: reason, since: since, until: until)
    }
}

extension RiskFlags: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("halted", halted)
        writer.field("haltReason", haltReason)
        writer.field("riskLocked", riskLocked)
        writer.field("lockReason", lockReason)
        writer.field("reducing", reducing)
        writer.field("reducingReason", reducingReason)
        writer.field("locks", objects: locks.map(\.fastObject))
        writer.field("tradingState", tradingState.rawValue)
        if let accountHold { writer.field("accountHold", accountHold) }
        if let exchangeBackoff { writer.field("exchangeBackoff", object: exchangeBackoff.fastObject) }
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> RiskFlags? {
        var readable = true
        let haltReason = value.member("haltReason", &readable, \.string)
        let lockReason = value.member("lockReason", &readable, \.string)
        let reducing = value.member("reducing", &readable, \.bool)
        let reducingReason = value.member("reducingReason", &readable, \.string)
        let accountHold = value.member("accountHold", &readable, \.string)
        let exchangeBackoff = value.member("exchangeBackoff", &readable, ExchangeBackoff.fromFastJSON)
        var locks: [ProtectionLock] = []
        if value["locks"] != nil && value["locks"] != .null {
            guard let read = value.elements("locks", ProtectionLock.fromFastJSON) else { return nil }
            locks = read
        }
        guard readable, let halted = value["halted"]?.bool, let riskLocked = value["riskLocked"]?.bool else { return nil }
        return RiskFlags(
            halted: halted,
            haltReason: haltReason,
            riskLocked: riskLocked,
            lockReason: lockReason,
            reducing: reducing ?? false,
            reducingReason: reducingReason,
            locks: locks,
            accountHold: accountHold,
            exchangeBackoff: exchangeBackoff
        )
    }
}

extension ExchangeBackoff: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("ordersUntil", ordersUntil)
        writer.field("requestsUntil", requestsUntil)
        writer.field("reason", reason)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ExchangeBackoff? {
        guard let orders = value["ordersUntil"]?.int64, let requests = value["requestsUntil"]?.int64, let reason = value["reason"]?.string else {
            return nil
        }
        return ExchangeBackoff(ordersUntil: orders, requestsUntil: requests, reason: reason)
    }
}

extension PositionSnapshot: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("symbol", symbol)
        writer.field("quantity", quantity)
        writer.field("averagePrice", averagePrice)
        writer.field("markPrice", markPrice)
        writer.field("realizedPnl", realizedPnl)
        writer.field("unrealizedPnl", unrealizedPnl)
        writer.field("dust", dust)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> PositionSnapshot? {
        var readable = true
        let mark = value.member("markPrice", &readable, \.decimal)
        let dust = value.member("dust", &readable, \.decimal)
        guard readable, let symbol = value["symbol"]?.string, let quantity = value["quantity"]?.decimal,
            let average = value["averagePrice"]?.decimal, let realized = value["realizedPnl"]?.decimal,
            let unrealized = value["unrealizedPnl"]?.decimal
        else { return nil }
        return PositionSnapshot(
            symbol: symbol,
            quantity: quantity,
            averagePrice: average,
            markPrice: mark,
            realizedPnl: realized,
            unrealizedPnl: unrealized,
            dust: dust
        )
    }
}

extension AccountSnapshot: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("cash", cash)
        writer.field("equity", equity)
        writer.field("peakEquity", peakEquity)
        writer.field("drawdown", drawdown)
        writer.field("grossExposure", grossExposure)
        writer.field("dailyLoss", dailyLoss)
        writer.field("realizedPnl", realizedPnl)
        writer.field("unrealizedPnl", unrealizedPnl)
        writer.field("pendingOrders", pendingOrders)
        writer.field("positions", objects: positions.map(\.fastObject))
        if let feesOwed { writer.field("feesOwed", decimals: feesOwed) }
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> AccountSnapshot? {
        var readable = true
        let feesOwed = value.member("feesOwed", &readable, \.decimals)
        guard readable, let cash = value["cash"]?.decimal, let equity = value["equity"]?.decimal, let peak = value["peakEquity"]?.decimal,
            let drawdown = value["drawdown"]?.double, let gross = value["grossExposure"]?.decimal, let dailyLoss = value["dailyLoss"]?.decimal,
            let realized = value["realizedPnl"]?.decimal, let unrealized = value["unrealizedPnl"]?.decimal,
            let pending = value["pendingOrders"]?.int64.flatMap({ Int(exactly: $0) }),
            let positions = value.elements("positions", PositionSnapshot.fromFastJSON)
        else { return nil }
        return AccountSnapshot(
            cash: cash,
            equity: equity,
            peakEquity: peak,
            drawdown: drawdown,
            grossExposure: gross,
            dailyLoss: dailyLoss,
            realizedPnl: realized,
            unrealizedPnl: unrealized,
            pendingOrders: pending,
            positions: positions,
            feesOwed: feesOwed
        )
    }
}

extension ReserveRequest: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("intent", object: intent.fastObject)
        writer.field("mode", mode.rawValue)
        writer.field("requestPrice", requestPrice)
        if let close {
            var object = FastJSON.ObjectWriter()
            object.field("force", close.force)
            object.field("reason", close.reason)
            object.field("requestedBy", close.requestedBy)
            writer.field("close", object: object)
        }
        if let book { writer.field("book", object: book.fastObject) }
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ReserveRequest? {
        var readable = true
        let price = value.member("requestPrice", &readable, \.decimal)
        let book = value.member("book", &readable, BookQuote.fromFastJSON)
        let close = value.member("close", &readable) { close -> CloseOrder? in
            guard let force = close["force"]?.bool, let reason = close["reason"]?.string, let by = close["requestedBy"]?.string else { return nil }
            return CloseOrder(force: force, reason: reason, requestedBy: by)
        }
        guard readable, let intentValue = value["intent"], let intent = OrderIntent.fromFastJSON(intentValue),
            let mode = value.raw("mode", as: TradingMode.self)
        else { return nil }
        return ReserveRequest(intent: intent, mode: mode, requestPrice: price, book: book, close: close)
    }
}

extension BookQuote: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("bid", bid)
        writer.field("ask", ask)
        writer.field("ageMs", ageMs)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> BookQuote? {
        guard let bid = value["bid"]?.decimal, let ask = value["ask"]?.decimal, let age = value["ageMs"]?.int64 else { return nil }
        return BookQuote(bid: bid, ask: ask, ageMs: age)
    }
}

extension ReserveResult: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("order", object: order.fastObject)
        writer.field("duplicate", duplicate)
        writer.field("flags", object: flags.fastObject)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ReserveResult? {
        guard let orderValue = value["order"], let order = Order.fromFastJSON(orderValue), let duplicate = value["duplicate"]?.bool,
            let flagsValue = value["flags"], let flags = RiskFlags.fromFastJSON(flagsValue)
        else { return nil }
        return ReserveResult(order: order, duplicate: duplicate, flags: flags)
    }
}

extension SettleRequest: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("clientOrderId", clientOrderId)
        if let fill { writer.field("fill", object: fill.fastObject) }
        writer.field("rejectReason", rejectReason)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> SettleRequest? {
        var readable = true
        let fill = value.member("fill", &readable, Fill.fromFastJSON)
        let reason = value.member("rejectReason", &readable, \.string)
        guard readable, let id = value["clientOrderId"]?.string else { return nil }
        return SettleRequest(clientOrderId: id, fill: fill, rejectReason: reason)
    }
}

extension SettleResult: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("order", object: order.fastObject)
        writer.field("account", object: account.fastObject)
        writer.field("flags", object: flags.fastObject)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> SettleResult? {
        guard let orderValue = value["order"], let order = Order.fromFastJSON(orderValue), let accountValue = value["account"],
            let account = AccountSnapshot.fromFastJSON(accountValue), let flagsValue = value["flags"], let flags = RiskFlags.fromFastJSON(flagsValue)
        else { return nil }
        return SettleResult(order: order, account: account, flags: flags)
    }
}

extension ExecuteRequest: FastJSONObject {
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("order", object: order.fastObject)
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ExecuteRequest? {
        guard let orderValue = value["order"], let order = Order.fromFastJSON(orderValue) else { return nil }
        return ExecuteRequest(order: order)
    }
}

extension WireRequestHeader: FastJSONDecodable {
    public static func fromFastJSON(_ value: FastJSON.Value) -> WireRequestHeader? {
        guard let v = value["v"]?.int, let op = value["op"]?.string, let requestId = value["requestId"]?.string else { return nil }
        return WireRequestHeader(v: v, op: op, requestId: requestId)
    }
}

extension ControlState: FastJSONObject {
    /// Written by the broker on every publish (a halt goes out with it) and read by every worker.
    public var fastObject: FastJSON.ObjectWriter {
        var writer = FastJSON.ObjectWriter()
        writer.field("seq", seq)
        writer.field("halted", halted)
        writer.field("haltReason", haltReason)
        writer.field("riskLocked", riskLocked)
        writer.field("lockReason", lockReason)
        writer.field("tradingMode", tradingMode.rawValue)
        writer.field("ts", ts)
        writer.field("tradingState", tradingState?.rawValue)
        writer.field("stateReason", stateReason)
        if let accountHold { writer.field("accountHold", accountHold) }
        if let exchangeBackoff { writer.field("exchangeBackoff", object: exchangeBackoff.fastObject) }
        return writer
    }

    public static func fromFastJSON(_ value: FastJSON.Value) -> ControlState? {
        var readable = true
        let haltReason = value.member("haltReason", &readable, \.string)
        let lockReason = value.member("lockReason", &readable, \.string)
        let tradingState = value.member("tradingState", &readable) { $0.string.flatMap(TradingState.init(rawValue:)) }
        let stateReason = value.member("stateReason", &readable, \.string)
        let accountHold = value.member("accountHold", &readable, \.string)
        let exchangeBackoff = value.member("exchangeBackoff", &readable, ExchangeBackoff.fromFastJSON)
        guard readable, let seq = value["seq"]?.uint64, let halted = value["halted"]?.bool,
            let riskLocked = value["riskLocked"]?.bool, let tradingMode = value.raw("tradingMode", as: TradingMode.self),
            let ts = value["ts"]?.int64
        else { return nil }
        var state = ControlState(
            seq: seq,
            halted: halted,
            haltReason: haltReason,
            riskLocked: riskLocked,
            lockReason: lockReason,
            tradingMode: tradingMode,
            ts: ts,
            stateReason: stateReason,
            accountHold: accountHold,
            exchangeBackoff: exchangeBackoff
        )
        // As Foundation decodes it: an absent state stays absent (the initializer would fill it in).
        state.tradingState = tradingState
        return state
    }
}
