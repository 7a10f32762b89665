import Foundation
import Metrics
import Synchronization
import TradingWire

/// How a model id's canary takes part in consensus.
public enum CanaryMode: String, Codable, Sendable {
    /// Not asked at all.
    case off
    /// Asked beside the incumbent on every request; scored and compared, never voted.
    case shadow
    /// Votes instead of the incumbent on a share of requests.
    case split
    /// Votes instead of the incumbent on every request (the incumbent is kept for rollback).
    case promoted
}

/// One model id's canary settings.
public struct CanaryRouting: Codable, Sendable, Equatable {
    public var mode: CanaryMode
    /// For `split`: the share of requests the canary votes on, 0...1.
    public var share: Double

    public init(mode: CanaryMode, share: Double) {
        self.mode = mode
        self.share = share
    }
}

/// What the gateway knows about the models: the canary routing per model id (changed through
/// the API), the versions last heard voting, and how often a shadow canary agreed with the
/// incumbent. Read on the broker thread when a consensus fans out, so everything is behind a lock.
public final class ModelDirectory: Sendable {
    /// One model id's view for `/api/models` and `/health`.
    public struct Entry: Codable, Sendable {
        public var modelId: String
        public var incumbentVersion: String?
        public var canaryVersion: String?
        public var canary: CanaryRouting
        public var shadowCompared: Int
        public var shadowAgreed: Int
        public var agreement: Double?
    }

    private struct State {
        var routing: [String: CanaryRouting] = [:]
        var incumbentVersions: [String: String] = [:]
        var canaryVersions: [String: String] = [:]
        var compared: [String: Int] = [:]
        var agreed: [String: Int] = [:]
    }

    private let state = Mutex(State())
    /// Routing a model id gets until an operator changes it: a live canary runs in shadow.
    private let defaultRouting: CanaryRouting

    public init(defaultRouting: CanaryRouting = CanaryRouting(mode: .shadow, share: 0)) {
        self.defaultRouting = defaultRouting
    }

    public func routing(_ modelID: String) -> CanaryRouting {
        state.withLock { $0.routing[modelID] ?? defaultRouting }
    }

    public func setRouting(_ modelID: String, _ routing: CanaryRouting) {
        state.withLock { $0.routing[modelID] = routing }
    }

    /// Records the versions that answered.
    func heard(_ vote: ModelVote, canary: Bool) {
        state.withLock { state in
            if canary { state.canaryVersions[vote.modelId] = vote.version } else { state.incumbentVersions[vote.modelId] = vote.version }
        }
    }

    /// A shadow canary's vote next to the incumbent's: do they point the same way?
    func compare(incumbent: ModelVote, canary: ModelVote) {
        let agree = (incumbent.probabilityUp >= 0.5) == (canary.probabilityUp >= 0.5)
        state.withLock { state in
            state.compared[canary.modelId, default: 0] += 1
            if agree { state.agreed[canary.modelId, default: 0] += 1 }
        }
        Counter(
            label: "model_canary_comparisons_total",
            dimensions: [("model_id", canary.modelId), ("model_version", canary.version), ("agree", agree ? "true" : "false")]
        ).increment()
    }

    /// Every model id that is live or was heard, with its routing and figures.
    public func entries(live: [String: Int]) -> [Entry] {
        let incumbentIDs = live.keys.flatMap(ServiceName.incumbentModelIDs(of:))
        let canaryIDs = live.keys.compactMap(ServiceName.canaryModelID(of:))
        return state.withLock { state in
            let ids = Set(incumbentIDs).union(canaryIDs).union(state.incumbentVersions.keys).union(state.routing.keys)
            return ids.sorted().map { id in
                let compared = state.compared[id] ?? 0
                let agreed = state.agreed[id] ?? 0
                return Entry(
                    modelId: id,
                    incumbentVersion: state.incumbentVersions[id],
                    canaryVersion: state.canaryVersions[id],
                    canary: state.routing[id] ?? defaultRouting,
                    shadowCompared: compared,
                    shadowAgreed: agreed,
                    agreement: compared > 0 ? Double(agreed) / Double(compared) : nil
                )
            }
        }
    }
}
