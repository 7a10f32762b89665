import Foundation
import HTTPTypes
import Hummingbird
import TradingDomain
import TradingWire

/// `POST /api/positions/{symbol}/close` and `POST /api/positions/close-all` body.
struct CloseInput: Decodable, Sendable {
    /// Why (required, 1 to `CloseInput.maxReason` characters): kept in the audit trail.
    var reason: String?
    /// True: the close goes through while HALTED or risk-locked.
    var force: Bool?
    var requestedBy: String?
    /// Single close only: the close's order id, so that a retry cannot close twice.
    var clientOrderId: String?

    static let maxReason = 200
}

/// What became of one symbol's close.
struct CloseResult: Encodable, Sendable {
    enum Outcome: String, Encodable, Sendable {
        case closed
        case nothingToClose = "nothing_to_close"
        case refused
    }

    var symbol: String
    var outcome: Outcome
    /// The signed base quantity the book held before the close.
    var quantity: Decimal?
    /// The close's order (status, fill), when one was placed.
    var order: ExecuteOutput?
    /// Why it was refused: the error code and sentence the single close would answer.
    var error: String?
    var detail: String?
}

/// `POST /api/positions/{symbol}/close` answer.
struct CloseOutput: Encodable, Sendable {
    var requestId: String
    var book: Book
    var symbol: String
    var outcome: CloseResult.Outcome
    var quantity: Decimal?
    var order: ExecuteOutput?
}

/// `POST /api/positions/close-all` answer: one result per position the book held.
struct CloseAllOutput: Encodable, Sendable {
    var requestId: String
    var book: Book
    var results: [CloseResult]
}

extension GatewayAPI {
    /// The flatten routes (token): close one position, or every position of the traded book, at
    /// market through the execute pipeline (collar, limits, ledger, idempotency).
    func registerCloseRoutes(guarded: RouterGroup<GatewayRequestContext>) {
        guarded.post("api/positions/close-all") { request, context in
            let book = try Book.parse(request.uri.queryParameters, default: configuration.tradingMode)
            let input = try await request.decodeJSON(CloseInput.self, limit: configuration.maxBodyBytes)
            let close = try closeOrder(input, request)
            guard input.clientOrderId == nil else {
                throw APIError(.unprocessableContent, "invalid_client_order_id", "close-all places one order per symbol: it takes no clientOrderId")
            }
            try checkTradedBook(book)
            let positions = try await heldPositions(book: book, requestID: context.requestID)
            var results: [CloseResult] = []
            for position in positions {
                guard position.quantity != 0 else {
                    results.append(CloseResult(symbol: position.symbol, outcome: .nothingToClose, quantity: 0))
                    continue
                }
                do throws(APIError) {
                    let order = try await closePosition(position, close: close, clientOrderId: nil, requestID: context.requestID)
                    results.append(CloseResult(symbol: position.symbol, outcome: .closed, quantity: position.quantity, order: order))
                } catch {
                    results.append(
                        CloseResult(
                            symbol: position.symbol,
                            outcome: error.code == "nothing_to_close" ? .nothingToClose : .refused,
                            quantity: position.quantity,
                            order: nil,
                            error: error.code,
                            detail: error.detail
                        )
                    )
                }
            }
            return try jsonResponse(CloseAllOutput(requestId: context.requestID, book: book, results: results), requestID: context.requestID)
        }
        guarded.post("api/positions/:symbol/close") { request, context in
            let symbol = try InputValidation.symbol(context.parameters.get("symbol") ?? "")
            let input = try await request.decodeJSON(CloseInput.self, limit: configuration.maxBodyBytes)
            let close = try closeOrder(input, request)
            let clientOrderId = try input.clientOrderId.map { (id: String) throws(APIError) in try InputValidation.clientOrderID(id) }
            let book: Book = configuration.tradingMode == .live ? .live : .paper
            let positions = try await heldPositions(book: book, requestID: context.requestID)
            guard let position = positions.first(where: { $0.symbol == symbol }), position.quantity != 0 else {
                guard positions.contains(where: { $0.symbol == symbol }) || market.newestOpenTime(for: symbol) != nil else {
                    throw APIError(
                        .notFound,
                        "unknown_symbol",
                        "the \(book.rawValue) book holds no position in \(symbol) and no market data of it is held"
                    )
                }
                let output = CloseOutput(requestId: context.requestID, book: book, symbol: symbol, outcome: .nothingToClose, quantity: 0)
                return try jsonResponse(output, requestID: context.requestID)
            }
            let order = try await closePosition(position, close: close, clientOrderId: clientOrderId, requestID: context.requestID)
            let output = CloseOutput(
                requestId: context.requestID,
                book: book,
                symbol: symbol,
                outcome: .closed,
                quantity: position.quantity,
                order: order
            )
            return try jsonResponse(output, requestID: context.requestID)
        }
    }

    /// The close's terms from its body: a reason is required (at most `CloseInput.maxReason`
    /// characters), who asks as for every operator action.
    func closeOrder(_ input: CloseInput, _ request: Request) throws(APIError) -> CloseOrder {
        let reason = (input.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= CloseInput.maxReason else {
            throw APIError(.unprocessableContent, "invalid_reason", "reason is required: 1 to \(CloseInput.maxReason) characters saying why")
        }
        let requestedBy = try operatorName(OperatorInput(reason: reason, requestedBy: input.requestedBy), request)
        let printable = String(decoding: reason.utf8.filter { (0x20...0x7E).contains($0) || $0 >= 0x80 }, as: UTF8.self)
        return CloseOrder(force: input.force ?? false, reason: printable, requestedBy: requestedBy)
    }

    /// Only the trading mode's book can be traded: the other one is read-only here.
    func checkTradedBook(_ book: Book) throws(APIError) {
        let traded: Book = configuration.tradingMode == .live ? .live : .paper
        guard book == traded else {
            throw APIError(
                .conflict,
                "book_not_traded",
                "the gateway trades the \(traded.rawValue) book (TRADING_MODE=\(configuration.tradingMode.rawValue)); the \(book.rawValue) book cannot be closed here"
            )
        }
    }

    /// The positions of `book` as the risk worker holds them now.
    func heldPositions(book: Book, requestID: String) async throws(APIError) -> [PositionSnapshot] {
        let status: RiskStatus = try await risk(Operations.Risk.status, Empty(), requestID: requestID)
        control.update(status: status)
        if book == .live {
            guard let account = status.live?.account else {
                throw APIError(HTTPResponse.Status(code: 423), "account_unknown", "the live book has not been built from the exchange's account yet")
            }
            return account.positions
        }
        return status.account.positions
    }

    /// Closes one position at market: a sell of a long's whole quantity, a buy of a short's
    /// (paper), through the execute pipeline. The notional is the quantity at the risk worker's
    /// mark rounded up to the cent; the risk worker reserves the close for the quantity held, so
    /// the fill is that quantity exactly (live: sent as the held base quantity, down to the step).
    func closePosition(
        _ position: PositionSnapshot,
        close: CloseOrder,
        clientOrderId: String?,
        requestID: String
    ) async throws(APIError)
        -> ExecuteOutput
    {
        // Issue 26 items 1 and 3: cancel the symbol's open (limit) orders and its exits
        // (stop-loss, take-profit) here, before the close, once they exist.
        try checkLiveOrder(symbol: position.symbol)
        guard let mark = position.markPrice, mark > 0 else {
            throw APIError(.conflict, "no_price", "no market price is known for \(position.symbol): the close cannot be sized")
        }
        var exact = (position.quantity < 0 ? -position.quantity : position.quantity) * mark
        var notional = Decimal()
        NSDecimalRound(&notional, &exact, 2, .up)
        let intent = OrderIntent(
            clientOrderId: try InputValidation.clientOrderID(clientOrderId),
            symbol: position.symbol,
            side: position.quantity > 0 ? .sell : .buy,
            qtyUsd: max(notional, Decimal(string: "0.01") ?? 0),
            confidence: 1
        )
        GatewayCounters.operatorAction("close")
        logger.warning(
            "position close requested",
            metadata: [
                "request.id": "\(requestID)", "symbol": "\(position.symbol)", "quantity": "\(position.quantity)", "force": "\(close.force)",
                "requestedBy": "\(close.requestedBy)", "reason": "\(close.reason)", "order": "\(intent.clientOrderId)",
            ]
        )
        let output = try await execute.submit(intent, price: nil, requestID: requestID, close: close)
        if output.mode == .live, output.status == .filled, !output.duplicate { notifier?.liveFill(output) }
        logger.info("close \(output.status.rawValue)", metadata: ["request.id": "\(requestID)", "order": "\(output.clientOrderId)"])
        return output
    }
}
