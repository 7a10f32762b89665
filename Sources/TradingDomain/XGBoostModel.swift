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
    /// Every tree's nodes in one array, children as indexes into it, and each tree's root: the
    /// same walk as `Tree.leaf` without an array per tree and without bounds checks, once every
    /// index is known to be in range (`load` checks them; nil when they are not).
    private let flat: (nodes: [Node], roots: [Int])?
    /// Each feature's position in `FeatureVector` (nil for a name it does not have).
    private let slots: [Int?]

    /// 20 bytes, where indexes as `Int` and a flag took 32: the walk reads hundreds a vote.
    struct Node: Sendable, Equatable {
        /// -1 for a leaf.
        var left: Int32
        var right: Int32
        /// The child a missing (NaN) value goes to: `left` or `right` as `default_left` says.
        var missing: Int32
        var feature: Int32
        var condition: Float
    }

    init(features: [String], baseMargin: Float, trees: [Tree]) {
        self.features = features
        self.baseMargin = baseMargin
        self.trees = trees
        slots = features.map { FeatureVector.names.firstIndex(of: $0) }
        var nodes: [Node] = []
        var roots: [Int] = []
        var valid = true
        for tree in trees {
            let base = nodes.count
            let count = tree.left.count
            roots.append(base)
            valid =
                valid && count > 0 && [tree.right.count, tree.feature.count, tree.condition.count, tree.defaultLeft.count].allSatisfy { $0 == count }
            guard valid else { break }
            // Every index must fit an Int32 once offset by the nodes before this tree.
            valid = valid && base + count <= Int(Int32.max)
            guard valid else { break }
            for node in 0..<count {
                let leaf = tree.left[node] == -1
                valid =
                    valid
                    && (leaf
                        || ((0..<count).contains(Int(tree.left[node])) && (0..<count).contains(Int(tree.right[node]))
                            && (0..<features.count).contains(Int(tree.feature[node]))))
                guard valid else { break }
                let left = leaf ? -1 : Int32(base) + tree.left[node]
                let right = leaf ? -1 : Int32(base) + tree.right[node]
                nodes.append(
                    Node(
                        left: left,
                        right: right,
                        missing: tree.defaultLeft[node] ? left : right,
                        feature: tree.feature[node],
                        condition: tree.condition[node]
                    )
                )
            }
        }
        flat = valid && !trees.isEmpty ? (nodes, roots) : nil
    }

    public static func == (lhs: XGBoostModel, rhs: XGBoostModel) -> Bool {
        lhs.features == rhs.features && lhs.baseMargin == rhs.baseMargin && lhs.trees == rhs.trees
    }

    /// Reads and checks an artifact: the objective, the feature names this pipeline computes,
    /// well-formed trees whose indexes stay in range.
    public static func load(from data: Data) throws -> XGBoostModel {
        try load(from: data, parsed: ArtifactJSON.parse(data))
    }

    /// `load(from:)` with the document already parsed by `FastJSON` (nil when it declined): the
    /// layout is read from that tree when it has every field with the type `File` declares,
    /// otherwise by `JSONDecoder`, which then also words the error.
    static func load(from data: Data, parsed: FastJSON.Value?) throws -> XGBoostModel {
        let file = try ArtifactJSON.decode(
            File.self,
            from: data,
            parsed: parsed,
            fast: File.init(fastJSON:),
            unreadable: { .unreadable("not an XGBoost JSON model: \($0)") }
        )
        let learner = file.learner
        guard learner.objective.name == "binary:logistic" else {
            throw ModelArtifactError.unreadable("objective \(learner.objective.name) is not supported (expected binary:logistic)")
        }
        let names = learner.feature_names ?? []
        guard !names.isEmpty, Set(names).isSubset(of: Set(FeatureVector.names)), Set(names).count == names.count else {
            throw ModelArtifactError.featureMismatch(names)
        }
        guard let baseScore = Double(Self.trimmingBrackets(learner.learner_model_param.base_score)), baseScore > 0, baseScore < 1 else {
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
                    left: raw.left_children,
                    right: raw.right_children,
                    feature: raw.split_indices,
                    condition: raw.split_conditions.map(Float.init),
                    defaultLeft: raw.default_left.values
                )
            )
        }
        guard !trees.isEmpty else { throw ModelArtifactError.unreadable("the model has no trees") }
        let score = Float(baseScore)
        return XGBoostModel(features: names, baseMargin: -Foundation.logf(1 / score - 1), trees: trees)
    }

    /// `text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))` (scalar by scalar, from
    /// both ends), without building a character set.
    static func trimmingBrackets(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let trimmed: (Unicode.Scalar) -> Bool = { $0 == "[" || $0 == "]" || $0 == " " }
        guard let first = scalars.firstIndex(where: { !trimmed($0) }), let last = scalars.lastIndex(where: { !trimmed($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// Probability that the next period closes up.
    public func probabilityUp(_ vector: FeatureVector) -> Double {
        guard let flat else {
            let x = features.map { Float(vector.value(named: $0)) }
            var margin = baseMargin
            for tree in trees { margin += tree.leaf(x) }
            return Double(1 / (Foundation.expf(min(-margin, 88.7)) + 1))
        }
        let values = (Float(vector.mom20), Float(vector.rv5), Float(vector.rsi14))
        var margin = baseMargin
        withUnsafeTemporaryAllocation(of: Float.self, capacity: slots.count) { x in
            for (index, slot) in slots.enumerated() {
                x[index] = slot == 0 ? values.0 : slot == 1 ? values.1 : slot == 2 ? values.2 : .nan
            }
            flat.nodes.withUnsafeBufferPointer { nodes in
                // Every index was checked when the nodes were laid out.
                for root in flat.roots {
                    var node = nodes[root]
                    while node.left != -1 {
                        let value = x[Int(node.feature)]
                        node = nodes[Int(value.isNaN ? node.missing : value < node.condition ? node.left : node.right)]
                    }
                    margin += node.condition
                }
            }
        }
        return Double(1 / (Foundation.expf(min(-margin, 88.7)) + 1))
    }

    // The JSON layout, as much of it as is read. Each part is read either by `JSONDecoder` or
    // from a `FastJSON` tree (`init?(fastJSON:)`: nil unless every field has exactly the type
    // declared, so that the fast reader accepts nothing the decoder refuses).
    struct File: Decodable, Equatable {
        let learner: Learner

        init?(fastJSON value: FastJSON.Value) {
            guard let learner = value["learner"].flatMap(Learner.init(fastJSON:)) else { return nil }
            self.learner = learner
        }
    }

    struct Learner: Decodable, Equatable {
        let feature_names: [String]?
        let objective: Objective
        let learner_model_param: ModelParam
        let gradient_booster: Booster

        init?(fastJSON value: FastJSON.Value) {
            var readable = true
            let names = value.member("feature_names", &readable, ArtifactJSON.strings)
            guard readable, let objective = value["objective"].flatMap(Objective.init(fastJSON:)),
                let parameters = value["learner_model_param"].flatMap(ModelParam.init(fastJSON:)),
                let booster = value["gradient_booster"].flatMap(Booster.init(fastJSON:))
            else { return nil }
            feature_names = names
            self.objective = objective
            learner_model_param = parameters
            gradient_booster = booster
        }
    }

    struct Objective: Decodable, Equatable {
        let name: String

        init?(fastJSON value: FastJSON.Value) {
            guard let name = value["name"]?.string else { return nil }
            self.name = name
        }
    }

    struct ModelParam: Decodable, Equatable {
        let base_score: String

        init?(fastJSON value: FastJSON.Value) {
            guard let score = value["base_score"]?.string else { return nil }
            base_score = score
        }
    }

    struct Booster: Decodable, Equatable {
        let model: Model

        init?(fastJSON value: FastJSON.Value) {
            guard let model = value["model"].flatMap(Model.init(fastJSON:)) else { return nil }
            self.model = model
        }
    }

    struct Model: Decodable, Equatable {
        let trees: [RawTree]
        let tree_info: [Int]?

        init?(fastJSON value: FastJSON.Value) {
            var readable = true
            let info = value.member("tree_info", &readable, ArtifactJSON.integers(Int.self))
            guard readable, let trees = value.elements("trees", RawTree.init(fastJSON:)) else { return nil }
            self.trees = trees
            tree_info = info
        }
    }

    struct RawTree: Decodable, Equatable {
        let left_children: [Int32]
        let right_children: [Int32]
        let split_indices: [Int32]
        let split_conditions: [Double]
        let default_left: Flags
        let split_type: [Int]?

        init?(fastJSON value: FastJSON.Value) {
            var readable = true
            let types = value.member("split_type", &readable, ArtifactJSON.integers(Int.self))
            guard readable, let left = value["left_children"].flatMap(ArtifactJSON.integers(Int32.self)),
                let right = value["right_children"].flatMap(ArtifactJSON.integers(Int32.self)),
                let indices = value["split_indices"].flatMap(ArtifactJSON.integers(Int32.self)),
                let conditions = value["split_conditions"].flatMap(ArtifactJSON.doubles),
                let flags = value["default_left"].flatMap(Flags.init(fastJSON:))
            else { return nil }
            left_children = left
            right_children = right
            split_indices = indices
            split_conditions = conditions
            default_left = flags
            split_type = types
        }
    }

    /// `default_left` is written as 0/1 integers by some versions and as booleans by others.
    struct Flags: Decodable, Equatable {
        let values: [Bool]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let booleans = try? container.decode([Bool].self) {
                values = booleans
            } else {
                values = try container.decode([Int].self).map { $0 != 0 }
            }
        }

        init?(fastJSON value: FastJSON.Value) {
            if let booleans = ArtifactJSON.booleans(value) {
                values = booleans
            } else if let integers = ArtifactJSON.integers(Int.self)(value) {
                values = integers.map { $0 != 0 }
            } else {
                return nil
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
        // Parsed once by `FastJSON` (a plain JSON object of ASCII text, as both kinds are
        // written), the top-level keys choose the kind as the generic parse below would.
        if let parsed = ArtifactJSON.parse(data), case .object(let members) = parsed {
            if members["learner"] != nil { return .xgboost(try XGBoostModel.load(from: data, parsed: parsed)) }
            if let kind = members["kind"]?.string {
                guard kind == "logistic" else { throw ModelArtifactError.wrongKind(kind) }
                return .logistic(try LogisticModel.load(from: data, parsed: parsed))
            }
        }
        // An XGBoost model is read by its own decoder, which needs a top-level "learner": when that
        // succeeds, the generic parse below would have chosen it too (and costs as much again).
        if data.range(of: Data(#""learner""#.utf8)) != nil, let model = try? XGBoostModel.load(from: data) { return .xgboost(model) }
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

/// Reading model artifacts with `FastJSON` instead of Foundation's decoders (the 100 kB XGBoost
/// artifact costs milliseconds through `JSONDecoder`). Every reader here answers nil for anything
/// but exactly the expected type, and the caller then falls back to Foundation: the fast path
/// can only be faster, never more lenient.
enum ArtifactJSON {
    /// The document as a `FastJSON` tree; nil unless it is ASCII text (so that no string is
    /// repaired where Foundation would refuse invalid UTF-8) that `FastJSON` parses whole.
    static func parse(_ data: Data) -> FastJSON.Value? {
        let bytes = [UInt8](data)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        return FastJSON.parse(bytes)
    }

    static func strings(_ value: FastJSON.Value) -> [String]? { value.elements { $0.string } }

    static func doubles(_ value: FastJSON.Value) -> [Double]? { value.elements { $0.double } }

    static func booleans(_ value: FastJSON.Value) -> [Bool]? { value.elements { $0.bool } }

    /// Integers written as plain integers (`12`, `-1`; not `1.0` or `1e2`) that fit the type.
    static func integers<T: FixedWidthInteger>(_ type: T.Type) -> (FastJSON.Value) -> [T]? {
        { value in
            value.elements { element in
                guard case .number(_, let literal) = element else { return nil }
                return T(literal)
            }
        }
    }

    /// `T` read from the `FastJSON` tree by `fast` when it can, otherwise decoded from the data
    /// by `JSONDecoder`, whose error `unreadable` words.
    static func decode<T: Decodable>(
        _ type: T.Type,
        from data: Data,
        parsed: FastJSON.Value?,
        fast: (FastJSON.Value) -> T?,
        unreadable: (any Error) -> ModelArtifactError
    ) throws -> T {
        if let parsed, let value = fast(parsed) { return value }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw unreadable(error)
        }
    }
}
