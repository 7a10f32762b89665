import Foundation
import Hummingbird
import ServiceSupport
import TradingDomain
import TradingWire

/// `POST /api/live/orders/{clientOrderId}/resolve` body: how an operator settles a live order the
/// exchange could not settle, and what proves it.
struct ResolveInput: Decodable, Sendable {
    /// `filled` (with `fill`) or `rejected` (without).
    var outcome: String
    /// What proves the outcome (the exchange's order or trade ids, a support ticket): 1 to 500 characters.
    var evidence: String?
    var reason: String?
    var requestedBy: String?
    var fill: ResolveFillInput?
}

/// The fill as the exchange reports it.
struct ResolveFillInput: Decodable, Sendable {
    var price: Double
    var quantity: Double
    /// The quote amount; price x quantity when absent.
    var quoteAmount: Double?
    /// The commission in the quote asset; 0 when absent.
    var fee: Double?
}

extension GatewayAPI {
    /// The operator's resolution of an unresolved live order (token required).
    func registerLiveOrderRoutes(guarded: RouterGroup<GatewayRequestContext>) {
        guarded.post("api/live/orders/:id/resolve") { request, context in
            let id = try InputValidation.clientOrderID(context.parameters.get("id") ?? "")
            let input = try await request.decodeJSON(ResolveInput.self, limit: configuration.maxBodyBytes)
            let requestedBy = try operatorName(OperatorInput(reason: input.reason, requestedBy: input.requestedBy), request)
            // The order first: an unknown one is 404 whatever the body says, a settled one 409.
            let order: Order = try await risk(Operations.Risk.order, OrderQuery(clientOrderId: id), requestID: context.requestID)
            guard order.mode == .live else {
                throw APIError(.conflict, "not_live", "order \(id) is a \(order.mode.rawValue) order; only live orders are resolved here")
            }
            guard order.status == .pending else {
                throw APIError(
                    .conflict,
                    "order_not_pending",
                    "order \(id) is already \(order.status.rawValue); a late fill is booked by the reconciler"
                )
            }
            let resolution = try resolution(of: input, id: id, requestedBy: requestedBy)
            let settled: SettleResult = try await risk(Operations.Risk.resolveOrder, resolution, requestID: context.requestID)
            control.update(flags: settled.flags)
            control.liveOrders.resolved(id)
            GatewayCounters.operatorAction("resolve")
            logger.warning(
                "live order resolved by an operator",
                metadata: [
                    "request.id": "\(context.requestID)", "order": "\(id)", "status": "\(settled.order.status.rawValue)",
                    "requestedBy": "\(requestedBy)", "evidence": "\(resolution.evidence)",
                ]
            )
            return try jsonResponse(settled.order, requestID: context.requestID)
        }
    }

    /// The validated resolution, or a 422 naming the field.
    func resolution(of input: ResolveInput, id: String, requestedBy: String) throws(APIError) -> ResolveOrderRequest {
        guard let evidence = input.evidence?.trimmingCharacters(in: .whitespacesAndNewlines), (1...500).contains(evidence.count),
            evidence.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw APIError(.unprocessableContent, "invalid_evidence", "evidence must be 1 to 500 printable characters naming what proves the outcome")
        }
        let audited = evidence + (input.reason.map { "; reason: \($0)" } ?? "")
        switch input.outcome {
        case "rejected":
            guard input.fill == nil else { throw APIError(.unprocessableContent, "invalid_fill", "a rejected order has no fill: leave fill out") }
            return ResolveOrderRequest(
                clientOrderId: id,
                kind: .operator,
                fill: nil,
                rejectReason: "resolved by \(requestedBy): \(evidence)",
                requestedBy: requestedBy,
                evidence: audited
            )
        case "filled":
            guard let given = input.fill else {
                throw APIError(
                    .unprocessableContent,
                    "invalid_fill",
                    "a filled order needs fill: {price, quantity, quoteAmount?, fee?} as the exchange reports it"
                )
            }
            let price = try Self.fillAmount(given.price, "price", positive: true)
            let quantity = try Self.fillAmount(given.quantity, "quantity", positive: true)
            let quote = try given.quoteAmount.map { value throws(APIError) in try Self.fillAmount(value, "quoteAmount", positive: true) }
            let fee = try given.fee.map { value throws(APIError) in try Self.fillAmount(value, "fee", positive: false) } ?? 0
            let fill: Fill
            do throws(WireError) {
                fill = try Fill(
                    price: price,
                    quantity: quantity,
                    notional: quote ?? (price * quantity).rounded(scale: 8),
                    fee: fee,
                    dryRun: false,
                    filledAt: unixMilliseconds()
                )
            } catch {
                throw APIError(.unprocessableContent, "invalid_fill", error.detail)
            }
            return ResolveOrderRequest(clientOrderId: id, kind: .operator, fill: fill, rejectReason: nil, requestedBy: requestedBy, evidence: audited)
        default:
            throw APIError(.unprocessableContent, "invalid_outcome", "outcome must be filled or rejected")
        }
    }

    /// A fill figure: finite, below 1e12, positive (or, for the fee, not negative), 8 places.
    static func fillAmount(_ value: Double, _ name: String, positive: Bool) throws(APIError) -> Decimal {
        guard value.isFinite, positive ? value > 0 : value >= 0, value < 1e12, let decimal = Decimal(exactly: value, scale: 8),
            !positive || decimal > 0
        else {
            throw APIError(
                .unprocessableContent,
                "invalid_fill",
                "fill.\(name) must be a finite \(positive ? "positive" : "non-negative") number below 1e12"
            )
        }
        return decimal
    }
}
