import Foundation
import Logging
import ServiceSupport
import TradingDomain
import TradingWire

/// `POST /api/ai/consensus` body.
struct ConsensusInput: Decodable, Sendable {
    var symbol: String
    var features: [String: Double]?
    var candles: [Candle]?
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
    let workers: WorkerClient
    let broker: Broker
    let market: MarketCache
    let configuration: GatewayConfiguration
    let control: ControlCenter

    func run(_ input: ConsensusInput, requestID: String) async throws(APIError) -> ConsensusOutput {
        let symbol = try InputValidation.symbol(input.symbol)
        try InputValidation.features(input.features)
        if let candles = input.candles { try InputValidation.candles(candles, limit: configuration.candleWindow) }
        let given = input.features ?? [:]
        let needsCandles = FeatureVector.names.contains { given[$0] == nil }
        let candles = input.candles ?? (needsCandles ? market.candles(for: symbol) : nil)

        let featureResult: FeatureResult
        do {
            featureResult = try await workers.call(
                ServiceName.feature, op: "features", payload: FeatureRequest(symbol: symbol, features: input.features, candles: candles),
                requestID: requestID)
        } catch {
            throw error.apiError
        }

        let (votes, excluded) = await collectVotes(featureResult.features, requestID: requestID)
        guard !votes.isEmpty else {
            throw APIError(.serviceUnavailable, "service_unavailable", "no model could vote: " + excluded.map { "\($0.modelId): \($0.reason)" }.joined(separator: "; "))
        }
        let signal = configuration.consensus.combine(votes)
        var reasons = excluded.map { "model \($0.modelId) left out: \($0.reason)" } + signal.blockers

        // The risk gate, decided on the risk worker's latest status: the gateway hears every
        // change of halt and lock as it happens (it mediates them) and refreshes the rest by
        // polling. No known or fresh status: no trade.
        let gate: GateResult
        if let risk = control.riskStatus, unixMilliseconds() - risk.at <= configuration.riskStaleMilliseconds {
            gate = RiskEngine.gate(
                GateRequest(symbol: symbol, side: signal.side, confidence: signal.confidence), flags: risk.status.flags,
                limits: risk.status.limits)
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

    /// Asks one replica of every model id at once; a model id that fails or times out is left out.
    private func collectVotes(_ features: FeatureVector, requestID: String) async -> ([ModelVote], [ExcludedModel]) {
        let live = broker.snapshot.workers.keys.compactMap(ServiceName.modelID(of:))
        let modelIDs = configuration.modelIDs.isEmpty ? live.sorted() : configuration.modelIDs
        if modelIDs.isEmpty { return ([], [ExcludedModel(modelId: "*", reason: "no model worker is live")]) }
        let liveSet = Set(live)
        var excluded = modelIDs.filter { !liveSet.contains($0) }.map { ExcludedModel(modelId: $0, reason: "no live worker") }
        let asked = modelIDs.filter { liveSet.contains($0) }
        let body: [UInt8]
        do {
            body = try WireCodec.encode(WireRequest(op: "predict", requestId: requestID, payload: PredictRequest(features: features)))
        } catch {
            return ([], modelIDs.map { ExcludedModel(modelId: $0, reason: "request could not be encoded") })
        }
        let items = asked.map {
            Broker.BatchItem(service: ServiceName.model($0), body: body, timeoutMilliseconds: configuration.modelTimeoutMilliseconds)
        }
        var votes: [ModelVote] = []
        for (modelID, outcome) in zip(asked, await broker.request(batch: items)) {
            do throws(WorkerCallError) {
                votes.append(try WorkerClient.decode(ModelVote.self, from: outcome, service: ServiceName.model(modelID)))
                GatewayCounters.call(ServiceName.model(modelID), outcome: "ok")
            } catch {
                GatewayCounters.call(ServiceName.model(modelID), outcome: error.outcome)
                excluded.append(ExcludedModel(modelId: modelID, reason: error.apiError.detail))
            }
        }
        return (votes, excluded.sorted { $0.modelId < $1.modelId })
    }
}

extension ExcludedModel: Error {}
