"""Calibration: our PAV against scikit-learn's isotonic regression, ECE against point.py, Brier
and NLL against scikit-learn, and recalibration fits that recover what was put in."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from puma.stats import point
from puma.stats.calibration import (
    FOLD_SEEDS,
    TEMPERATURE_BOUNDS,
    CalibrationStats,
    adaptive_ece,
    adaptive_ece_from_counts,
    equal_mass_bins,
    fit_platt,
    fit_temperature,
    isotonic_fit,
    recalibration_scores,
    reliability_table,
    top_label_scores,
)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_isotonic_fit_equals_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random(200).round(2)  # ties on purpose
    y = (rng.random(200) < x).astype(float)
    w = rng.integers(1, 4, 200).astype(float)
    ours = isotonic_fit(x, y, w)
    theirs = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=w)
    assert ours.predict(x) == pytest.approx(theirs.predict(x), abs=1e-12)
    new = np.linspace(-0.1, 1.1, 57)
    assert ours.predict(new) == pytest.approx(theirs.predict(new), abs=1e-12)
    assert np.all(np.diff(ours.predict(np.sort(x))) >= 0)


def _calibration_data(n: int, seed: int, sharpen: float) -> tuple[np.ndarray, np.ndarray]:
    """Gold drawn from softmax(z); the model reports softmax(sharpen * z): overconfident when
    sharpen > 1, so the temperature that fixes it is `sharpen`."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, 4))
    truth = _softmax(z)
    gold = np.array([rng.choice(4, p=p) for p in truth])
    return _softmax(sharpen * z), gold


def test_ece_brier_and_nll_from_sums_equal_independent_formulas() -> None:
    probs, gold = _calibration_data(400, 1, 2.0)
    pred = probs.argmax(axis=1)
    pred[::17] = -1  # unparsed: confidence 0, wrong
    correct = pred == gold
    confidence = np.where(pred >= 0, probs[np.arange(400), np.maximum(pred, 0)], 0.0)
    stats = CalibrationStats(10)
    totals = stats.row_columns(confidence, correct, probs, gold).sum(axis=0)
    assert float(stats.ece(totals)) == pytest.approx(
        point.expected_calibration_error(correct.astype(float), confidence.tolist(), 10), abs=1e-12
    )
    assert float(stats.brier_multiclass(totals)) == pytest.approx(
        brier_score_loss(gold, probs, labels=[0, 1, 2, 3], scale_by_half=False), abs=1e-12
    )
    assert float(stats.nll(totals)) == pytest.approx(log_loss(gold, probs, labels=[0, 1, 2, 3]))
    assert 0.0 <= adaptive_ece(confidence, correct, 10) <= 1.0


def test_the_two_brier_scores_have_two_names() -> None:
    """The multi-class Brier (whole distribution vs one-hot gold, 0 to 2) and the top-label one
    (confidence vs correctness, 0 to 1) are different quantities: never both called "brier"."""
    probs, gold = _calibration_data(300, 6, 2.0)
    pred = probs.argmax(axis=1)
    confidence = probs[np.arange(300), pred]
    correct = pred == gold
    top = top_label_scores(confidence, correct, 10)
    assert "brier" not in top
    assert top["brier_top_label"] == pytest.approx(brier_score_loss(correct, confidence))
    stats = CalibrationStats(10)
    totals = stats.row_columns(confidence, correct, probs, gold).sum(axis=0)
    assert not hasattr(stats, "brier")
    assert float(stats.brier_multiclass(totals)) != pytest.approx(top["brier_top_label"])


def test_adaptive_ece_recomputes_its_equal_mass_bins_in_every_resample() -> None:
    """The resampled adaptive ECE is the statistic as defined on the resampled rows (its own
    equal-mass bins), checked against a direct loop that builds each resample; repetitions of an
    item (several rows) are resampled together."""
    rng = np.random.default_rng(7)
    n_items = 41
    item = np.repeat(np.arange(n_items), rng.integers(1, 4, n_items))
    confidence = rng.random(len(item)).round(1)  # ties on purpose
    correct = rng.random(len(item)) < confidence**0.5
    fn = adaptive_ece_from_counts(confidence, correct, item, 10)
    assert float(fn(np.ones((1, n_items), np.float32))[0]) == pytest.approx(
        adaptive_ece(confidence, correct, 10), abs=1e-12
    )
    counts = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=30)
    got = fn(counts.astype(np.float32))
    fixed_bins = equal_mass_bins(confidence, 10)  # the old way: the full sample's bins
    differs = 0
    for r in range(counts.shape[0]):
        rows = np.repeat(np.arange(len(item)), counts[r][item])
        want = adaptive_ece(confidence[rows], correct[rows], 10)
        assert got[r] == pytest.approx(want, abs=1e-12)
        gap = correct[rows] - confidence[rows]
        old = np.abs(np.bincount(fixed_bins[rows], gap, 10)).sum() / len(rows)
        differs += abs(old - want) > 1e-9
    assert differs > 10
    # Scaling every weight moves no mid-rank bin: large resamples (the float64 path) agree.
    assert fn(counts.astype(np.float32) * 5000) == pytest.approx(got, abs=1e-12)


def test_temperature_fit_recovers_the_sharpening() -> None:
    probs, gold = _calibration_data(3000, 2, 2.5)
    assert fit_temperature(probs, gold) == pytest.approx(2.5, rel=0.12)


def test_platt_fit_equals_unregularised_logistic_regression() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.3, 0.99, 500)
    correct = rng.random(500) < confidence**2
    a, b = fit_platt(confidence, correct)
    feature = np.log(confidence / (1 - confidence))[:, None]
    reference = LogisticRegression(C=1e8, tol=1e-12, max_iter=10_000).fit(feature, correct)
    assert a == pytest.approx(reference.coef_[0, 0], rel=1e-3)
    assert b == pytest.approx(reference.intercept_[0], abs=1e-3)


def test_out_of_fold_recalibration_lowers_the_ece_of_an_overconfident_model() -> None:
    probs, gold = _calibration_data(1500, 4, 3.0)
    pred = probs.argmax(axis=1)
    scores = recalibration_scores(probs, gold, pred, np.arange(1500), folds=5, seed=1)
    assert scores is not None
    methods = scores["methods"]
    raw = methods["none"]["ece"]
    for name in ("temperature", "platt", "isotonic"):
        assert methods[name]["ece"] < raw / 2, name
    assert methods["temperature"]["temperature"] == pytest.approx(3.0, rel=0.15)
    assert methods["temperature"]["at_bound"] is False
    assert scores["scored"] == "out-of-fold"
    assert scores["fold_seeds"] == list(range(1, 1 + FOLD_SEEDS))
    for name in ("temperature", "platt", "isotonic"):
        for score, (low, high) in methods[name]["spread"].items():
            assert low <= methods[name][score] <= high, (name, score)
        assert methods[name]["spread"]["ece"][0] < methods[name]["spread"]["ece"][1], name


def test_a_temperature_that_reaches_its_bound_is_flagged() -> None:
    """Confidences that carry nothing about the gold label are best scaled to uniform: the fit
    runs into its limit of 100, and the scores say so."""
    rng = np.random.default_rng(8)
    probs = rng.dirichlet(np.full(4, 0.3), size=400)
    gold = rng.integers(0, 4, 400)
    scores = recalibration_scores(probs, gold, probs.argmax(1), np.arange(400), folds=5, seed=3)
    assert scores is not None
    temperature = scores["methods"]["temperature"]
    assert temperature["temperature"] == pytest.approx(TEMPERATURE_BOUNDS[1])
    assert temperature["at_bound"] is True
    assert temperature["bounds"] == list(TEMPERATURE_BOUNDS)
    assert len(temperature["fold_temperatures"]) == 5


def test_recalibration_is_skipped_with_too_few_items() -> None:
    probs, gold = _calibration_data(8, 5, 1.0)
    assert recalibration_scores(probs, gold, probs.argmax(1), np.arange(8), folds=5) is None


def test_reliability_table_partitions_the_predictions() -> None:
    confidence = np.array([0.0, 0.05, 0.1, 0.15, 0.55, 0.95, 1.0])
    correct = np.array([0, 0, 1, 0, 1, 1, 1], dtype=bool)
    table = reliability_table(confidence, correct, 10)
    assert sum(row["n"] for row in table) == 7
    assert table[0]["n"] == 3  # 0, 0.05 and 0.1 (right-closed bins, 0 in the first)
    assert table[9]["accuracy"] == 1.0
    assert table[3]["confidence"] is None
