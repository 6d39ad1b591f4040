"""Calibration: ECE (equal-width and adaptive), multi-class Brier, NLL, reliability tables, and
temperature / Platt / isotonic (pool-adjacent-violators) recalibration scored out of sample.

The ECE, Brier and NLL are sums over rows, so they resample in the engine like any other metric.
Confidence is the probability of the predicted label; an unparsed answer has confidence 0 and is
wrong, as in puma.stats.point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from puma.stats.metrics import ratio

PROBABILITY_FLOOR = 1e-12  # NLL of a zero probability would be infinite; floor it


def equal_width_bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each confidence: (0, 1/B], (1/B, 2/B], ... with 0 in the first (point.py's rule)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)


def equal_mass_bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each confidence for the adaptive ECE: B groups of (nearly) equal size by rank."""
    n = len(confidence)
    order = np.argsort(confidence, kind="stable")
    out = np.empty(n, dtype=np.int64)
    out[order] = (np.arange(n) * bins) // max(n, 1)
    return out


def normalise(probs: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to 1 (runtimes give log-probabilities of the choices only)."""
    total = probs.sum(axis=1, keepdims=True)
    return ratio(probs, total, empty=1.0 / max(probs.shape[1], 1))


class CalibrationStats:
    """Per-row columns: count, per equal-width bin (correct - confidence), per equal-mass bin the
    same, squared error of the distribution (Brier), -log p(gold) (NLL)."""

    def __init__(self, bins: int = 10):
        self.bins = bins
        self.width = 2 * bins + 3

    def row_columns(
        self, confidence: np.ndarray, correct: np.ndarray, probs: np.ndarray, gold: np.ndarray
    ) -> np.ndarray:
        rows = len(confidence)
        out = np.zeros((rows, self.width))
        index = np.arange(rows)
        gap = correct.astype(np.float64) - confidence
        out[:, 0] = 1.0
        out[index, 1 + equal_width_bins(confidence, self.bins)] = gap
        out[index, 1 + self.bins + equal_mass_bins(confidence, self.bins)] = gap
        out[:, -2] = brier_rows(probs, gold)
        out[:, -1] = nll_rows(probs, gold)
        return out

    def ece(self, s: np.ndarray) -> np.ndarray:
        return ratio(np.abs(s[..., 1 : 1 + self.bins]).sum(axis=-1), s[..., 0])

    def adaptive_ece(self, s: np.ndarray) -> np.ndarray:
        return ratio(np.abs(s[..., 1 + self.bins : 1 + 2 * self.bins]).sum(axis=-1), s[..., 0])

    def brier(self, s: np.ndarray) -> np.ndarray:
        return ratio(s[..., -2], s[..., 0])

    def nll(self, s: np.ndarray) -> np.ndarray:
        return ratio(s[..., -1], s[..., 0])


def brier_rows(probs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Multi-class Brier score per row: sum over classes of (p_c - [c = gold])^2."""
    target = np.zeros_like(probs)
    target[np.arange(len(gold)), gold] = 1.0
    return np.sum((probs - target) ** 2, axis=1)


def nll_rows(probs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    return -np.log(np.maximum(probs[np.arange(len(gold)), gold], PROBABILITY_FLOOR))


def top_label_scores(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> dict[str, float]:
    """ECE, adaptive ECE, Brier and log loss of confidence as a forecast of correctness: the
    yardstick on which every recalibration method is compared."""
    c = np.clip(confidence, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    y = correct.astype(np.float64)
    gap = y - confidence
    n = len(y)
    ece = np.abs(np.bincount(equal_width_bins(confidence, bins), gap, bins)).sum() / n
    adaptive = np.abs(np.bincount(equal_mass_bins(confidence, bins), gap, bins)).sum() / n
    return {
        "ece": float(ece),
        "adaptive_ece": float(adaptive),
        "brier": float(np.mean((confidence - y) ** 2)),
        "nll": float(-np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))),
    }


def reliability_table(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Per equal-width bin: its edges, the number of predictions, mean confidence and accuracy
    (null for an empty bin)."""
    which = equal_width_bins(confidence, bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        table.append(
            {
                "bin_low": float(edges[b]),
                "bin_high": float(edges[b + 1]),
                "n": count,
                "confidence": float(confidence[mask].mean()) if count else None,
                "accuracy": float(correct[mask].mean()) if count else None,
            }
        )
    return table


# Recalibration maps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IsotonicModel:
    """A non-decreasing step function through (x_thresholds, y_thresholds), linear in between and
    constant beyond the ends (scikit-learn's IsotonicRegression with out_of_bounds='clip')."""

    x: np.ndarray
    y: np.ndarray

    def predict(self, values: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(values, dtype=np.float64), self.x, self.y)


def isotonic_fit(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> IsotonicModel:
    """Weighted least-squares non-decreasing fit by pool-adjacent-violators. Equal x values are
    first pooled into their weighted mean, as scikit-learn does."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.size == 0:
        raise ValueError("isotonic regression needs at least one point")
    unique_x, inverse = np.unique(x, return_inverse=True)
    total_w = np.bincount(inverse, weights=w)
    mean_y = np.bincount(inverse, weights=w * y) / total_w
    # The stack of blocks: mean, weight and how many unique x values each block spans.
    means: list[float] = []
    block_w: list[float] = []
    spans: list[int] = []
    for value, weight in zip(mean_y.tolist(), total_w.tolist(), strict=True):
        means.append(value)
        block_w.append(weight)
        spans.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2, w1 = block_w.pop(), block_w.pop()
            m2, m1 = means.pop(), means.pop()
            means.append((m1 * w1 + m2 * w2) / (w1 + w2))
            block_w.append(w1 + w2)
            spans.append(spans.pop() + spans.pop())
    fitted = np.repeat(np.array(means), spans)
    return IsotonicModel(unique_x, fitted)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(log p / T). The NLL is convex in 1/T, so a
    damped Newton iteration on 1/T converges; T is kept within [0.01, 100]."""
    z = np.log(np.maximum(probs, PROBABILITY_FLOOR))
    z_gold = z[np.arange(len(gold)), gold]
    beta = 1.0

    def nll(b: float) -> float:
        scaled = b * z
        top = scaled.max(axis=1)
        lse = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
        return float(np.mean(lse - b * z_gold))

    for _ in range(100):
        p = _softmax(beta * z)
        mean_z = (p * z).sum(axis=1)
        gradient = float(np.mean(mean_z - z_gold))
        curvature = float(np.mean((p * z * z).sum(axis=1) - mean_z**2))
        if curvature <= 1e-12:
            break
        step = gradient / curvature
        current = nll(beta)
        while step != 0.0 and nll(min(max(beta - step, 0.01), 100.0)) > current + 1e-15:
            step /= 2.0
            if abs(step) < 1e-12:
                step = 0.0
        new_beta = min(max(beta - step, 0.01), 100.0)
        if abs(new_beta - beta) < 1e-10:
            beta = new_beta
            break
        beta = new_beta
    return 1.0 / beta


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    return _softmax(np.log(np.maximum(probs, PROBABILITY_FLOOR)) / temperature)


def _logit(confidence: np.ndarray) -> np.ndarray:
    c = np.clip(confidence, 1e-6, 1 - 1e-6)
    return np.log(c / (1 - c))


def fit_platt(confidence: np.ndarray, correct: np.ndarray) -> tuple[float, float]:
    """Logistic regression of correctness on logit(confidence): sigmoid(a * logit(c) + b), fit by
    Newton's method with step halving (the log-loss never rises) and a tiny ridge so that
    separable data still converge."""
    u = _logit(confidence)
    y = correct.astype(np.float64)
    design = np.column_stack([u, np.ones_like(u)])
    ridge = 1e-6

    def loss(theta: np.ndarray) -> float:
        eta = design @ theta
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + ridge * theta @ theta / 2)

    theta = np.array([1.0, 0.0])
    current = loss(theta)
    for _ in range(100):
        p = _sigmoid(design @ theta)
        gradient = design.T @ (p - y) + ridge * theta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-10 and loss(theta - scale * step) > current:
            scale /= 2.0
        theta = theta - scale * step
        previous, current = current, loss(theta)
        if previous - current < 1e-12 * max(1.0, abs(current)):
            break
    return float(theta[0]), float(theta[1])


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -eta))


def apply_platt(confidence: np.ndarray, a: float, b: float) -> np.ndarray:
    return _sigmoid(a * _logit(confidence) + b)


def fold_of_groups(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A seeded fold per row, constant within a group (an item's repetitions stay together)."""
    unique, inverse = np.unique(groups, return_inverse=True)
    rng = np.random.default_rng(seed)
    fold_of_unique = np.empty(len(unique), dtype=np.int64)
    fold_of_unique[rng.permutation(len(unique))] = np.arange(len(unique)) % folds
    return fold_of_unique[inverse.ravel()]


def recalibration_scores(
    probs: np.ndarray,
    gold: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 42,
    bins: int = 10,
) -> dict[str, Any] | None:
    """Top-label scores of the raw confidences and of temperature, Platt and isotonic fits, each
    predicted out of sample (fit on the other folds). None with fewer than two items per fold.
    `predicted` is the predicted label index (-1 when unparsed: confidence 0, never corrected)."""
    if len(np.unique(groups)) < 2 * folds:
        return None
    rows = np.arange(len(gold))
    parsed = predicted >= 0
    correct = parsed & (predicted == gold)
    raw = np.where(parsed, probs[rows, np.maximum(predicted, 0)], 0.0)
    fold = fold_of_groups(groups, folds, seed)
    out = {"temperature": np.zeros(len(gold)), "platt": np.zeros(len(gold))}
    out["isotonic"] = np.zeros(len(gold))
    for k in range(folds):
        train, test = fold != k, fold == k
        t = fit_temperature(probs[train], gold[train])
        scaled = apply_temperature(probs[test], t)
        out["temperature"][test] = np.where(
            parsed[test], scaled[np.arange(test.sum()), np.maximum(predicted[test], 0)], 0.0
        )
        a, b = fit_platt(raw[train], correct[train])
        out["platt"][test] = apply_platt(raw[test], a, b)
        out["isotonic"][test] = isotonic_fit(raw[train], correct[train]).predict(raw[test])
    a, b = fit_platt(raw, correct)
    methods: dict[str, Any] = {"none": top_label_scores(raw, correct, bins)}
    methods["temperature"] = {
        **top_label_scores(out["temperature"], correct, bins),
        "temperature": fit_temperature(probs, gold),
    }
    methods["platt"] = {**top_label_scores(out["platt"], correct, bins), "a": a, "b": b}
    methods["isotonic"] = top_label_scores(out["isotonic"], correct, bins)
    return {"folds": folds, "seed": seed, "scored": "out-of-fold", "methods": methods}
