#!/usr/bin/env python3
"""Trains the shipped models on the shared candles and writes their artifacts to deploy/models/.

Features are computed exactly as the feature worker computes them (see README "Features"):
  mom_20 = 100 * (close[t] / close[t-20] - 1)
  rv_5   = 100 * sqrt(sum of the last 5 squared log returns)
  rsi_14 = Wilder's RSI over 14 periods, smoothed over the whole history
Label: 1 when the next candle closes above this one.
The split is chronological: the first 70 % trains, the last 30 % measures out-of-sample accuracy.

Usage: python3 scripts/train_models.py [--data ../shared/data/candles/ETH_BTC-5m.csv] [--out deploy/models]
"""
import argparse
import csv
import json
import math
import os

import numpy as np


def load_closes(path):
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return np.array([float(row["close"]) for row in rows])


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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "candles", "ETH_BTC-5m.csv"))
    parser.add_argument("--out", default=os.path.join(root, "deploy", "models"))
    parser.add_argument("--version", default="eth-btc-5m-v1")
    args = parser.parse_args()

    closes = load_closes(args.data)
    x = features(closes)
    y = (np.r_[closes[1:], np.nan] > closes).astype(float)
    valid = ~np.isnan(x).any(axis=1)
    valid[-1] = False
    x, y = x[valid], y[valid]
    split = int(len(x) * 0.7)
    train_x, test_x = x[:split], x[split:]
    train_y, test_y = y[:split], y[split:]
    means = train_x.mean(axis=0)
    scales = train_x.std(axis=0)
    w = fit_logistic((train_x - means) / scales, train_y)

    def predict(data):
        return 1 / (1 + np.exp(-(w[0] + ((data - means) / scales) @ w[1:])))

    train_acc = float(((predict(train_x) >= 0.5) == (train_y == 1)).mean())
    test_acc = float(((predict(test_x) >= 0.5) == (test_y == 1)).mean())
    base_rate = float(test_y.mean())
    artifact = {
        "kind": "logistic",
        "version": args.version,
        "features": ["mom_20", "rv_5", "rsi_14"],
        "means": means.tolist(),
        "scales": scales.tolist(),
        "weights": w[1:].tolist(),
        "bias": float(w[0]),
        "training": {
            "data": os.path.basename(args.data),
            "rows_train": int(split),
            "rows_test": int(len(x) - split),
            "accuracy_train": round(train_acc, 4),
            "accuracy_test": round(test_acc, 4),
            "test_up_rate": round(base_rate, 4),
        },
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "logit.json")
    with open(path, "w") as handle:
        json.dump(artifact, handle, indent=2)
        handle.write("\n")
    print(f"logit: train accuracy {train_acc:.4f}, out-of-sample accuracy {test_acc:.4f} "
          f"(up-rate {base_rate:.4f}) -> {path}")


if __name__ == "__main__":
    main()
