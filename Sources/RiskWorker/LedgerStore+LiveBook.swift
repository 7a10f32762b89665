import Foundation
import GRDB
import TradingDomain
import TradingWire

/// The live book in the ledger: one row, its body a JSON record with every amount as decimal
/// text, written in the same transaction as the account row whenever the live book changed.
extension LedgerStore {
    static func registerLiveBookMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-live-book") { db in
            try db.execute(
                sql: """
                    CREATE TABLE live_book (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, updated_at INTEGER NOT NULL);
                    """
            )
        }
    }

    static func loadLiveBook(_ db: Database) throws -> LiveBook {
        guard let body = try String.fetchOne(db, sql: "SELECT body FROM live_book WHERE id = 1") else { return LiveBook() }
        return try JSONDecoder().decode(LiveBookRecord.self, from: Data(body.utf8)).book()
    }

    static func saveLiveBook(_ db: Database, _ book: LiveBook, now: Int64) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = String(decoding: try encoder.encode(LiveBookRecord(book)), as: UTF8.self)
        try db.executeCached(
            sql: """
                INSERT INTO live_book (id, body, updated_at) VALUES (1, ?, ?)
                ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                """,
            arguments: [body, now]
        )
    }
}

/// The live book as stored: decimals as text, so they come back exactly as they went in.
struct LiveBookRecord: Codable {
    struct PositionRecord: Codable {
        var quantity: String
        var averagePrice: String
        var realizedPnl: String
    }

    var built: Bool
    var cash: String
    var peakEquity: String
    var positions: [String: PositionRecord]
    var marks: [String: String]
    var feesOwed: [String: String]
    var balances: [String: String]
    var reconciliation: Reconciliation
    var version: Int64
    var day: String
    var dayStartEquity: String

    init(_ book: LiveBook) {
        let portfolio = book.portfolio
        built = portfolio != nil
        cash = (portfolio?.cash ?? 0).plainText
        peakEquity = (portfolio?.peakEquity ?? 0).plainText
        positions = (portfolio?.positions ?? [:]).mapValues {
            PositionRecord(quantity: $0.quantity.plainText, averagePrice: $0.averagePrice.plainText, realizedPnl: $0.realizedPnl.plainText)
        }
        marks = (portfolio?.marks ?? [:]).mapValues(\.plainText)
        feesOwed = (portfolio?.feesOwed ?? [:]).mapValues(\.plainText)
        balances = book.balances.mapValues(\.plainText)
        reconciliation = book.reconciliation
        version = book.version
        day = book.day.date
        dayStartEquity = book.day.startEquity.plainText
    }

    func book() throws -> LiveBook {
        func decimal(_ text: String) throws -> Decimal {
            guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN else {
                throw LedgerError(detail: "the live book holds \"\(text)\" where a decimal belongs")
            }
            return value
        }
        var portfolio: Portfolio?
        if built {
            portfolio = Portfolio(
                cash: try decimal(cash),
                positions: try positions.mapValues {
                    Portfolio.Position(
                        quantity: try decimal($0.quantity),
                        averagePrice: try decimal($0.averagePrice),
                        realizedPnl: try decimal($0.realizedPnl)
                    )
                },
                marks: try marks.mapValues(decimal),
                peakEquity: try decimal(peakEquity),
                feesOwed: try feesOwed.mapValues(decimal)
            )
        }
        return LiveBook(
            portfolio: portfolio,
            balances: try balances.mapValues(decimal),
            reconciliation: reconciliation,
            version: version,
            day: RiskEngine.TradingDay(date: day, startEquity: try decimal(dayStartEquity))
        )
    }
}
