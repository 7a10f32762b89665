import Foundation
import TradingWire

/// Gradient-boosted trees in XGBoost's own JSON model format (what `Booster.save_model("x.json")`
/// writes), for `binary:logistic`, evaluated bit for bit as XGBoost does, all in `Float`: the base
/// margin is `-log(1 / base_score - 1)`; each tree compares `Float(x) < condition` (left; equal
/// goes right; a missing value goes the default way); leaf values are added to the margin in
/// boosting order; then `1 / (exp(min(-margin, 88.7)) + 1)`.
///
/// Fields read: `learner.feature_names`, `learner.objective.name`,
/// `learner.learner_model_param.base_score` (text such as `"5E-1"` or `"[5E-1]"`),
/// `learner.gradient_booster.model.tree_info` (only group 0 trees count),
/// `learner.gradient_booster.model.trees[*]` with `left_children`, `right_children`,
/// `split_indices`, `split_conditions`, `default_left` (a leaf has `left_children[n] == -1` and
/// its value in `split_conditions[n]`).
public struct XGBoostModel: Sendable, Equatable {
    public struct Tree: Sendable, Equatable {
        let left: [Int32]
        let right: [Int32]
        let feature: [Int32]
        let condition: [Float]
        let defaultLeft: [Bool]

        /// The leaf value for `x`.
        func leaf(_ x: [Float]) -> Float {
            var node = 0
            while left[node] != -1 {
                let value = x[Int(feature[node])]
                if value.isNaN {
                    node = Int(defaultLeft[node] ? left[node] : right[node])
                } else {
                    node = Int(value < condition[node] ? left[node] : right[node])
                }
            }
            return condition[node]
        }
    }

    public let features: [String]
    public let baseMargin: Float
    public let trees: [Tree]

    /// Reads and checks an artifact: the objective, the feature names this pipeline computes,
    /// well-formed trees whose indexes stay in range.
    public static func load(from data: Data) throws -> XGBoostModel {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw ModelArtifactError.unreadable("not an XGBoost JSON model: \(error)")
        }
        let learner = file.learner
        guard learner.objective.name == "binary:logistic" else {
            throw ModelArtifactError.unreadable("objective \(learner.objective.name) is not supported (expected binary:logistic)")
        }
        let names = learner.feature_names ?? []
        guard !names.isEmpty, Set(names).isSubset(of: Set(FeatureVector.names)), Set(names).count == names.count else {
            throw ModelArtifactError.featureMismatch(names)
        }
        let text = learner.learner_model_param.base_score.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        guard let baseScore = Double(text), baseScore > 0, baseScore < 1 else {
            throw ModelArtifactError.unreadable("base_score \(learner.learner_model_param.base_score) is not a probability")
        }
        let model = learner.gradient_booster.model
        var trees: [Tree] = []
        for (index, raw) in model.trees.enumerated() where (model.tree_info?[index] ?? 0) == 0 {
            guard (raw.split_type ?? []).allSatisfy({ $0 == 0 }) else {
                throw ModelArtifactError.unreadable("tree \(index) has categorical splits, which are not supported")
            }
            let count = raw.left_children.count
            guard count > 0, raw.right_children.count == count, raw.split_indices.count == count, raw.split_conditions.count == count,
                raw.default_left.values.count == count
            else {
                throw ModelArtifactError.unreadable("tree \(index) has arrays of different lengths")
            }
            for node in 0..<count where raw.left_children[node] != -1 {
                let children = [raw.left_children[node], raw.right_children[node]]
                guard children.allSatisfy({ $0 > 0 && Int($0) < count }), (0..<names.count).contains(Int(raw.split_indices[node])) else {
                    throw ModelArtifactError.unreadable("tree \(index) node \(node) points outside the tree or the features")
                }
            }
            trees.append(
                Tree(
                    left: raw.left_children, right: raw.right_children, feature: raw.split_indices,
                    condition: raw.split_conditions.map(Float.init), defaultLeft: raw.default_left.values))
        }
        guard !trees.isEmpty else { throw ModelArtifactError.unreadable("the model has no trees") }
        let score = Float(baseScore)
        return XGBoostModel(features: names, baseMargin: -Foundation.logf(1 / score - 1), trees: trees)
    }

    /// Probability that the next period closes up.
    public func probabilityUp(_ vector: FeatureVector) -> Double {
        let x = features.map { Float(vector.value(named: $0)) }
        var margin = baseMargin
        for tree in trees { margin += tree.leaf(x) }
        return Double(1 / (Foundation.expf(min(-margin, 88.7)) + 1))
    }

    // The JSON layout, as much of it as is read.
    struct File: Decodable {
        let learner: Learner
    }

    struct Learner: Decodable {
        let feature_names: [String]?
        let objective: Objective
        let learner_model_param: ModelParam
        let gradient_booster: Booster
    }

    struct Objective: Decodable {
        let name: String
    }

    struct ModelParam: Decodable {
        let base_score: String
    }

    struct Booster: Decodable {
        let model: Model
    }

    struct Model: Decodable {
        let trees: [RawTree]
        let tree_info: [Int]?
    }

    struct RawTree: Decodable {
        let left_children: [Int32]
        let right_children: [Int32]
        let split_indices: [Int32]
        let split_conditions: [Double]
        let default_left: Flags
        let split_type: [Int]?
    }

    /// `default_left` is written as 0/1 integers by some versions and as booleans by others.
    struct Flags: Decodable {
        let values: [Bool]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let booleans = try? container.decode([Bool].self) {
                values = booleans
            } else {
                values = try container.decode([Int].self).map { $0 != 0 }
            }
        }
    }
}

/// A model artifact of either kind this pipeline serves.
public enum ModelArtifact: Sendable, Equatable {
    case logistic(LogisticModel)
    case xgboost(XGBoostModel)

    /// Recognises the kind by its content: `{"kind": "logistic", ...}` or XGBoost's `{"learner": ...}`.
    public static func load(from data: Data) throws -> ModelArtifact {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelArtifactError.unreadable("the artifact is not a JSON object")
            }
            object = parsed
        } catch let error as ModelArtifactError {
            throw error
        } catch {
            throw ModelArtifactError.unreadable("the artifact is not JSON: \(error.localizedDescription)")
        }
        if object["learner"] != nil { return .xgboost(try XGBoostModel.load(from: data)) }
        if let kind = object["kind"] as? String {
            guard kind == "logistic" else { throw ModelArtifactError.wrongKind(kind) }
            return .logistic(try LogisticModel.load(from: data))
        }
        throw ModelArtifactError.unreadable("neither a logistic artifact nor an XGBoost JSON model")
    }

    public var kind: String {
        switch self {
        case .logistic: "logistic"
        case .xgboost: "xgboost"
        }
    }

    /// The version the artifact names itself, if any.
    public var embeddedVersion: String? {
        switch self {
        case .logistic(let model): model.version
        case .xgboost: nil
        }
    }

    public func probabilityUp(_ vector: FeatureVector) -> Double {
        switch self {
        case .logistic(let model): model.probabilityUp(vector)
        case .xgboost(let model): model.probabilityUp(vector)
        }
    }
}
