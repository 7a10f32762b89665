import Foundation
import Logging
import ServiceSupport
import Synchronization
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
        writer.field(
            "excluded",
            objects: excluded.map { excluded in
                var entry = FastJSON.ObjectWriter()
                entry.field("modelId", excluded.modelId)
                entry.field("reason", excluded.reason)
                return entry
            }
        )
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
        // Stale data (MAX_CANDLE_AGE): no consensus at all, as no order (409 naming the age).
        if let risk = control.riskStatus,
            let problem = StaleDataGuard.problem(
                symbol: symbol,
                clock: market.clock(for: symbol),
                maxAge: risk.status.limits.maxCandleAge,
                now: unixMilliseconds()
            )
        {
            throw APIError(.conflict, "stale_market_data", "no consensus: \(problem)")
        }
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
            throw APIError(
                .serviceUnavailable,
                "service_unavailable",
                "no model could vote: " + excluded.map { "\($0.modelId): \($0.reason)" }.joined(separator: "; ")
            )
        }
        let signal = configuration.consensus.combine(votes)
        var reasons = excluded.map { "model \($0.modelId) left out: \($0.reason)" } + signal.blockers

        // The risk gate, decided on the risk worker's latest status: the gateway hears every
        // change of halt and lock as it happens (it mediates them) and refreshes the rest by
        // polling. No known or fresh status: no trade.
        let gate: GateResult
        let now = unixMilliseconds()
        if let risk = control.riskStatus, now - risk.at <= configuration.riskStaleMilliseconds {
            // The trading mode's book: in live mode the live book's position, never the paper one.
            let book = configuration.tradingMode == .live ? risk.status.live?.account : risk.status.account
            let position = book?.positions.first { $0.symbol == symbol }?.quantity ?? 0
            gate = RiskEngine.gate(
                GateRequest(symbol: symbol, side: signal.side, confidence: signal.confidence),
                flags: risk.status.flags,
                limits: risk.status.limits,
                context: RiskEngine.GateContext(now: now, position: position, clock: market.clock(for: symbol))
            )
            if gate.reasons.contains(where: { $0.hasPrefix("stale_market_data") }) { GatewayCounters.staleData("consensus") }
        } else {
            gate = GateResult(
                allow: false,
                reasons: ["risk status unknown or stale: the risk worker has not answered recently"],
                flags: RiskFlags(halted: true, haltReason: "risk status unknown", riskLocked: false, lockReason: nil)
            )
        }
        reasons += gate.reasons
        return ConsensusOutput(
            requestId: requestID,
            symbol: symbol,
            allow: gate.allow && signal.blockers.isEmpty,
            confidence: signal.confidence,
            side: signal.side,
            probabilityUp: signal.probabilityUp,
            agreement: signal.agreement,
            threshold: control.riskStatus?.status.limits.confidenceThreshold,
            votes: votes,
            excluded: excluded,
            reasons: reasons,
            features: featureResult.features,
            featureSource: featureResult.source,
            price: featureResult.price
        )
    }

    /// Every feature given: nothing to compute, so the feature worker is not asked. The vector is
    /// built here by the same `FeatureBuilder` (the same checks, errors and answer), and the model
    /// ids are asked at once.
    private func givenThenVotes(
        _ given: [String: Double],
        requestID: String
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
        _ input: ConsensusInput,
        symbol: String,
        needsCandles: Bool,
        requestID: String
    ) async throws(APIError) -> (FeatureResult, VotePlan, [Result<[UInt8], BrokerError>]) {
        let asOf = input.candles == nil && needsCandles ? market.newestOpenTime(for: symbol) : nil
        // Nothing given: the features are the symbol's as of its newest candle. A feature worker
        // computed them once for that candle; every later consensus on it reuses its answer.
        let fromFeed = asOf != nil && (input.features?.isEmpty ?? true)
        if fromFeed, let asOf, let known = market.features(for: symbol, asOf: asOf) {
            return await votes(on: known, requestID: requestID)
        }
        var (plan, featureOutcome, voteOutcomes) = try await featuresThenVotes(
            FeatureRequest(
                symbol: symbol,
                features: input.features,
                candles: asOf == nil ? input.candles ?? (needsCandles ? [] : nil) : nil,
                asOf: asOf
            ),
            requestID: requestID
        )
        if asOf != nil, plan.featureResult == nil, case .success(let bytes) = featureOutcome,
            (try? WireCodec.decode(WireReply<Empty>.self, from: bytes))?.error?.code == "features_not_current"
        {
            (plan, featureOutcome, voteOutcomes) = try await featuresThenVotes(
                FeatureRequest(symbol: symbol, features: input.features, candles: market.candles(for: symbol)),
                requestID: requestID
            )
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
        _ request: FeatureRequest,
        requestID: String
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

/// The model services live, by kind: read from the broker's list of live services once per
/// change of it, not on every consensus.
struct ModelRoutes: Sendable {
    /// Model ids with a `model.<id>` worker of their own.
    var incumbents: Set<String> = []
    /// Model ids with a live canary.
    var canaries: Set<String> = []
    /// For each model id a bundle serves, the first such bundle by name.
    var bundleOf: [String: String] = [:]
    /// Every incumbent model id live, sorted.
    var liveModelIDs: [String] = []

    init(live: [String: Int]) {
        incumbents = Set(live.keys.compactMap(ServiceName.modelID(of:)))
        canaries = Set(live.keys.compactMap(ServiceName.canaryModelID(of:)))
        for service in live.keys.sorted() {
            for id in ServiceName.bundledModelIDs(of: service) ?? [] where bundleOf[id] == nil { bundleOf[id] = service }
        }
        liveModelIDs = incumbents.union(bundleOf.keys).sorted()
    }

    private static let last = Mutex<(live: [String: Int], routes: ModelRoutes)?>(nil)

    /// The routes of `live`, reused while the live services stay the same.
    static func of(_ live: [String: Int]) -> ModelRoutes {
        if let last = last.withLock({ $0 }), last.live == live { return last.routes }
        let routes = ModelRoutes(live: live)
        last.withLock { $0 = (live, routes) }
        return routes
    }
}

/// Which model ids a consensus asks, decided on the broker thread when the features are in,
/// and how their answers become votes. The lock makes the hand-over between threads explicit.
final class VotePlan: Sendable {
    /// One request: to a model id's incumbent or canary (voting or shadow), or to a bundle for
    /// several incumbent model ids at once.
    struct Ask: Sendable {
        var service: String
        var modelIDs: [String]
        var canary: Bool
        var votes: Bool
        var bundled: Bool

        static func single(_ modelID: String, canary: Bool, votes: Bool) -> Ask {
            Ask(
                service: canary ? ServiceName.canary(modelID) : ServiceName.model(modelID),
                modelIDs: [modelID],
                canary: canary,
                votes: votes,
                bundled: false
            )
        }
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

    /// The feature worker's answer, once `prepare` has seen it.
    var featureResult: FeatureResult? { state.withLock { $0.featureResult } }

    /// One predict request per model id with a live worker of its own (and its canary, as
    /// routed), one per live bundle for the model ids only a bundle serves; the others are left
    /// out, named.
    func prepare(features result: FeatureResult, requestID: String, live: [String: Int], configuration: GatewayConfiguration) -> [Broker.BatchItem] {
        let features = result.features
        let routes = ModelRoutes.of(live)
        let modelIDs = configuration.modelIDs.isEmpty ? routes.liveModelIDs : configuration.modelIDs
        var asks: [Ask] = []
        var bundled: [String: [String]] = [:]
        var excluded: [ExcludedModel] = []
        for modelID in modelIDs {
            let routing = routes.canaries.contains(modelID) ? directory.routing(modelID) : CanaryRouting(mode: .off, share: 0)
            let canaryVotes = routing.mode == .promoted || (routing.mode == .split && Double.random(in: 0..<1) < routing.share)
            if canaryVotes {
                asks.append(.single(modelID, canary: true, votes: true))
                continue
            }
            if routes.incumbents.contains(modelID) {
                asks.append(.single(modelID, canary: false, votes: true))
            } else if let bundle = routes.bundleOf[modelID] {
                bundled[bundle, default: []].append(modelID)
            } else {
                excluded.append(ExcludedModel(modelId: modelID, reason: "no live worker"))
                continue
            }
            if routing.mode == .shadow { asks.append(.single(modelID, canary: true, votes: false)) }
        }
        for (service, ids) in bundled.sorted(by: { $0.key < $1.key }) {
            asks.append(Ask(service: service, modelIDs: ids, canary: false, votes: true, bundled: true))
        }
        if modelIDs.isEmpty { excluded = [ExcludedModel(modelId: "*", reason: "no model worker is live")] }
        var items: [Broker.BatchItem] = []
        var sent: [Ask] = []
        let single =
            asks.contains { !$0.bundled }
            ? try? WireCodec.encode(Operations.Model.predict.request(PredictRequest(features: features), requestID: requestID)) : nil
        for ask in asks {
            let body =
                ask.bundled
                ? try? WireCodec.encode(
                    Operations.Model.predictModels.request(PredictModelsRequest(features: features, modelIds: ask.modelIDs), requestID: requestID)
                )
                : single
            guard let body else {
                if ask.votes { excluded += ask.modelIDs.map { ExcludedModel(modelId: $0, reason: "request could not be encoded") } }
                continue
            }
            sent.append(ask)
            items.append(Broker.BatchItem(service: ask.service, body: body, timeoutMilliseconds: configuration.modelTimeoutMilliseconds))
        }
        state.withLock { $0 = State(featureResult: result, asks: sent, excluded: excluded) }
        return items
    }

    /// The votes that came in, and every model id left out with the reason. Shadow answers are
    /// compared with the incumbent's, never counted. A bundle's answer counts only whole: one
    /// vote per model id asked, in the order asked, each from the model named.
    func collect(_ outcomes: [Result<[UInt8], BrokerError>]) -> ([ModelVote], [ExcludedModel]) {
        let (asks, excludedBefore) = state.withLock { ($0.asks, $0.excluded) }
        var votes: [ModelVote] = []
        var shadows: [ModelVote] = []
        var excluded = excludedBefore
        for (ask, outcome) in zip(asks, outcomes) {
            do throws(WorkerCallError) {
                let answered: [ModelVote]
                if ask.bundled {
                    answered = try WorkerClient.decode(ModelVotes.self, from: outcome, service: ask.service).votes
                    if let problem = ReplyChecks.bundleProblem(answered, askedModelIDs: ask.modelIDs) { throw WorkerCallError.badReply(problem) }
                } else {
                    let vote = try WorkerClient.decode(ModelVote.self, from: outcome, service: ask.service)
                    if let problem = ReplyChecks.voteProblem(vote, askedModelID: ask.modelIDs[0]) { throw WorkerCallError.badReply(problem) }
                    answered = [vote]
                }
                GatewayCounters.call(ask.service, outcome: "ok")
                for vote in answered {
                    directory.heard(vote, canary: ask.canary)
                    if ask.votes { votes.append(vote) } else { shadows.append(vote) }
                }
            } catch {
                GatewayCounters.call(ask.service, outcome: error.outcome)
                if ask.votes { excluded += ask.modelIDs.map { ExcludedModel(modelId: $0, reason: error.apiError.detail) } }
            }
        }
        for shadow in shadows {
            if let incumbent = votes.first(where: { $0.modelId == shadow.modelId }) { directory.compare(incumbent: incumbent, canary: shadow) }
        }
        return (votes.sorted { $0.modelId < $1.modelId }, excluded.sorted { $0.modelId < $1.modelId })
    }
}

extension ExcludedModel: Error {}
