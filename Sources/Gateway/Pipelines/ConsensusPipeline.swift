import Foundation
import Logging
import Synchronization
import ServiceSupport
import TradingDomain
import TradingWire

/// `POST /api/ai/consensus` body.
struct ConsensusInput: Decodable, Sendable {
    var symbol: String
    var features: [String: Double]?
    var candles: [Candle]?
}

extension ConsensusInput: FastJSONDecodable {
    /// The runbook's shape (symbol and given features); candles and anything unusual go through
    /// Foundation, which also words the errors.
    static func fromFastJSON(_ value: FastJSON.Value) -> ConsensusInput? {
        guard case .object(let members) = value, let symbol = members["symbol"]?.string else { return nil }
        if let candles = members["candles"], candles != .null { return nil }
        switch members["features"] {
        case nil, .null?:
            return ConsensusInput(symbol: symbol, features: nil, candles: nil)
        case .object(let given)?:
            var features: [String: Double] = [:]
            for (name, number) in given {
                guard let double = number.double else { return nil }
                features[name] = double
            }
            return ConsensusInput(symbol: symbol, features: features, candles: nil)
        default:
            return nil
        }
    }
}

extension ConsensusOutput: FastJSONEncodable {
    func fastJSON() -> [UInt8]? {
        var writer = FastJSON.ObjectWriter()
        writer.field("requestId", requestId)
        writer.field("symbol", symbol)
        writer.field("allow", allow)
        writer.field("confidence", confidence)
        writer.field("side", side.rawValue)
        writer.field("probabilityUp", probabilityUp)
        writer.field("agreement", agreement)
        writer.field("threshold", threshold)
        writer.field("votes", objects: votes.map(\.fastObject))
        writer.field("excluded", objects: excluded.map { excluded in
            var entry = FastJSON.ObjectWriter()
            entry.field("modelId", excluded.modelId)
            entry.field("reason", excluded.reason)
            return entry
        })
        writer.field("reasons", strings: reasons)
        writer.field("features", object: features.fastObject)
        writer.field("featureSource", featureSource)
        writer.field("price", price)
        return writer.valid ? writer.finished : nil
    }
}

/// A model id left out of the vote, and why.
struct ExcludedModel: Codable, Sendable {
    var modelId: String
    var reason: String
}

/// `POST /api/ai/consensus` answer.
struct ConsensusOutput: Encodable, Sendable {
    var requestId: String
    var symbol: String
    var allow: Bool
    var confidence: Double
    var side: Side
    var probabilityUp: Double
    var agreement: Double
    var threshold: Double?
    var votes: [ModelVote]
    var excluded: [ExcludedModel]
    var reasons: [String]
    var features: FeatureVector
    var featureSource: String
    var price: Double?
}

/// Feature worker → every model id in parallel → combined vote → risk gate.
struct ConsensusPipeline: Sendable {
    let broker: Broker
    let market: MarketCache
    let configuration: GatewayConfiguration
    let control: ControlCenter
    let models: ModelDirectory

    func run(_ input: ConsensusInput, requestID: String) async throws(APIError) -> ConsensusOutput {
        let symbol = try InputValidation.symbol(input.symbol)
        try InputValidation.features(input.features)
        if let candles = input.candles { try InputValidation.candles(candles, limit: configuration.candleWindow) }
        let given = input.features ?? [:]
        let needsCandles = FeatureVector.names.contains { given[$0] == nil }
        let (featureResult, plan, voteOutcomes): (FeatureResult, VotePlan, [Result<[UInt8], BrokerError>])
        if input.candles == nil, !needsCandles {
            (featureResult, plan, voteOutcomes) = try await givenThenVotes(given, requestID: requestID)
        } else {
            (featureResult, plan, voteOutcomes) = try await computedThenVotes(input, symbol: symbol, needsCandles: needsCandles, requestID: requestID)
        }
        let (votes, excluded) = plan.collect(voteOutcomes)
        guard !votes.isEmpty else {
            throw APIError(.serviceUnavailable, "service_unavailable", "no model could vote: " + excluded.map { "\($0.modelId): \($0.reason)" }.joined(separator: "; "))
        }
        let signal = configuration.consensus.combine(votes)
        var reasons = excluded.map { "model \($0.modelId) left out: \($0.reason)" } + signal.blockers

        // The risk gate, decided on the risk worker's latest status: the gateway hears every
        // change of halt and lock as it happens (it mediates them) and refreshes the rest by
        // polling. No known or fresh status: no trade.
        let gate: GateResult
        let now = unixMilliseconds()
        if let risk = control.riskStatus, now - risk.at <= configuration.riskStaleMilliseconds {
            let position = risk.status.account.positions.first { $0.symbol == symbol }?.quantity ?? 0
            gate = RiskEngine.gate(
                GateRequest(symbol: symbol, side: signal.side, confidence: signal.confidence), flags: risk.status.flags,
                limits: risk.status.limits, context: RiskEngine.GateContext(now: now, position: position, clock: market.clock(for: symbol)))
            if gate.reasons.contains(where: { $0.hasPrefix("stale_market_data") }) { GatewayCounters.staleData("consensus") }
        } else {
            gate = GateResult(
                allow: false, reasons: ["risk status unknown or stale: the risk worker has not answered recently"],
                flags: RiskFlags(halted: true, haltReason: "risk status unknown", riskLocked: false, lockReason: nil))
        }
        reasons += gate.reasons
        return ConsensusOutput(
            requestId: requestID, symbol: symbol, allow: gate.allow && signal.blockers.isEmpty, confidence: signal.confidence,
            side: signal.side, probabilityUp: signal.probabilityUp, agreement: signal.agreement,
            threshold: control.riskStatus?.status.limits.confidenceThreshold, votes: votes, excluded: excluded, reasons: reasons,
            features: featureResult.features, featureSource: featureResult.source, price: featureResult.price)
    }

    /// Every feature given: nothing to compute, so the feature worker is not asked. The vector is
    /// built here by the same `FeatureBuilder` (the same checks, errors and answer), and the model
    /// ids are asked at once.
    private func givenThenVotes(
        _ given: [String: Double], requestID: String
    ) async throws(APIError) -> (FeatureResult, VotePlan, [Result<[UInt8], BrokerError>]) {
        let featureResult: FeatureResult
        do throws(WireError) {
            featureResult = try FeatureBuilder.build(given: given, candles: nil)
        } catch {
            throw WorkerCallError.worker(error).apiError
        }
        return await votes(on: featureResult, requestID: requestID)
    }

    /// Every model id asked at once about features already known.
    private func votes(on featureResult: FeatureResult, requestID: String) async -> (FeatureResult, VotePlan, [Result<[UInt8], BrokerError>]) {
        let plan = VotePlan(directory: models)
        let asks = plan.prepare(features: featureResult, requestID: requestID, live: broker.snapshot.workers, configuration: configuration)
        return (featureResult, plan, await broker.request(batch: asks))
    }

    /// Features to compute: from the feed's candles (the feature worker computed them when the
    /// newest candle reached it; the request only names that candle, `asOf`, and a worker that
    /// has not heard it yet says so and is then handed the candles) or from the candles given.
    private func computedThenVotes(
        _ input: ConsensusInput, symbol: String, needsCandles: Bool, requestID: String
    ) async throws(APIError) -> (FeatureResult, VotePlan, [Result<[UInt8], BrokerError>]) {
        let asOf = input.candles == nil && needsCandles ? market.newestOpenTime(for: symbol) : nil
        // Nothing given: the features are the symbol's as of its newest candle. A feature worker
        // computed them once for that candle; every later consensus on it reuses its answer.
        let fromFeed = asOf != nil && (input.features?.isEmpty ?? true)
        if fromFeed, let asOf, let known = market.features(for: symbol, asOf: asOf) {
            return await votes(on: known, requestID: requestID)
        }
        var (plan, featureOutcome, voteOutcomes) = try await featuresThenVotes(
            FeatureRequest(symbol: symbol, features: input.features, candles: asOf == nil ? input.candles ?? (needsCandles ? [] : nil) : nil, asOf: asOf),
            requestID: requestID)
        if asOf != nil, plan.featureResult == nil, case .success(let bytes) = featureOutcome,
            (try? WireCodec.decode(WireReply<Empty>.self, from: bytes))?.error?.code == "features_not_current"
        {
            (plan, featureOutcome, voteOutcomes) = try await featuresThenVotes(
                FeatureRequest(symbol: symbol, features: input.features, candles: market.candles(for: symbol)), requestID: requestID)
        }
        // The broker thread already read the feature reply when it was good; only a failed one
        // is read again here, to say why.
        if let decoded = plan.featureResult {
            GatewayCounters.call(ServiceName.feature, outcome: "ok")
            if fromFeed, let asOf, decoded.source == "candles" { market.remember(decoded, for: symbol, asOf: asOf) }
            return (decoded, plan, voteOutcomes)
        }
        do throws(WorkerCallError) {
            let featureResult = try WorkerClient.decode(FeatureResult.self, from: featureOutcome, service: ServiceName.feature)
            GatewayCounters.call(ServiceName.feature, outcome: "ok")
            return (featureResult, plan, voteOutcomes)
        } catch {
            GatewayCounters.call(ServiceName.feature, outcome: error.outcome)
            throw error.apiError
        }
    }

    /// Feature worker, then every model id at once: the broker turns the feature reply into the
    /// model batch on its own thread, so the request crosses threads once, not twice.
    private func featuresThenVotes(
        _ request: FeatureRequest, requestID: String
    ) async throws(APIError) -> (VotePlan, Result<[UInt8], BrokerError>, [Result<[UInt8], BrokerError>]) {
        let featureBody: [UInt8]
        do {
            featureBody = try WireCodec.encode(Operations.Feature.features.request(request, requestID: requestID))
        } catch {
            throw APIError(.internalServerError, "internal_error", "the feature request could not be encoded")
        }
        let plan = VotePlan(directory: models)
        let (featureOutcome, voteOutcomes) = await broker.request(
            Broker.BatchItem(service: ServiceName.feature, body: featureBody, timeoutMilliseconds: configuration.broker.requestTimeoutMilliseconds)
        ) { [broker, configuration] outcome in
            guard case .success(let bytes) = outcome, let reply = try? WireCodec.decode(WireReply<FeatureResult>.self, from: bytes),
                let result = reply.result
            else { return [] }
            return plan.prepare(features: result, requestID: requestID, live: broker.snapshot.workers, configuration: configuration)
        }
        return (plan, featureOutcome, voteOutcomes)
    }

}

/// Which model ids a consensus asks, decided on the broker thread when the features are in,
/// and how their answers become votes. The lock makes the hand-over between threads explicit.
final class VotePlan: Sendable {
    /// One predict request: for which model id, to the incumbent or the canary, voting or shadow.
    struct Ask: Sendable {
        var modelID: String
        var canary: Bool
        var votes: Bool
    }

    private struct State {
        var featureResult: FeatureResult?
        var asks: [Ask] = []
        var excluded: [ExcludedModel] = []
    }

    private let state = Mutex(State())
    private let directory: ModelDirectory

    init(directory: ModelDirectory) {
        self.directory = directory
    }

    /// One predict request per model id with a live worker (and its canary, as routed); the
    /// others are left out, named.
    /// The feature worker's answer, once `prepare` has seen it.
    var featureResult: FeatureResult? { state.withLock { $0.featureResult } }

    func prepare(features result: FeatureResult, requestID: String, live: [String: Int], configuration: GatewayConfiguration) -> [Broker.BatchItem] {
        let features = result.features
        let liveIDs = live.keys.compactMap(ServiceName.modelID(of:))
        let canaries = Set(live.keys.compactMap(ServiceName.canaryModelID(of:)))
        let modelIDs = configuration.modelIDs.isEmpty ? liveIDs.sorted() : configuration.modelIDs
        let liveSet = Set(liveIDs)
        var asks: [Ask] = []
        var excluded: [ExcludedModel] = []
        for modelID in modelIDs {
            let routing = canaries.contains(modelID) ? directory.routing(modelID) : CanaryRouting(mode: .off, share: 0)
            let canaryVotes = routing.mode == .promoted || (routing.mode == .split && Double.random(in: 0..<1) < routing.share)
            if canaryVotes {
                asks.append(Ask(modelID: modelID, canary: true, votes: true))
            } else if liveSet.contains(modelID) {
                asks.append(Ask(modelID: modelID, canary: false, votes: true))
                if routing.mode == .shadow { asks.append(Ask(modelID: modelID, canary: true, votes: false)) }
            } else {
                excluded.append(ExcludedModel(modelId: modelID, reason: "no live worker"))
            }
        }
        if modelIDs.isEmpty { excluded = [ExcludedModel(modelId: "*", reason: "no model worker is live")] }
        guard let body = try? WireCodec.encode(Operations.Model.predict.request(PredictRequest(features: features), requestID: requestID)) else {
            excluded += asks.filter(\.votes).map { ExcludedModel(modelId: $0.modelID, reason: "request could not be encoded") }
            state.withLock { $0 = State(featureResult: result, asks: [], excluded: excluded) }
            return []
        }
        state.withLock { $0 = State(featureResult: result, asks: asks, excluded: excluded) }
        return asks.map {
            Broker.BatchItem(
                service: $0.canary ? ServiceName.canary($0.modelID) : ServiceName.model($0.modelID), body: body,
                timeoutMilliseconds: configuration.modelTimeoutMilliseconds)
        }
    }

    /// The votes that came in, and every model id left out with the reason. Shadow answers are
    /// compared with the incumbent's, never counted.
    func collect(_ outcomes: [Result<[UInt8], BrokerError>]) -> ([ModelVote], [ExcludedModel]) {
        let (asks, excludedBefore) = state.withLock { ($0.asks, $0.excluded) }
        var votes: [ModelVote] = []
        var shadows: [ModelVote] = []
        var excluded = excludedBefore
        for (ask, outcome) in zip(asks, outcomes) {
            let service = ask.canary ? ServiceName.canary(ask.modelID) : ServiceName.model(ask.modelID)
            do throws(WorkerCallError) {
                let vote = try WorkerClient.decode(ModelVote.self, from: outcome, service: service)
                if let problem = ReplyChecks.voteProblem(vote, askedModelID: ask.modelID) {
                    throw WorkerCallError.badReply(problem)
                }
                GatewayCounters.call(service, outcome: "ok")
                directory.heard(vote, canary: ask.canary)
                if ask.votes { votes.append(vote) } else { shadows.append(vote) }
            } catch {
                GatewayCounters.call(service, outcome: error.outcome)
                if ask.votes { excluded.append(ExcludedModel(modelId: ask.modelID, reason: error.apiError.detail)) }
            }
        }
        for shadow in shadows {
            if let incumbent = votes.first(where: { $0.modelId == shadow.modelId }) { directory.compare(incumbent: incumbent, canary: shadow) }
        }
        return (votes.sorted { $0.modelId < $1.modelId }, excluded.sorted { $0.modelId < $1.modelId })
    }
}

extension ExcludedModel: Error {}
