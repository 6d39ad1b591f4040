"""Point estimates of the headline metrics, as a submission declares them.

These are the numbers `verify-hash --rescore` recomputes; the bootstrap engine reports the same
points with intervals. An unparsed prediction (None) is a wrong answer, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(
    gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str]
) -> list[list[int]]:
    """Rows gold, columns predicted, in `labels` order; an unparsed answer lands in no column."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        if p in index:
            matrix[index[g], index[p]] += 1
    return matrix.tolist()


def classification_scores(
    gold: Sequence[str],
    predicted: Sequence[str | None],
    labels: Sequence[str],
    confidence: Sequence[float | None] | None = None,
    ece_bins: int = 10,
) -> dict[str, object]:
    """accuracy, f1_macro, f1_per_class, confusion_matrix, parse_failure_rate and (with
    confidences) ece. Unparsed predictions count as wrong and as a miss for their gold class."""
    n = len(gold)
    if n == 0:
        raise ValueError("no predictions to score")
    correct = np.array([g == p for g, p in zip(gold, predicted, strict=True)], dtype=float)
    f1_per_class: dict[str, float] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        denominator = 2 * tp + fp + fn
        f1_per_class[label] = 0.0 if denominator == 0 else 2 * tp / denominator
    # The label set is fixed by the gold of these items, as the bootstrap keeps it (metrics.py).
    present = [label for label in labels if label in set(gold)]
    f1_macro = float(np.mean([f1_per_class[label] for label in present])) if present else 0.0
    scores: dict[str, object] = {
        "accuracy": float(correct.mean()),
        "f1_macro": f1_macro,
        "f1_per_class": f1_per_class,
        "confusion_matrix": confusion_matrix(gold, predicted, labels),
        "parse_failure_rate": sum(1 for p in predicted if p is None) / n,
        "n": n,
    }
    if confidence is not None:
        scores["ece"] = expected_calibration_error(correct, confidence, ece_bins)
    return scores


def expected_calibration_error(
    correct: Sequence[float] | np.ndarray, confidence: Sequence[float | None], bins: int = 10
) -> float | None:
    """Equal-width ECE over predictions that carry a confidence; None when none do.
    A prediction without a confidence (unparsed) counts with confidence 0."""
    if all(c is None for c in confidence):
        return None
    conf = np.array([0.0 if c is None else float(c) for c in confidence])
    hits = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(hits[mask].mean() - conf[mask].mean())
    return float(total / len(conf))


def out_of_scale(value: float | None, scale: Sequence[float]) -> bool:
    """A parsed estimate below the scale's lowest or above its highest point ("100" on 1-21)."""
    return value is not None and not (min(scale) <= value <= max(scale))


def regression_scores(
    gold: Sequence[float], predicted: Sequence[float | None], scale: Sequence[float]
) -> dict[str, object]:
    """mae, mdae, mdmre, within_one_step, parse_failure_rate, out_of_scale_rate. An unparsed
    estimate, and one outside the scale's range, is scored as the scale point farthest from the
    gold value (the worst answer on the scale), never dropped; out-of-scale answers are counted
    apart from parse failures."""
    n = len(gold)
    if n == 0:
        raise ValueError("no predictions to score")
    g = np.asarray(gold, dtype=float)
    p = np.array(
        [
            float(max(scale, key=lambda s: abs(s - gv)))
            if pv is None or out_of_scale(pv, scale)
            else float(pv)
            for gv, pv in zip(g, predicted, strict=True)
        ]
    )
    errors = np.abs(p - g)
    steps = np.asarray(scale, dtype=float)

    def step_of(value: float) -> int:
        return int(np.argmin(np.abs(steps - value)))

    within = [abs(step_of(pv) - step_of(gv)) <= 1 for pv, gv in zip(p, g, strict=True)]
    return {
        "mae": float(errors.mean()),
        "mdae": float(np.median(errors)),
        "mdmre": float(np.median(errors / g)),
        "within_one_step": float(np.mean(within)),
        "parse_failure_rate": sum(1 for v in predicted if v is None) / n,
        "out_of_scale_rate": sum(1 for v in predicted if out_of_scale(v, scale)) / n,
        "n": n,
    }


def call_percentiles(values: Sequence[float], percents: Sequence[float]) -> list[float]:
    """Percentiles of a per-call figure (latency in ms), interpolated linearly between the
    closest ranks (NumPy's default): the latency a submission declares."""
    return [float(v) for v in np.percentile(np.asarray(values, dtype=float), list(percents))]


def call_median(values: Sequence[float]) -> float | None:
    """The median of a per-call figure (time to first token, latency), or None without calls."""
    return float(np.median(np.asarray(values, dtype=float))) if len(values) else None
