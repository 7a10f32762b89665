#!/usr/bin/env python3
"""Trains the shipped models on the repository's candles and writes their artifacts to deploy/models/.

Features are computed exactly as the feature worker computes them (see docs/models-and-features.md, "Features"):
  mom_20 = 100 * (close[t] / close[t-20] - 1)
  rv_5   = 100 * sqrt(sum of the last 5 squared log returns)
  rsi_14 = Wilder's RSI over 14 periods, smoothed over the whole history
Label: 1 when the next candle closes above this one.
The split is chronological: the first 70 % trains, the last 30 % measures out-of-sample accuracy.
Each artifact carries the open times (Unix ms) of its first and last training row, "trainedFrom" and
"trainedTo" (top-level in logit.json and rsi.json; in learner.attributes, as strings, in xgb.json):
the backtest marks the candles in that range as in-sample. The label of the last row is the close
of the candle after trainedTo.

One run writes three artifacts (three model ids that can vote):
  logit.json  logistic regression on [mom_20, rv_5, rsi_14] (kind "logistic", version eth-btc-5m-v1)
  xgb.json    XGBoost gradient-boosted trees, binary:logistic, on [mom_20, rv_5, rsi_14] (that
              column order, DMatrix feature_names set), saved by Booster.save_model: XGBoost's
              own JSON format. scripts/xgb_reference.py evaluates it without xgboost and is
              checked against Booster.predict on the test split here.
  rsi.json    logistic regression on [rsi_14, rv_5] only (kind "logistic", version
              eth-btc-5m-rsi-v1)
and, unless --no-fixtures, the Swift test fixtures Tests/Fixtures/model_reference.json
(probabilities of the three artifacts on 30 test rows and 10 edge cases) and
Tests/Fixtures/indicator_reference.json (RSI from TA-Lib, mom_20 and rv_5 from numpy, on the first
200 closes of two candle files). Everything is deterministic: a rerun writes identical bytes.

Requirements: scripts/requirements-train.txt (numpy, xgboost==3.2.0, TA-Lib==0.8.2 for the fixtures).
Usage: python3 scripts/train_models.py [--data market-data/candles/ETH_BTC-5m.csv] [--out deploy/models]
                                       [--fixtures Tests/Fixtures | --no-fixtures]
"""
import argparse
import csv
import json
import math
import os
import sys

import numpy as np


def load_candles(path):
    """The file's open times (Unix ms) and closes."""
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return [int(row["open_time"]) for row in rows], np.array([float(row["close"]) for row in rows])


def load_closes(path):
    return load_candles(path)[1]


def rsi_series(closes, period=14):
    """Wilder's RSI at every index (NaN before it is defined), TA-Lib's warm-up."""
    out = np.full(len(closes), np.nan)
    changes = np.diff(closes)
    if len(changes) < period:
        return out
    gains = np.clip(changes, 0, None)
    losses = np.clip(-changes, 0, None)
    avg_gain = gains[:period].mean()
    avg_loss = losses[:period].mean()

    def value(g, l):
        if l == 0:
            return 50.0 if g == 0 else 100.0
        return 100 - 100 / (1 + g / l)

    out[period] = value(avg_gain, avg_loss)
    for i in range(period + 1, len(closes)):
        avg_gain = (avg_gain * (period - 1) + gains[i - 1]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i - 1]) / period
        out[i] = value(avg_gain, avg_loss)
    return out


def features(closes):
    n = len(closes)
    mom = np.full(n, np.nan)
    mom[20:] = 100 * (closes[20:] / closes[:-20] - 1)
    logret = np.diff(np.log(closes))
    rv = np.full(n, np.nan)
    for i in range(5, n):
        window = logret[i - 5:i]
        rv[i] = 100 * math.sqrt(float((window ** 2).sum()))
    rsi = rsi_series(closes)
    return np.column_stack([mom, rv, rsi])


def fit_logistic(x, y, l2=1e-3, iterations=50):
    """Newton's method on the L2-regularised log loss; x is already standardised."""
    xb = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-xb @ w))
        gradient = xb.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]]
        hessian = (xb.T * (p * (1 - p))) @ xb / len(y) + l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w -= np.linalg.solve(hessian, gradient)
    return w


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CANDLES = os.path.join(ROOT, "market-data", "candles")
DEFAULT_DATA = os.path.join(CANDLES, "ETH_BTC-5m.csv")
FEATURES = ["mom_20", "rv_5", "rsi_14"]  # column order of features(); also xgb.json's order

# XGBoost: small, deterministic (one thread, fixed seed, no row/column sampling).
XGB_ROUNDS = 80
XGB_PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.1,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "seed": 0,
    "nthread": 1,
}


def feature_rows(closes):
    """Which candles are rows (every feature defined, and a next close for the label), and how many
    of those rows train: the first 70 %."""
    valid = ~np.isnan(features(closes)).any(axis=1)
    valid[-1] = False
    return valid, int(valid.sum() * 0.7)


def dataset(path):
    """Feature rows (columns FEATURES) and labels, split chronologically 70/30."""
    closes = load_closes(path)
    x = features(closes)
    y = (np.r_[closes[1:], np.nan] > closes).astype(float)
    valid, split = feature_rows(closes)
    x, y = x[valid], y[valid]
    return x[:split], x[split:], y[:split], y[split:]


def trained_range(path):
    """The open times (Unix ms) of the first and the last training row."""
    open_times, closes = load_candles(path)
    valid, split = feature_rows(closes)
    rows = np.nonzero(valid)[0]
    return {"trainedFrom": open_times[rows[0]], "trainedTo": open_times[rows[split - 1]]}


def accuracy(p, y):
    return float(((p >= 0.5) == (y == 1)).mean())


def logistic_probability(artifact, values):
    """The artifact's probability for a dict of feature values, in float64, exactly
    p = 1 / (1 + exp(-(bias + sum(w_i * (x_i - mean_i) / scale_i))))."""
    total = 0.0
    for name, mean, scale, weight in zip(artifact["features"], artifact["means"], artifact["scales"],
                                         artifact["weights"]):
        total += weight * (float(values[name]) - mean) / scale
    return 1.0 / (1.0 + math.exp(-(artifact["bias"] + total)))


def train_logistic(name, version, columns, data, trained, train_x, test_x, train_y, test_y):
    index = [FEATURES.index(c) for c in columns]
    # C-contiguous like the original single-model script, so numpy reduces in the same order
    # and logit.json stays byte-identical to the one it shipped.
    tr, te = np.ascontiguousarray(train_x[:, index]), np.ascontiguousarray(test_x[:, index])
    means = tr.mean(axis=0)
    scales = tr.std(axis=0)
    w = fit_logistic((tr - means) / scales, train_y)

    def predict(rows):
        return 1 / (1 + np.exp(-(w[0] + ((rows - means) / scales) @ w[1:])))

    train_acc = accuracy(predict(tr), train_y)
    test_acc = accuracy(predict(te), test_y)
    base_rate = float(test_y.mean())
    artifact = {
        "kind": "logistic",
        "version": version,
        "features": list(columns),
        "means": means.tolist(),
        "scales": scales.tolist(),
        "weights": w[1:].tolist(),
        "bias": float(w[0]),
        **trained,
        "training": {
            "data": os.path.basename(data),
            "rows_train": int(len(tr)),
            "rows_test": int(len(te)),
            "accuracy_train": round(train_acc, 4),
            "accuracy_test": round(test_acc, 4),
            "test_up_rate": round(base_rate, 4),
        },
    }
    print(f"{name}: train accuracy {train_acc:.4f}, out-of-sample accuracy {test_acc:.4f} "
          f"(up-rate {base_rate:.4f})")
    return artifact


def train_xgb(trained, train_x, test_x, train_y, test_y):
    import xgboost as xgb

    dtrain = xgb.DMatrix(train_x, label=train_y, feature_names=FEATURES)
    booster = xgb.train(XGB_PARAMS, dtrain, num_boost_round=XGB_ROUNDS)
    # XGBoost's attributes are strings; save_model writes them in learner.attributes.
    booster.set_attr(**{key: str(value) for key, value in trained.items()})
    train_acc = accuracy(booster.predict(dtrain), train_y)
    test_acc = accuracy(booster.predict(xgb.DMatrix(test_x, feature_names=FEATURES)), test_y)
    print(f"xgb: train accuracy {train_acc:.4f}, out-of-sample accuracy {test_acc:.4f} "
          f"(up-rate {float(test_y.mean()):.4f}; xgboost {xgb.__version__}, {XGB_ROUNDS} trees, "
          f"max_depth {XGB_PARAMS['max_depth']})")
    return booster


def write_json(path, value):
    with open(path, "w") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")


def f32(x):
    return float(np.float32(x))


def edge_cases(xgb_model):
    """Ten synthetic rows at the edges of the feature ranges (mom_20 in [-100, 1000], rv_5 in
    [0, 500], rsi_14 in [0, 100]) and on split thresholds of the xgb model, where XGBoost's
    strict float32 "<" decides the branch."""
    import xgb_reference

    reference = xgb_reference.XGBReference(xgb_model)
    trees = xgb_model["learner"]["gradient_booster"]["model"]["trees"]
    typical = {"mom_20": 0.1, "rv_5": 0.7, "rsi_14": 50.0}

    def row(**values):
        out = dict(typical)
        out.update(values)
        return out

    def below(split):  # the largest float32 under the threshold
        return float(np.nextafter(np.float32(split), np.float32(-np.inf)))

    root = trees[0]
    root_feature, root_split = FEATURES[root["split_indices"][0]], f32(root["split_conditions"][0])
    # Per feature, the first threshold in tree order (other than tree 0's root) at which the
    # prediction of the typical row changes between "== threshold" and "one float32 below".
    chosen = {}
    for t, tree in enumerate(trees):
        for n, left in enumerate(tree["left_children"]):
            name = FEATURES[tree["split_indices"][n]]
            if left == -1 or (t == 0 and n == 0) or name in chosen:
                continue
            split = f32(tree["split_conditions"][n])
            if reference.predict_named(row(**{name: split})) != reference.predict_named(row(**{name: below(split)})):
                chosen[name] = split
    assert set(chosen) == set(FEATURES), chosen
    almost = float(np.nextafter(root_split, -np.inf))  # double below the split, float32 == split
    return [
        ("all minimums", {"mom_20": -100.0, "rv_5": 0.0, "rsi_14": 0.0}),
        ("all maximums", {"mom_20": 1000.0, "rv_5": 500.0, "rsi_14": 100.0}),
        ("flat market", {"mom_20": 0.0, "rv_5": 0.0, "rsi_14": 50.0}),
        ("crash, volatile, overbought", {"mom_20": -100.0, "rv_5": 500.0, "rsi_14": 100.0}),
        ("mom_20 == a split threshold (goes right)", row(mom_20=chosen["mom_20"])),
        ("rv_5 == a split threshold (goes right)", row(rv_5=chosen["rv_5"])),
        ("rsi_14 == a split threshold (goes right)", row(rsi_14=chosen["rsi_14"])),
        (f"{root_feature} == root split of tree 0 (goes right)", row(**{root_feature: root_split})),
        (f"{root_feature} one double below the root split: rounds to it in float32 (goes right)",
         row(**{root_feature: almost})),
        (f"{root_feature} one float32 below the root split (goes left)", row(**{root_feature: below(root_split)})),
    ]


def write_model_fixture(path, test_x, logit, rsi, xgb_path):
    import xgboost as xgb
    import xgb_reference

    with open(xgb_path) as handle:
        xgb_model = json.load(handle)
    picks = np.linspace(0, len(test_x) - 1, 30).round().astype(int)
    rows = [(f"test row {i}", dict(zip(FEATURES, map(float, test_x[i])))) for i in picks]
    rows += edge_cases(xgb_model)
    booster = xgb.Booster()
    booster.load_model(xgb_path)
    matrix = np.array([[values[name] for name in FEATURES] for _, values in rows])
    xgb_p = booster.predict(xgb.DMatrix(matrix, feature_names=FEATURES))
    reference = xgb_reference.XGBReference(xgb_model)
    cases = []
    for (name, values), p in zip(rows, xgb_p):
        assert abs(reference.predict_named(values) - float(p)) < 1e-6, name
        cases.append({
            "name": name,
            "features": values,
            "logit": logistic_probability(logit, values),
            "xgb": float(p),
            "rsi": logistic_probability(rsi, values),
        })
    write_json(path, {
        "source": "scripts/train_models.py: 30 rows spread over the ETH_BTC-5m test split, then 10 edge "
                  "cases. logit/rsi: float64 p = 1/(1+exp(-(bias + sum(w*(x-mean)/scale)))) from "
                  "deploy/models/logit.json and rsi.json; xgb: xgboost Booster.predict (float32) of "
                  "deploy/models/xgb.json with the features cast to float32.",
        "cases": cases,
    })
    print(f"fixture: {len(cases)} cases -> {path}")


def write_indicator_fixture(path, count=200):
    import talib

    files = []
    for name in ["ETH_BTC-5m.csv", "UNITTEST_BTC-1m.csv"]:
        closes = load_closes(os.path.join(CANDLES, name))[:count]
        rsi = float(talib.RSI(closes, timeperiod=14)[-1])
        mom = float(100 * (closes[-1] / closes[-21] - 1))
        rv = float(100 * np.sqrt(np.sum(np.diff(np.log(closes[-6:])) ** 2)))
        ours = features(closes)[-1]
        assert np.allclose(ours, [mom, rv, rsi], rtol=0, atol=1e-9), (name, ours, mom, rv, rsi)
        files.append({"file": name, "count": int(len(closes)), "rsi_14": rsi, "mom_20": mom, "rv_5": rv,
                      "rsi_source": f"talib {talib.__version__} (TA-Lib C "
                                    f"{talib.__ta_version__.decode().split()[0]}) RSI timeperiod=14"})
        print(f"indicators {name}[:{count}]: rsi_14 {rsi:.10f} mom_20 {mom:.10f} rv_5 {rv:.10f}")
    write_json(path, {
        "source": "scripts/train_models.py: rsi_14 from TA-Lib's RSI (Wilder, TA-Lib warm-up), mom_20 "
                  "= 100*(c[-1]/c[-21]-1) and rv_5 = 100*sqrt(sum of the last 5 squared log returns) "
                  "with numpy, each at the last of the first `count` closes.",
        "files": files,
    })
    print(f"fixture: {len(files)} files -> {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--out", default=os.path.join(ROOT, "deploy", "models"))
    parser.add_argument("--version", default="eth-btc-5m-v1")
    parser.add_argument("--rsi-version", default="eth-btc-5m-rsi-v1")
    parser.add_argument("--fixtures", default=os.path.join(ROOT, "Tests", "Fixtures"))
    parser.add_argument("--no-fixtures", action="store_true")
    args = parser.parse_args()

    train_x, test_x, train_y, test_y = dataset(args.data)
    print(f"{os.path.basename(args.data)}: {len(train_x)} train rows, {len(test_x)} test rows, "
          f"test up-rate {float(test_y.mean()):.4f}")
    os.makedirs(args.out, exist_ok=True)
    split = (train_x, test_x, train_y, test_y)
    trained = trained_range(args.data)
    print(f"trained on the rows with open times {trained['trainedFrom']} .. {trained['trainedTo']}")

    logit = train_logistic("logit", args.version, FEATURES, args.data, trained, *split)
    write_json(os.path.join(args.out, "logit.json"), logit)

    booster = train_xgb(trained, *split)
    xgb_path = os.path.join(args.out, "xgb.json")
    booster.save_model(xgb_path)

    rsi = train_logistic("rsi", args.rsi_version, ["rsi_14", "rv_5"], args.data, trained, *split)
    write_json(os.path.join(args.out, "rsi.json"), rsi)
    print(f"artifacts -> {args.out}/{{logit,xgb,rsi}}.json")

    sys.path.insert(0, HERE)
    import xgb_reference
    diff = xgb_reference.compare_with_xgboost(xgb_path, test_x)
    print(f"xgb_reference.py vs xgboost predict: max abs difference {diff:.3e} over {len(test_x)} test rows")
    if diff > 1e-6:
        raise SystemExit("xgb_reference.py disagrees with xgboost")

    if not args.no_fixtures:
        os.makedirs(args.fixtures, exist_ok=True)
        write_model_fixture(os.path.join(args.fixtures, "model_reference.json"), test_x, logit, rsi, xgb_path)
        write_indicator_fixture(os.path.join(args.fixtures, "indicator_reference.json"))


if __name__ == "__main__":
    main()
