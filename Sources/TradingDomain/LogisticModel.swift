import Foundation
import TradingWire

/// A logistic-regression model artifact: `p(up) = 1 / (1 + exp(-(bias + sum(w_i * (x_i - mean_i) / scale_i))))`.
///
/// Stored as JSON: `{"kind": "logistic", "version": "...", "features": [...], "means": [...],
/// "scales": [...], "weights": [...], "bias": 0.0}`.
public struct LogisticModel: Codable, Sendable, Equatable {
    public var kind: String
    public var version: String
    public var features: [String]
    public var means: [Double]
    public var scales: [Double]
    public var weights: [Double]
    public var bias: Double

    public init(version: String, features: [String], means: [Double], scales: [Double], weights: [Double], bias: Double) {
        self.kind = "logistic"
        self.version = version
        self.features = features
        self.means = means
        self.scales = scales
        self.weights = weights
        self.bias = bias
    }

    /// Reads and checks an artifact: right kind, the feature names this pipeline computes, arrays
    /// of matching length, finite numbers, non-zero scales.
    public static func load(from data: Data) throws -> LogisticModel {
        try load(from: data, parsed: ArtifactJSON.parse(data))
    }

    /// `load(from:)` with the document already parsed by `FastJSON` (nil when it declined): read
    /// from that tree when every field has the type declared, otherwise by `JSONDecoder`.
    static func load(from data: Data, parsed: FastJSON.Value?) throws -> LogisticModel {
        let model = try ArtifactJSON.decode(
            LogisticModel.self,
            from: data,
            parsed: parsed,
            fast: LogisticModel.init(fastJSON:),
            unreadable: { .unreadable("\($0)") }
        )
        try model.validate()
        return model
    }

    /// The fields `Codable` reads, from a `FastJSON` tree; nil unless each has exactly its type.
    init?(fastJSON value: FastJSON.Value) {
        guard let kind = value["kind"]?.string, let version = value["version"]?.string,
            let features = value["features"].flatMap(ArtifactJSON.strings), let means = value["means"].flatMap(ArtifactJSON.doubles),
            let scales = value["scales"].flatMap(ArtifactJSON.doubles), let weights = value["weights"].flatMap(ArtifactJSON.doubles),
            case .number(let bias, _)? = value["bias"]
        else { return nil }
        self.init(version: version, features: features, means: means, scales: scales, weights: weights, bias: bias)
        self.kind = kind
    }

    public func validate() throws {
        guard kind == "logistic" else { throw ModelArtifactError.wrongKind(kind) }
        guard Set(features).isSubset(of: Set(FeatureVector.names)), !features.isEmpty, Set(features).count == features.count else {
            throw ModelArtifactError.featureMismatch(features)
        }
        let n = features.count
        guard means.count == n, scales.count == n, weights.count == n else {
            throw ModelArtifactError.unreadable("means, scales and weights must each have \(n) entries")
        }
        guard (means + scales + weights + [bias]).allSatisfy(\.isFinite), scales.allSatisfy({ $0 != 0 }) else {
            throw ModelArtifactError.unreadable("parameters must be finite and scales non-zero")
        }
    }

    /// Probability that the next period closes up.
    public func probabilityUp(_ vector: FeatureVector) -> Double {
        var z = bias
        for (index, name) in features.enumerated() {
            z += weights[index] * (vector.value(named: name) - means[index]) / scales[index]
        }
        return 1 / (1 + Foundation.exp(-z))
    }
}

extension FeatureVector {
    /// The value of a feature by its wire name.
    public func value(named name: String) -> Double {
        switch name {
        case "mom_20": mom20
        case "rv_5": rv5
        case "rsi_14": rsi14
        default: .nan
        }
    }
}

/// A model artifact that cannot serve.
public enum ModelArtifactError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case wrongKind(String)
    case featureMismatch([String])

    public var description: String {
        switch self {
        case .unreadable(let detail): "model artifact unreadable: \(detail)"
        case .wrongKind(let kind): "model artifact kind \"\(kind)\" is not supported (expected \"logistic\" or an XGBoost JSON model)"
        case .featureMismatch(let names): "model artifact features \(names) do not match this pipeline's \(FeatureVector.names)"
        }
    }
}
