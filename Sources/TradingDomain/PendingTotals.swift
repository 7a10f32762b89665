import Foundation
import TradingWire

/// The pending orders of a book, summed: how many, and their signed notional (buy +, sell −)
/// per symbol. Kept up to date as orders are put into the book, so that a reservation and a
/// status answer cost the same with ten orders in memory or ten thousand.
struct PendingTotals: Sendable, Equatable {
    private struct SymbolTotal: Sendable, Equatable {
        var count = 0
        var notional: Decimal = 0
    }

    private var bySymbol: [String: SymbolTotal] = [:]
    /// The number of pending orders.
    private(set) var count = 0

    init<Orders: Sequence<Order>>(_ orders: Orders) {
        for order in orders { add(order) }
    }

    /// The signed notional of the pending orders in `symbol`.
    func notional(_ symbol: String) -> Decimal {
        bySymbol[symbol]?.notional ?? 0
    }

    /// Every symbol with a pending order, and their signed notional.
    var notionalBySymbol: [String: Decimal] {
        bySymbol.mapValues(\.notional)
    }

    mutating func add(_ order: Order) {
        guard order.status == .pending else { return }
        count += 1
        bySymbol[order.intent.symbol, default: SymbolTotal()].count += 1
        bySymbol[order.intent.symbol, default: SymbolTotal()].notional += Self.signed(order)
    }

    mutating func remove(_ order: Order) {
        guard order.status == .pending, var total = bySymbol[order.intent.symbol] else { return }
        count -= 1
        total.count -= 1
        total.notional -= Self.signed(order)
        // The last one gone: the symbol leaves, exactly as a scan of the book would find it.
        bySymbol[order.intent.symbol] = total.count > 0 ? total : nil
    }

    private static func signed(_ order: Order) -> Decimal {
        order.intent.side == .buy ? order.intent.qtyUsd : -order.intent.qtyUsd
    }
}

/// Times (Unix ms) of recent events, oldest first, for a rate limit: forgetting the old ones
/// costs what is forgotten, not what is kept.
struct RecentTimes: Sendable, Equatable {
    private var times: [Int64] = []
    private var start = 0

    /// How many times are kept.
    var count: Int { times.count - start }

    mutating func append(_ time: Int64) {
        times.append(time)
    }

    /// Forgets the times at or before `cutoff`, from the oldest. A clock that stepped back can
    /// leave an older time behind a newer one; it is then kept a little longer, which only
    /// makes the limit stricter.
    mutating func forget(upTo cutoff: Int64) {
        while start < times.count, times[start] <= cutoff { start += 1 }
        if start > 1_024, start * 2 > times.count {
            times.removeFirst(start)
            start = 0
        }
    }
}
