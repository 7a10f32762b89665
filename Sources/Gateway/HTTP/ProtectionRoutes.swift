import Foundation
import Hummingbird
import TradingWire

extension GatewayAPI {
    /// `POST /api/risk/state`, `GET /api/locks`, `DELETE /api/locks/{id}`.
    /// Reads on `router`, changes on `guarded` (the bearer-token group).
    func registerProtectionRoutes(on router: Router<GatewayRequestContext>, guarded: RouterGroup<GatewayRequestContext>) {
        guarded.post("api/risk/state") { request, context in
            let requestID = context.requestID
            let input = try await request.decodeJSON(StateInput.self, limit: configuration.maxBodyBytes)
            guard let state = TradingState(rawValue: input.state.uppercased()) else {
                throw APIError(.unprocessableContent, "invalid_state", "state must be ACTIVE, REDUCING or HALTED")
            }
            let requestedBy = try operatorName(input.operatorInput, request)
            let change = StateChange(state: state, reason: input.reason, requestedBy: requestedBy)
            return try await perform(
                "state",
                isHalt: state == .halted,
                reason: input.reason,
                requestedBy: requestedBy,
                message: "trading state \(state.rawValue) requested",
                requestID: requestID
            ) { (requestID: String) async throws(APIError) -> RiskStatus in
                try await risk(Operations.Risk.setState, change, requestID: requestID)
            }
        }
        router.get("api/locks") { _, context in
            let list: LockList = try await risk(Operations.Risk.locks, Empty(), requestID: context.requestID)
            return try jsonResponse(list, requestID: context.requestID)
        }
        guarded.delete("api/locks/:id") { request, context in
            let requestID = context.requestID
            let id = context.parameters.get("id") ?? ""
            guard (1...128).contains(id.utf8.count),
                id.utf8.allSatisfy({
                    $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
                })
            else {
                throw APIError(.unprocessableContent, "invalid_lock_id", "a lock id is 1 to 128 letters, digits, dashes or underscores")
            }
            let requestedBy = try operatorName(OperatorInput(reason: nil, requestedBy: nil), request)
            GatewayCounters.operatorAction("unlock")
            let result: UnlockResult = try await risk(Operations.Risk.unlock, UnlockRequest(id: id, requestedBy: requestedBy), requestID: requestID)
            logger.warning("protection lock deleted", metadata: ["request.id": "\(requestID)", "lock": "\(id)", "requestedBy": "\(requestedBy)"])
            return try jsonResponse(result, requestID: requestID)
        }
    }
}
