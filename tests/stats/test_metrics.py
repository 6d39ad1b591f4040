"""Metrics from sufficient statistics equal puma.stats.point and independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn import metrics as skm
from statsmodels.stats.inter_rater import cohens_kappa

from puma.stats import point
from puma.stats.metrics import (
    ClassificationStats,
    EstimationStats,
    quantile_from_counts,
    spearman_from_counts,
    spearman_se,
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
        "f1_macro": engine.add_sum(columns, mask, cs.f1_macro_over(cs.present(columns.sum(0)))),
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


@pytest.mark.parametrize(("items", "repetitions"), [(50, 100), (1000, 10), (2000, 3)])
def test_blocked_quantiles_equal_the_direct_cumulative_sum(
    items: int, repetitions: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past BLOCKED_QUANTILE_ROWS rows (a sweep's many seeds) the crossing is found block by
    block: the same values, bit for bit, as the direct sum, for every q, ties, zero weights
    and zero totals (the jackknife's and the bootstrap's counts)."""
    import puma.stats.metrics as metrics

    rng = np.random.default_rng(items)
    n = items * repetitions
    values = np.round(rng.lognormal(4.0, 0.3, n), 1)  # ties on purpose
    position = np.repeat(np.arange(items), repetitions)
    rng.shuffle(position)
    counts = rng.multinomial(items, np.full(items, 1 / items), size=200).astype(np.float32)
    counts[0] = 0.0
    counts[1] = 1.0
    qs = [0.5, 0.9, 0.99, 1.0, 0.0]
    monkeypatch.setattr(metrics, "BLOCKED_QUANTILE_ROWS", 10**9)
    direct = metrics.quantile_from_counts(values, position, qs)(counts)
    monkeypatch.setattr(metrics, "BLOCKED_QUANTILE_ROWS", 0)
    blocked = metrics.quantile_from_counts(values, position, qs)(counts)
    assert np.array_equal(direct, blocked, equal_nan=True)


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


# Standard errors --------------------------------------------------------------------------------


def _table(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The square confusion table statsmodels takes: the unparsed answer is a last category that
    gold never takes (a zero row), as our kappa counts it."""
    table = np.zeros((len(LABELS) + 1, len(LABELS) + 1))
    for g, p in zip(gold, pred, strict=True):
        table[g, p if p >= 0 else len(LABELS)] += 1
    return table


def _near_constant(n: int, seed: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """A predictor that answers "Major" `share` of the time whatever the gold."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(4, size=n, p=[0.1, 0.4, 0.35, 0.15])
    pred = np.where(rng.random(n) < share, 1, np.where(rng.random(n) < 0.5, gold, 2))
    return gold, pred


@pytest.mark.parametrize(
    "data",
    [
        _data(300, 11),
        _data(40, 12),
        _near_constant(200, 13, 0.95),
        _near_constant(60, 14, 0.9),
        _near_constant(500, 15, 0.99),
    ],
    ids=["typical-300", "typical-40", "near-constant-95", "near-constant-90", "near-constant-99"],
)
def test_kappa_standard_error_equals_statsmodels(data: tuple[np.ndarray, np.ndarray]) -> None:
    gold, pred = data
    n = len(gold)
    cs = ClassificationStats(LABELS)
    per_item = cs.columns(np.arange(n), gold, pred, n)
    result = cohens_kappa(_table(gold, pred))
    assert float(cs.kappa(per_item.sum(0))) == pytest.approx(result.kappa, abs=1e-12)
    assert cs.kappa_se(per_item) == pytest.approx(result.std_kappa, rel=1e-9)


def test_kappa_standard_error_of_a_near_constant_predictor_matches_its_spread() -> None:
    """The old formula sqrt(po(1-po)/(n(1-pe)^2)) was 2.2 times the real spread here: the
    Fleiss-Cohen-Everitt SE is within a few percent of kappa's SD over fresh samples."""
    cs = ClassificationStats(LABELS)
    kappas = []
    for seed in range(400):
        gold, pred = _near_constant(200, 1000 + seed, 0.95)
        kappas.append(float(cs.kappa(cs.columns(np.arange(200), gold, pred, 200).sum(0))))
    gold, pred = _near_constant(200, 16, 0.95)
    se = cs.kappa_se(cs.columns(np.arange(200), gold, pred, 200))
    assert se is not None
    assert se == pytest.approx(float(np.std(kappas, ddof=1)), rel=0.25)


def test_repeating_every_answer_leaves_the_analytic_standard_errors_unchanged() -> None:
    """Repetitions of an item are one cluster: answering every item twice the same way is not
    twice the evidence."""
    gold, pred = _data(120, 17)
    n = len(gold)
    cs = ClassificationStats(LABELS)
    once = cs.columns(np.arange(n), gold, pred, n)
    item = np.r_[np.arange(n), np.arange(n)]
    twice = cs.columns(item, np.r_[gold, gold], np.r_[pred, pred], n)
    assert cs.kappa_se(twice) == pytest.approx(cs.kappa_se(once), rel=1e-12)
    # Spearman's SE takes the number of items, never of rows.
    assert spearman_se(0.4, n) == pytest.approx(float(0.84 * np.sqrt(1.08 / (n - 3))))


# Macro-F1 over a fixed label set ----------------------------------------------------------------


def test_macro_f1_keeps_its_label_set_in_every_resample() -> None:
    """A rare class missing from a resample still counts (F1 0), as scikit-learn with a fixed
    `labels` does: the resampled statistic is the point's statistic on the resampled data."""
    gold, pred = _data(30, 18)
    gold[:2] = 0  # "Critical" is rare: many resamples miss it
    gold[2:] = np.where(gold[2:] == 0, 1, gold[2:])
    n = len(gold)
    cs = ClassificationStats(LABELS)
    columns = cs.columns(np.arange(n), gold, pred, n)
    present = cs.present(columns.sum(0))
    labels = [LABELS[i] for i in np.flatnonzero(present)]
    fn = cs.f1_macro_over(present)
    rng = np.random.default_rng(19)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=200).astype(np.float64)
    got = fn(counts @ columns)
    y_pred = np.array([LABELS[i] if i >= 0 else UNPARSED for i in pred])
    y_true = np.array([LABELS[i] for i in gold])
    missing = 0
    for r in range(counts.shape[0]):
        rows = np.repeat(np.arange(n), counts[r].astype(int))
        missing += "Critical" not in set(y_true[rows])
        want = skm.f1_score(
            y_true[rows], y_pred[rows], labels=labels, average="macro", zero_division=0
        )
        assert got[r] == pytest.approx(want, abs=1e-12)
    assert missing > 10  # the case that used to change the label set


# Out-of-scale estimates -------------------------------------------------------------------------


def test_an_estimate_outside_the_scale_is_counted_and_scored_as_the_worst_point() -> None:
    scale = [float(p) for p in FIBONACCI_POINTS]
    gold = np.array([21.0, 3.0, 5.0, 8.0])
    pred = np.array([100.0, 4.0, np.nan, 0.5])  # out of scale, between points, unparsed, below
    es = EstimationStats(scale)
    columns = es.columns(np.arange(4), gold, pred, 4)
    totals = columns.sum(0)
    assert float(es.out_of_scale_rate(totals)) == 0.5
    assert float(es.parse_failure_rate(totals)) == 0.25
    # 100 against 21 is the farthest scale point from 21 (1): 20, and never "within one step".
    assert columns[:, 2].tolist() == [20.0, 1.0, 16.0, 13.0]
    assert columns[:, 3].tolist() == [0.0, 1.0, 0.0, 0.0]
    want = point.regression_scores(gold.tolist(), [100.0, 4.0, None, 0.5], scale)
    assert float(es.mae(totals)) == pytest.approx(want["mae"])
    assert want["out_of_scale_rate"] == 0.5
    assert want["within_one_step"] == 0.25
