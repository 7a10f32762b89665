import Foundation
import HTTPTypes
import Hummingbird
import TradingDomain
import TradingWire

/// Which book a read shows: `paper` or `live` (`?book=`), by default the trading mode's.
enum Book: String, Sendable, Encodable {
    case paper
    case live

    static func parse(_ parameters: Parameters, default mode: TradingMode) throws(APIError) -> Book {
        guard let text = try InputValidation.single(parameters, "book") else { return mode == .live ? .live : .paper }
        guard let book = Book(rawValue: text) else {
            throw APIError(.unprocessableContent, "invalid_book", "book must be paper or live")
        }
        return book
    }
}

/// `GET /api/positions` answer: the account of the book it names; the live book adds its
/// expected balances and its reconciliation with the exchange, and is `built: false` (no
/// figures) until it has been built from the exchange's account.
struct PositionsOutput: Encodable, Sendable {
    var book: Book
    var account: AccountSnapshot?
    var live: LiveBookStatus?

    private enum CodingKeys: String, CodingKey { case book, built, balances, reconciliation, version }

    func encode(to encoder: any Encoder) throws {
        try account?.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(book.rawValue, forKey: .book)
        try container.encode(account != nil, forKey: .built)
        if let live {
            try container.encode(live.balances, forKey: .balances)
            try container.encode(live.reconciliation, forKey: .reconciliation)
            try container.encode(live.version, forKey: .version)
        }
    }

    init(book: Book, status: RiskStatus) {
        self.book = book
        switch book {
        case .paper:
            account = status.account
        case .live:
            account = status.live?.account
            live = status.live ?? LiveBookStatus(account: nil, balances: [:], reconciliation: Reconciliation(state: .never), version: 0)
        }
    }
}

/// `POST /api/live/adopt` body: why (required) and who.
struct AdoptInput: Decodable, Sendable {
    var reason: String?
    var requestedBy: String?
}

extension GatewayAPI {
    /// 423 `account_mismatch` or `account_unknown` while the live book's reconciliation refuses
    /// live orders (as last heard from the risk worker, which refuses them itself too).
    func accountRefusal() -> APIError? {
        guard let hold = control.riskStatus?.status.live?.reconciliation.hold else { return nil }
        let (code, detail) = Reconciliation.split(hold: hold)
        return APIError(HTTPResponse.Status(code: 423), code, detail)
    }

    /// The live book's routes: the foreign trades (read) and the adoption (token).
    func registerLiveBookRoutes(on router: Router<GatewayRequestContext>, guarded: RouterGroup<GatewayRequestContext>) {
        router.get("api/live/foreign-trades") { _, context in
            try jsonResponse(liveAccount.foreignTrades, requestID: context.requestID)
        }
        guarded.post("api/live/adopt") { request, context in
            let requestID = context.requestID
            guard configuration.tradingMode == .live else {
                throw APIError(.conflict, "not_live", "the live book is adopted in live mode only (TRADING_MODE=live)")
            }
            let input = try await request.decodeJSON(AdoptInput.self, limit: configuration.maxBodyBytes, allowEmpty: true)
            let requestedBy = try operatorName(OperatorInput(reason: input.reason, requestedBy: input.requestedBy), request)
            guard let reason = input.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
                throw APIError(.unprocessableContent, "reason_required", "an adoption needs a reason (1 to 500 characters)")
            }
            let status: RiskStatus = try await risk(Operations.Risk.status, Empty(), requestID: requestID)
            let symbols = configuration.account.symbols(holding: status)
            let account: ExchangeAccount
            do {
                account = try await workers.call(
                    ServiceName.execution,
                    Operations.Execution.account,
                    payload: AccountQuery(assets: LiveBook.assets(of: symbols)),
                    requestID: requestID
                )
            } catch {
                throw APIError(
                    .badGateway,
                    "account_unreadable",
                    "the exchange's account could not be read, nothing was adopted: \((error as? WorkerCallError)?.apiError.detail ?? "\(error)")"
                )
            }
            logger.warning(
                "live book adoption requested",
                metadata: ["request.id": "\(requestID)", "requestedBy": "\(requestedBy)", "reason": "\(reason)"]
            )
            let adopted: LiveBookStatus = try await risk(
                Operations.Risk.adoptAccount,
                AdoptRequest(account: account, symbols: symbols, requestedBy: requestedBy, reason: reason),
                requestID: requestID
            )
            control.update(live: adopted)
            return try jsonResponse(adopted, requestID: requestID)
        }
    }
}
