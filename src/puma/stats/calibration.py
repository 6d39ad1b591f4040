"""Calibration: ECE (equal-width and adaptive), multi-class Brier, NLL, reliability tables, and
temperature / Platt / isotonic (pool-adjacent-violators) recalibration scored out of sample.

The equal-width ECE, Brier and NLL are sums over rows, so they resample in the engine like any
other metric. The adaptive ECE's bins depend on the sample (equal mass), so it is a function of
the counts that recomputes its bins in every resample. Confidence is the probability of the
predicted label; an unparsed answer has confidence 0 and is wrong, as in puma.stats.point.

Two Brier scores exist and are named apart: `brier_multiclass` (the squared error of the whole
label distribution against the gold one-hot vector, 0 to 2) and `brier_top_label` (the squared
error of the confidence as a forecast of correctness, 0 to 1, what recalibration is scored on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from puma.stats.metrics import ratio
from puma.stats.resample import CountFunction

PROBABILITY_FLOOR = 1e-12  # NLL of a zero probability would be infinite; floor it


def equal_width_bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each confidence: (0, 1/B], (1/B, 2/B], ... with 0 in the first (point.py's rule)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)


def equal_mass_bins(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each confidence for the adaptive ECE: B groups of (nearly) equal size by rank.

    A confidence goes to bin floor(B * its mid-rank share), the mid-rank share being (rows below
    it + half the rows equal to it) / n. Equal confidences share one bin (row order never splits
    a tie), and repeating every row leaves every bin as it was: an item answered twice the same
    way is not new evidence about calibration."""
    confidence = np.asarray(confidence, dtype=np.float64)
    _, inverse, counts = np.unique(confidence, return_inverse=True, return_counts=True)
    return _mid_rank_bins(counts[None, :], bins)[0][inverse.ravel()]


def _mid_rank_bins(weights: np.ndarray, bins: int) -> np.ndarray:
    """Per row of integer weights over sorted distinct values: each value's bin,
    floor(B (2 below + w) / 2N), at most B - 1. Numerator and denominator are exact integers in
    float64 and the division is correctly rounded, so the floor is exact: a true quotient short
    of an integer k falls short by at least 1/2N, far more than a rounding step."""
    w = np.asarray(weights, dtype=np.float64)
    cumulative = np.cumsum(w, axis=1)
    total = np.maximum(cumulative[:, -1:], 1.0)
    which = np.floor((2.0 * cumulative - w) * (bins / 2.0) / total)
    return np.minimum(which, bins - 1).astype(np.intp)


def normalise(probs: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to 1 (runtimes give log-probabilities of the choices only)."""
    total = probs.sum(axis=1, keepdims=True)
    return ratio(probs, total, empty=1.0 / max(probs.shape[1], 1))


class CalibrationStats:
    """Per-row columns: count, per equal-width bin (correct - confidence), squared error of the
    distribution (multi-class Brier), -log p(gold) (NLL). The adaptive ECE is not a sum: see
    adaptive_ece_from_counts."""

    def __init__(self, bins: int = 10):
        self.bins = bins
        self.width = bins + 3

    def row_columns(
        self, confidence: np.ndarray, correct: np.ndarray, probs: np.ndarray, gold: np.ndarray
    ) -> np.ndarray:
        rows = len(confidence)
        out = np.zeros((rows, self.width))
        index = np.arange(rows)
        gap = correct.astype(np.float64) - confidence
        out[:, 0] = 1.0
        out[index, 1 + equal_width_bins(confidence, self.bins)] = gap
        out[:, -2] = brier_rows(probs, gold)
        out[:, -1] = nll_rows(probs, gold)
        return out

    def ece(self, s: np.ndarray) -> np.ndarray:
        return ratio(np.abs(s[..., 1 : 1 + self.bins]).sum(axis=-1), s[..., 0])

    def brier_multiclass(self, s: np.ndarray) -> np.ndarray:
        return ratio(s[..., -2], s[..., 0])

    def nll(self, s: np.ndarray) -> np.ndarray:
        return ratio(s[..., -1], s[..., 0])


def adaptive_ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """The adaptive ECE of one sample: equal_mass_bins of that sample, sum of |gap| per bin / n."""
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.size == 0:
        return float("nan")
    gap = np.asarray(correct, dtype=np.float64) - confidence
    per_bin = np.bincount(equal_mass_bins(confidence, bins), gap, bins)
    return float(np.abs(per_bin).sum() / confidence.size)


def adaptive_ece_from_counts(
    confidence: np.ndarray, correct: np.ndarray, position: np.ndarray, bins: int = 10
) -> CountFunction:
    """Adaptive ECE of the resampled rows, bins recomputed per resample: row j appears
    counts[position[j]] times, and the resample's equal-mass bins are equal_mass_bins of the
    resampled rows. With all counts 1 this is adaptive_ece() of the sample."""
    confidence = np.asarray(confidence, dtype=np.float64)
    order = np.argsort(confidence, kind="stable")
    sorted_confidence = confidence[order]
    gap = (np.asarray(correct, dtype=np.float64) - confidence)[order]
    sorted_position = np.asarray(position)[order]
    # Rows whose confidence is shared take their group's mid-rank: the group's cumulative weight
    # at its last row plus that before its first row (2 below + w = end + start).
    new_value = np.r_[True, sorted_confidence[1:] != sorted_confidence[:-1]]
    group = np.cumsum(new_value) - 1
    starts = np.flatnonzero(new_value)
    ends = np.r_[starts[1:], len(order)] - 1
    sizes = ends - starts + 1
    tied = np.flatnonzero(sizes[group] > 1)
    tied_end = ends[group[tied]]
    tied_before = starts[group[tied]] - 1  # -1: nothing before the group

    def fn(counts: np.ndarray) -> np.ndarray:
        r = counts.shape[0]
        if len(order) == 0:
            return np.full(r, np.nan)
        # Rows x resamples: the running sum then goes down the rows, one vector add per row,
        # several times faster than a cumulative sum along each resample.
        weights = np.ascontiguousarray(counts.T[sorted_position])
        # Whole numbers and one correctly rounded division give the exact floor (see
        # _mid_rank_bins) in float32 too while N * bins <= 2**20: the rounding error, at most
        # bins * 2**-24, stays below the 1/2N by which a quotient can miss an integer.
        exact32 = float(weights.sum(axis=0).max(initial=0.0)) * bins <= 2**20
        weights = weights.astype(np.float32 if exact32 else np.float64, copy=False)
        cumulative = np.cumsum(weights, axis=0)
        total = cumulative[-1]
        twice_mid = 2 * cumulative - weights
        if tied.size:
            before = np.where(
                (tied_before >= 0)[:, None], cumulative[np.maximum(tied_before, 0)], 0
            )
            twice_mid[tied] = cumulative[tied_end] + before
        which = np.floor(twice_mid * weights.dtype.type(bins / 2) / np.maximum(total, 1))
        index = np.minimum(which, bins - 1).astype(np.intp)
        index += np.arange(r, dtype=np.intp) * bins
        contribution = weights * gap[:, None]
        per_bin = np.bincount(index.ravel(), weights=contribution.ravel(), minlength=r * bins)
        ece = np.abs(per_bin.reshape(r, bins)).sum(axis=1)
        return ratio(ece, total)

    return fn


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
    """ECE, adaptive ECE, top-label Brier and log loss of confidence as a forecast of
    correctness: the yardstick on which every recalibration method is compared."""
    c = np.clip(confidence, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    y = correct.astype(np.float64)
    gap = y - confidence
    n = len(y)
    ece = np.abs(np.bincount(equal_width_bins(confidence, bins), gap, bins)).sum() / n
    return {
        "ece": float(ece),
        "adaptive_ece": adaptive_ece(confidence, y, bins),
        "brier_top_label": float(np.mean((confidence - y) ** 2)),
        "nll_top_label": float(-np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))),
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


# The fitted temperature is kept within these bounds; a fit that reaches one is flagged.
TEMPERATURE_BOUNDS = (0.01, 100.0)


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(log p / T). The NLL is convex in 1/T, so a
    damped Newton iteration on 1/T converges; T is kept within TEMPERATURE_BOUNDS."""
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


def at_temperature_bound(temperature: float) -> bool:
    low, high = TEMPERATURE_BOUNDS
    return bool(temperature <= low * (1 + 1e-9) or temperature >= high * (1 - 1e-9))


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


def _out_of_fold(
    probs: np.ndarray,
    gold: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
    *,
    folds: int,
    seed: int,
    bins: int,
) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Top-label scores of each method predicted out of fold for one fold seed, and the
    temperature fitted on each fold's training part."""
    parsed = predicted >= 0
    correct = parsed & (predicted == gold)
    raw = np.where(parsed, probs[np.arange(len(gold)), np.maximum(predicted, 0)], 0.0)
    fold = fold_of_groups(groups, folds, seed)
    out = {"temperature": np.zeros(len(gold)), "platt": np.zeros(len(gold))}
    out["isotonic"] = np.zeros(len(gold))
    temperatures = []
    for k in range(folds):
        train, test = fold != k, fold == k
        t = fit_temperature(probs[train], gold[train])
        temperatures.append(t)
        scaled = apply_temperature(probs[test], t)
        out["temperature"][test] = np.where(
            parsed[test], scaled[np.arange(test.sum()), np.maximum(predicted[test], 0)], 0.0
        )
        a, b = fit_platt(raw[train], correct[train])
        out["platt"][test] = apply_platt(raw[test], a, b)
        out["isotonic"][test] = isotonic_fit(raw[train], correct[train]).predict(raw[test])
    scores = {method: top_label_scores(values, correct, bins) for method, values in out.items()}
    return scores, temperatures


# Fold assignments scored besides the main one: the spread of the out-of-fold scores over them
# says how much of a recalibration gain is the luck of one split.
FOLD_SEEDS = 5


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
    `predicted` is the predicted label index (-1 when unparsed: confidence 0, never corrected).

    The scores come from the fold split of `seed`; each method also carries `spread`, the
    [min, max] of each score over FOLD_SEEDS splits (seeds seed .. seed + FOLD_SEEDS - 1). The
    temperature method says whether the fit on all rows or on any fold reached a bound."""
    if len(np.unique(groups)) < 2 * folds:
        return None
    parsed = predicted >= 0
    correct = parsed & (predicted == gold)
    raw = np.where(parsed, probs[np.arange(len(gold)), np.maximum(predicted, 0)], 0.0)
    fold_seeds = [seed + k for k in range(FOLD_SEEDS)]
    runs = [
        _out_of_fold(probs, gold, predicted, groups, folds=folds, seed=s, bins=bins)
        for s in fold_seeds
    ]
    scored, fold_temperatures = runs[0]
    a, b = fit_platt(raw, correct)
    temperature = fit_temperature(probs, gold)
    methods: dict[str, Any] = {"none": top_label_scores(raw, correct, bins)}
    for method in ("temperature", "platt", "isotonic"):
        spread = {
            name: [min(r[0][method][name] for r in runs), max(r[0][method][name] for r in runs)]
            for name in scored[method]
        }
        methods[method] = {**scored[method], "spread": spread}
    every_fit = [temperature] + [t for _, temps in runs for t in temps]
    methods["temperature"].update(
        {
            "temperature": temperature,
            "fold_temperatures": fold_temperatures,
            "bounds": list(TEMPERATURE_BOUNDS),
            "at_bound": any(at_temperature_bound(t) for t in every_fit),
        }
    )
    methods["platt"].update({"a": a, "b": b})
    return {
        "folds": folds,
        "seed": seed,
        "fold_seeds": fold_seeds,
        "scored": "out-of-fold",
        "methods": methods,
    }
