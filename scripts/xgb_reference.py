#!/usr/bin/env python3
"""Dependency-free reference evaluator of an XGBoost JSON model (gbtree, binary:logistic).

It predicts exactly as XGBoost's CPU predictor does, using only `json`, `math` and `struct`, so
that the Swift port (which reads the same file) has a small, readable spec to follow and a
checked reference to compare with. Running this file verifies it against xgboost's own
`Booster.predict` on the test split (that check, and only that check, needs numpy and xgboost):

    python3 scripts/xgb_reference.py [--model deploy/models/xgb.json] [--data .../ETH_BTC-5m.csv]

JSON fields read (paths from the document root, as written by `Booster.save_model("x.json")`
in XGBoost 2.x/3.x; every number-like scalar in `learner_model_param` and `*_param` blocks is a
JSON *string*):

  learner.objective.name                         must be "binary:logistic".
  learner.learner_model_param.base_score         string; the intercept as a PROBABILITY, printed
                                                 as a float32 in C++ "%E"-like form: "5E-1" in
                                                 XGBoost <= 2.x, a one-element list in brackets
                                                 "[4.9414986E-1]" in 3.x (one entry per target).
                                                 Parse: strip "[" "]", split on ",", float().
                                                 Round it to float32; the base MARGIN is its
                                                 logit, computed in float32 (see below).
  learner.learner_model_param.num_class          string; "0" or "1" (single output) is assumed.
  learner.learner_model_param.num_target         string, optional; "1" is assumed.
  learner.feature_names                          list of names, optional; gives the column order
                                                 (["mom_20", "rv_5", "rsi_14"] for our model).
                                                 split_indices index into this order.
  learner.gradient_booster.name                  must be "gbtree" ("dart" would need weight_drop).
  learner.gradient_booster.model.trees           list of trees, in boosting order.
  learner.gradient_booster.model.tree_info       list of ints, one per tree: the output group
                                                 (class) of the tree. With one output all are 0;
                                                 trees whose group != 0 are ignored here.
  learner.gradient_booster.model.gbtree_model_param.num_parallel_tree
                                                 string; trees per boosting round (forest size).
                                                 Needs no special handling: every tree of the
                                                 list (with tree_info 0) is added once.
  For each tree T (arrays are parallel, indexed by node id; node 0 is the root):
    T.left_children[n]      int; -1 means n is a LEAF.
    T.right_children[n]     int; -1 for a leaf.
    T.split_indices[n]      int; feature column tested at n (ignored for leaves).
    T.split_conditions[n]   number; the float32 threshold at an internal node, and the LEAF
                            VALUE (already scaled by the learning rate) at a leaf.
    T.default_left[n]       0/1 (booleans in some versions); the branch for a missing value.
    T.split_type[n]         optional; 0 = numerical split. Categorical splits (1) are not
                            supported and are rejected.
  Not read: base_weights, loss_changes, sum_hessian, parents, tree_param, categories*,
  iteration_indptr, attributes, feature_types, version.

Semantics (what XGBoost does, reproduced here):
  * base margin = float32 ops: -logf(1.0f / base_score - 1.0f), i.e. with every step rounded to
    float32: b = f32(-log(f32(f32(1 / base_score) - 1))). For "[4.9414986E-1]" that is
    -0.023401621729135513 (computing the logit in double and rounding at the end gives
    -0.023401612..., one float32 step off, and breaks bit-exactness).
  * Every feature value is cast to float32 first (DMatrix stores float32); NaN is "missing".
  * At an internal node: missing -> default_left ? left : right; otherwise go LEFT iff
    float32(value) < float32(split_condition) (strict "<", compared as float32: a value equal to
    the threshold goes RIGHT, and so does a double slightly below it that rounds to it).
  * The margin starts at the float32 base margin, and each tree's leaf value is added in
    boosting order with float32 rounding after every addition (acc = f32(acc + leaf)).
  * Probability = XGBoost's float32 sigmoid: t = min(-margin, 88.7f); p = 1.0f / (expf(t) + 1.0f),
    every operation in float32 (1e-16f is also added to the denominator, which changes nothing).
  With all of that the margin is bit-identical to Booster.predict(output_margin=True) on every
  row tried (train and test split, random rows over the feature ranges, rows with NaN), and the
  probability is bit-identical on the test split. The one remaining source of difference is expf:
  this file uses math.exp rounded to float32 (correctly rounded), while libm's expf that XGBoost
  calls is occasionally 1 ulp off, so a probability can differ by one float32 ulp (<= 6e-8; seen
  on 1 of the 4017 training rows). Plain float64 arithmetic (double logit, sum, sigmoid) differs
  from XGBoost by up to ~1.2e-7.
"""
import json
import math
import struct


def f32(x):
    """Round a Python float to the nearest float32 (kept as a Python float)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def parse_base_score(text):
    """base_score is a string: "5E-1" (XGBoost <= 2.x) or "[4.9414986E-1]" (3.x)."""
    if isinstance(text, (int, float)):
        return float(text)
    values = [part for part in text.strip().strip("[]").split(",") if part.strip()]
    if len(values) != 1:
        raise ValueError(f"expected one base_score, got {text!r}")
    return float(values[0])


def sigmoid_f32(margin):
    """XGBoost's common::Sigmoid(float): t = min(-x, 88.7f); 1.0f / (expf(t) + 1.0f + 1e-16f),
    every operation in float32 (the 1e-16 vanishes against 1.0f)."""
    t = min(-margin, f32(88.7))
    denominator = f32(f32(f32(math.exp(t)) + 1.0) + f32(1e-16))
    return f32(1.0 / denominator)


class XGBReference:
    def __init__(self, model):
        learner = model["learner"]
        objective = learner["objective"]["name"]
        if objective != "binary:logistic":
            raise ValueError(f"unsupported objective {objective}")
        params = learner["learner_model_param"]
        if int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) != 1:
            raise ValueError("only single-output models are supported")
        booster = learner["gradient_booster"]
        if booster["name"] != "gbtree":
            raise ValueError(f"unsupported booster {booster['name']}")
        self.feature_names = learner.get("feature_names") or []
        self.base_score = f32(parse_base_score(params["base_score"]))
        # binary:logistic's ProbToMargin, in float32 as XGBoost does: -logf(1.0f / p - 1.0f).
        # (Each step rounded to float32; log of a float32 rounded to float32 equals logf.)
        self.base_margin = f32(-math.log(f32(f32(1.0 / self.base_score) - 1.0)))
        trees = booster["model"]["trees"]
        tree_info = booster["model"].get("tree_info", [0] * len(trees))
        self.trees = []
        for tree, group in zip(trees, tree_info):
            if group != 0:
                continue
            if any(t != 0 for t in tree.get("split_type", [])):
                raise ValueError("categorical splits are not supported")
            self.trees.append((
                tree["left_children"],
                tree["right_children"],
                tree["split_indices"],
                [f32(float(c)) for c in tree["split_conditions"]],
                [bool(d) for d in tree["default_left"]],
            ))

    @classmethod
    def load(cls, path):
        with open(path) as handle:
            return cls(json.load(handle))

    def leaf_value(self, tree, row):
        left, right, index, cond, default_left = tree
        node = 0
        while left[node] != -1:
            value = row[index[node]]
            if math.isnan(value):
                node = left[node] if default_left[node] else right[node]
            elif value < cond[node]:
                node = left[node]
            else:
                node = right[node]
        return cond[node]

    def margin(self, row):
        """row: feature values in model column order (floats; NaN = missing)."""
        row = [f32(float(v)) for v in row]
        acc = self.base_margin
        for tree in self.trees:
            acc = f32(acc + self.leaf_value(tree, row))
        return acc

    def predict(self, row):
        return sigmoid_f32(self.margin(row))

    def predict_named(self, features):
        """features: dict name -> value; uses learner.feature_names for the column order."""
        return self.predict([features[name] for name in self.feature_names])


def main():
    import argparse
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    sys.path.insert(0, here)
    import train_models

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(root, "deploy", "models", "xgb.json"))
    parser.add_argument("--data", default=train_models.DEFAULT_DATA)
    args = parser.parse_args()

    _, test_x, _, _ = train_models.dataset(args.data)
    print(f"max |reference - xgboost.predict| over {len(test_x)} test rows: "
          f"{compare_with_xgboost(args.model, test_x):.3e}")


def compare_with_xgboost(model_path, rows):
    """Max absolute difference between this evaluator and xgboost's own predict on rows."""
    import numpy as np
    import xgboost as xgb

    reference = XGBReference.load(model_path)
    booster = xgb.Booster()
    booster.load_model(model_path)
    booster.set_param({"nthread": 1})
    expected = booster.predict(xgb.DMatrix(np.asarray(rows), feature_names=reference.feature_names or None))
    got = np.array([reference.predict(list(row)) for row in rows])
    return float(np.abs(got - expected.astype(np.float64)).max())


if __name__ == "__main__":
    main()
