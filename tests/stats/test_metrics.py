"""Metrics from sufficient statistics equal puma.stats.point and independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn import metrics as skm

from puma.stats import point
from puma.stats.metrics import (
    ClassificationStats,
    EstimationStats,
    quantile_from_counts,
    spearman_from_counts,
)
from puma.stats.resample import ResamplingEngine
from puma.suites.model import FIBONACCI_POINTS

LABELS = ("Critical", "Major", "Minor", "Trivial")
UNPARSED = "<unparsed>"


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gold = rng.choice(4, size=n, p=[0.1, 0.4, 0.35, 0.15])
    pred = np.where(rng.random(n) < 0.6, gold, rng.integers(0, 4, n))
    pred[rng.random(n) < 0.08] = -1
    return gold, pred


def _text(indices: np.ndarray) -> list[str | None]:
    return [LABELS[i] if i >= 0 else None for i in indices]


def _points(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every classification metric through the engine (points only)."""
    n = len(gold)
    cs = ClassificationStats(LABELS)
    columns = cs.columns(np.arange(n), gold, pred, n)
    engine = ResamplingEngine(n, resamples=10, seed=0)
    mask = np.ones(n, bool)
    handles = {
        "accuracy": engine.add_sum(columns, mask, cs.accuracy),
        "f1_macro": engine.add_sum(columns, mask, cs.f1_macro),
        "kappa": engine.add_sum(columns, mask, cs.kappa),
        "parse_failure_rate": engine.add_sum(columns, mask, cs.parse_failure_rate),
    }
    for i, label in enumerate(LABELS):
        handles[f"precision:{label}"] = engine.add_sum(columns, mask, cs.precision(i))
        handles[f"recall:{label}"] = engine.add_sum(columns, mask, cs.recall(i))
        handles[f"f1:{label}"] = engine.add_sum(columns, mask, cs.f1(i))
    engine.run()
    return {k: engine.distribution(h).point for k, h in handles.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_points_equal_point_module(seed: int) -> None:
    gold, pred = _data(300, seed)
    got = _points(gold, pred)
    want = point.classification_scores(_text(gold), _text(pred), LABELS)
    assert got["accuracy"] == pytest.approx(want["accuracy"], abs=1e-12)
    assert got["f1_macro"] == pytest.approx(want["f1_macro"], abs=1e-12)
    assert got["parse_failure_rate"] == pytest.approx(want["parse_failure_rate"], abs=1e-12)
    for label in LABELS:
        assert got[f"f1:{label}"] == pytest.approx(want["f1_per_class"][label], abs=1e-12)


def test_macro_f1_kappa_and_per_class_equal_scikit_learn() -> None:
    gold, pred = _data(500, 7)
    got = _points(gold, pred)
    y_true = [LABELS[i] for i in gold]
    y_pred = [LABELS[i] if i >= 0 else UNPARSED for i in pred]
    present = sorted(set(y_true))
    assert got["f1_macro"] == pytest.approx(
        skm.f1_score(y_true, y_pred, labels=present, average="macro"), abs=1e-12
    )
    # An unparsed answer is a category gold never takes: kappa counts it as disagreement.
    assert got["kappa"] == pytest.approx(skm.cohen_kappa_score(y_true, y_pred), abs=1e-12)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=list(LABELS), zero_division=0
    )
    for i, label in enumerate(LABELS):
        assert got[f"precision:{label}"] == pytest.approx(precision[i], abs=1e-12)
        assert got[f"recall:{label}"] == pytest.approx(recall[i], abs=1e-12)
        assert got[f"f1:{label}"] == pytest.approx(f1[i], abs=1e-12)


def test_a_label_outside_the_set_is_wrong_but_not_a_parse_failure() -> None:
    gold = np.array([0, 1, 1, 2])
    pred = np.array([0, -2, 1, -1])  # -2: parsed, but not one of the labels
    got = _points(gold, pred)
    assert got["accuracy"] == 0.5
    assert got["parse_failure_rate"] == 0.25


def test_estimation_points_equal_point_module() -> None:
    rng = np.random.default_rng(3)
    scale = [float(p) for p in FIBONACCI_POINTS]
    gold = rng.choice(FIBONACCI_POINTS[:6], size=200).astype(float)
    pred = np.where(rng.random(200) < 0.5, gold, rng.choice(FIBONACCI_POINTS, size=200))
    pred = pred.astype(float)
    pred[rng.random(200) < 0.1] = np.nan
    es = EstimationStats(scale)
    n = len(gold)
    columns = es.columns(np.arange(n), gold, pred, n)
    scored = es.impute(gold, pred)
    errors = np.abs(scored - gold)
    engine = ResamplingEngine(n, resamples=10, seed=0)
    mask = np.ones(n, bool)
    position = np.arange(n)
    h = {
        "mae": engine.add_sum(columns, mask, es.mae),
        "within_one_step": engine.add_sum(columns, mask, es.within_one_step),
        "parse_failure_rate": engine.add_sum(columns, mask, es.parse_failure_rate),
        "mdae": engine.add_counts(mask, quantile_from_counts(errors, position, 0.5)),
        "mdmre": engine.add_counts(mask, quantile_from_counts(errors / gold, position, 0.5)),
    }
    engine.run()
    want = point.regression_scores(gold.tolist(), [None if np.isnan(v) else v for v in pred], scale)
    for name, handle in h.items():
        assert engine.distribution(handle).point == pytest.approx(want[name], abs=1e-12), name


def test_weighted_quantile_equals_numpy_on_the_expanded_sample() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(size=40).round(1)  # ties on purpose
    counts = rng.integers(0, 4, size=(25, 40)).astype(np.float32)
    for q in (0.5, 0.9, 0.99, 0.25):
        got = quantile_from_counts(values, np.arange(40), q)(counts)
        for r in range(counts.shape[0]):
            sample = np.repeat(values, counts[r].astype(int))
            want = np.quantile(sample, q, method="averaged_inverted_cdf")
            assert got[r] == pytest.approx(want, abs=1e-12)


def test_spearman_from_counts_equals_scipy_on_the_expanded_sample() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 8, size=50).astype(float)  # heavy ties, like story points
    y = x + rng.integers(-2, 3, size=50)
    counts = rng.multinomial(50, np.full(50, 1 / 50), size=30).astype(np.float32)
    got = spearman_from_counts(x, y, np.arange(50))(counts)
    for r in range(counts.shape[0]):
        reps = counts[r].astype(int)
        want = scipy_stats.spearmanr(np.repeat(x, reps), np.repeat(y, reps)).statistic
        assert got[r] == pytest.approx(want, abs=1e-10)


def test_repetitions_sum_into_their_item() -> None:
    # Two rows of item 0 (one right, one wrong) and one right row of item 1.
    cs = ClassificationStats(LABELS)
    columns = cs.columns(np.array([0, 0, 1]), np.array([1, 1, 2]), np.array([1, 0, 2]), 2)
    assert columns[0, 0] == 2 and columns[1, 0] == 1
    assert float(cs.accuracy(columns.sum(axis=0))) == pytest.approx(2 / 3)
