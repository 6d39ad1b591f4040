"""The resampling engine: multinomial counts drawn once, intervals that agree with SciPy, slices
and pairs from the same counts, and sign-flip tests that agree with SciPy's permutation test."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as scipy_stats

from puma.stats.intervals import summarize
from puma.stats.metrics import ClassificationStats, quantile_from_counts
from puma.stats.resample import ResamplingEngine, iter_bootstrap_counts

LABELS = ("Critical", "Major", "Minor", "Trivial")
Data = Callable[..., tuple[np.ndarray, np.ndarray]]


def _accuracy_engine(correct: np.ndarray, resamples: int, seed: int = 1) -> ResamplingEngine:
    n = len(correct)
    engine = ResamplingEngine(n, resamples=resamples, seed=seed, key="t")
    columns = np.column_stack([np.ones(n), correct])
    engine.add_sum(columns, np.ones(n, bool), lambda s: s[..., 1] / s[..., 0])
    engine.run()
    return engine


def test_counts_are_multinomial_resamples_of_all_items() -> None:
    rng = np.random.default_rng(0)
    chunks = list(iter_bootstrap_counts(500, 3000, rng))
    counts = np.vstack(chunks)
    assert counts.shape == (3000, 500)
    assert np.all(counts.sum(axis=1) == 500)
    # Multinomial(n, 1/n): each count has mean 1 and variance (1 - 1/n).
    assert counts.mean() == pytest.approx(1.0)
    assert counts.var() == pytest.approx(1 - 1 / 500, rel=0.02)


def test_same_seed_same_draws_other_seed_other_draws() -> None:
    correct = (np.random.default_rng(1).random(200) < 0.7).astype(float)
    a = _accuracy_engine(correct, 500, seed=3).distribution(0).boot
    b = _accuracy_engine(correct, 500, seed=3).distribution(0).boot
    c = _accuracy_engine(correct, 500, seed=4).distribution(0).boot
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_accuracy_interval_agrees_with_scipy_bootstrap(method: str) -> None:
    correct = (np.random.default_rng(2).random(400) < 0.72).astype(float)
    resamples = 20_000
    d = _accuracy_engine(correct, resamples).distribution(0)
    ours = summarize(
        d.point,
        d.boot,
        d.jack,
        level=0.95,
        method=method.lower(),
        n=d.n,
        seed=1,  # type: ignore[arg-type]
    )
    theirs = scipy_stats.bootstrap(
        (correct,),
        np.mean,
        n_resamples=resamples,
        method=method,
        vectorized=True,
        random_state=np.random.default_rng(9),
    )
    # Monte-Carlo error of a 2.5% quantile from 20,000 resamples is ~0.02 SE; allow 0.1 SE plus
    # one step of the grid an accuracy of 400 items lives on.
    tolerance = 0.1 * theirs.standard_error + 1 / 400
    assert ours["ci_low"] == pytest.approx(theirs.confidence_interval.low, abs=tolerance)
    assert ours["ci_high"] == pytest.approx(theirs.confidence_interval.high, abs=tolerance)
    se = theirs.standard_error
    assert ours["se_bootstrap"] == pytest.approx(se, rel=0.03)
    assert ours["method"] == method.lower()


def _f1_macro_axis(gold: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    gold = np.moveaxis(gold, axis, -1)
    pred = np.moveaxis(pred, axis, -1)
    total = np.zeros(gold.shape[:-1])
    present = np.zeros(gold.shape[:-1])
    for label in range(len(LABELS)):
        g, p = gold == label, pred == label
        denominator = g.sum(-1) + p.sum(-1)
        f1 = np.divide(
            2.0 * (g & p).sum(-1), denominator, out=np.zeros_like(total), where=denominator > 0
        )
        total += f1 * g.any(-1)
        present += g.any(-1)
    return total / present


def test_macro_f1_bca_interval_agrees_with_scipy_bootstrap(make_classification: Data) -> None:
    gold, pred = make_classification(300, seed=5)
    n = len(gold)
    cs = ClassificationStats(LABELS)
    engine = ResamplingEngine(n, resamples=20_000, seed=2, key="f1")
    h = engine.add_sum(cs.columns(np.arange(n), gold, pred, n), np.ones(n, bool), cs.f1_macro)
    engine.run()
    d = engine.distribution(h)
    ours = summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=n, seed=2)
    theirs = scipy_stats.bootstrap(
        (gold, pred),
        _f1_macro_axis,
        paired=True,
        vectorized=True,
        n_resamples=20_000,
        method="BCa",
        random_state=np.random.default_rng(3),
    )
    se = theirs.standard_error
    assert ours["point"] == pytest.approx(float(_f1_macro_axis(gold, pred)), abs=1e-9)
    assert ours["ci_low"] == pytest.approx(theirs.confidence_interval.low, abs=0.1 * se)
    assert ours["ci_high"] == pytest.approx(theirs.confidence_interval.high, abs=0.1 * se)


def test_median_interval_from_counts_agrees_with_scipy_bootstrap() -> None:
    values = np.random.default_rng(6).lognormal(5, 0.4, 300)
    engine = ResamplingEngine(300, resamples=20_000, seed=5, key="median")
    h = engine.add_counts(np.ones(300, bool), quantile_from_counts(values, np.arange(300), 0.5))
    engine.run()
    d = engine.distribution(h)
    ours = summarize(d.point, d.boot, d.jack, level=0.95, method="percentile", n=300, seed=5)
    theirs = scipy_stats.bootstrap(
        (values,),
        np.median,
        n_resamples=20_000,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(8),
    )
    se = theirs.standard_error
    assert ours["point"] == pytest.approx(np.median(values))
    assert ours["ci_low"] == pytest.approx(theirs.confidence_interval.low, abs=0.15 * se)
    assert ours["ci_high"] == pytest.approx(theirs.confidence_interval.high, abs=0.15 * se)


def test_slices_come_from_the_same_counts_as_the_whole(make_classification: Data) -> None:
    """A slice is a mask over the same resampled counts: its resampled values equal those of a
    statistic over all items whose columns are zero outside the slice."""
    gold, pred = make_classification(240, seed=6)
    n = len(gold)
    cs = ClassificationStats(LABELS)
    columns = cs.columns(np.arange(n), gold, pred, n)
    in_slice = np.arange(n) % 3 == 1
    sliced = ResamplingEngine(n, resamples=400, seed=7, key="s")
    whole = sliced.add_sum(columns, np.ones(n, bool), cs.accuracy)
    part = sliced.add_sum(columns, in_slice, cs.accuracy)
    sliced.run()
    masked = ResamplingEngine(n, resamples=400, seed=7, key="s")
    alone = masked.add_sum(columns * in_slice[:, None], np.ones(n, bool), cs.accuracy)
    masked.run()
    assert np.allclose(sliced.distribution(part).boot, masked.distribution(alone).boot)
    assert sliced.distribution(part).point == pytest.approx(
        float(np.mean(gold[in_slice] == pred[in_slice]))
    )
    assert sliced.distribution(whole).n == n
    assert sliced.distribution(part).n == int(in_slice.sum())


def test_pair_differences_use_the_same_resamples_for_both_sides(make_classification: Data) -> None:
    gold, a = make_classification(300, seed=8, skill=0.8)
    _, b = make_classification(300, seed=9, skill=0.6)
    n = len(gold)
    cs = ClassificationStats(LABELS)
    engine = ResamplingEngine(n, resamples=3000, seed=1, key="pair")
    mask = np.ones(n, bool)
    ha = engine.add_sum(cs.columns(np.arange(n), gold, a, n), mask, cs.accuracy)
    hb = engine.add_sum(cs.columns(np.arange(n), gold, b, n), mask, cs.accuracy)
    engine.run()
    difference = engine.distribution(ha).minus(engine.distribution(hb))
    direct = engine.distribution(ha).boot - engine.distribution(hb).boot
    assert np.array_equal(difference.boot, direct)
    # Paired resampling: the SE of the difference is that of the per-item differences.
    per_item = (gold == a).astype(float) - (gold == b).astype(float)
    assert difference.boot.std() == pytest.approx(per_item.std() / np.sqrt(n), rel=0.08)


@pytest.mark.parametrize("n", [12, 200])
def test_sign_flip_p_value_agrees_with_scipy_permutation_test(n: int) -> None:
    rng = np.random.default_rng(n)
    a = (rng.random(n) < 0.75).astype(float)
    b = (rng.random(n) < 0.55).astype(float)
    engine = ResamplingEngine(n, resamples=10, seed=1, key="flip", permutations=20_000)
    mask = np.ones(n, bool)
    fn = lambda s: s[..., 1] / s[..., 0]  # noqa: E731
    ha = engine.add_sum(np.column_stack([np.ones(n), a]), mask, fn)
    hb = engine.add_sum(np.column_stack([np.ones(n), b]), mask, fn)
    test = engine.add_sign_flip_test(ha, hb)
    engine.run()
    theirs = scipy_stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=20_000,
        random_state=np.random.default_rng(2),
    )
    assert engine.p_value(test) == pytest.approx(theirs.pvalue, abs=0.02)


def test_bca_falls_back_to_percentile_when_every_resample_is_on_one_side() -> None:
    boot = np.linspace(1.0, 2.0, 1000)
    jack = np.array([0.4, 0.5, 0.6])
    out = summarize(0.5, boot, jack, level=0.95, method="bca", n=100, seed=0)
    assert out["method"] == "percentile"
    assert out["ci_low"] == pytest.approx(np.quantile(boot, 0.025))


def test_a_metric_without_variation_gets_no_interval_and_a_note_saying_why() -> None:
    """Every resample of an all-right sample is 1: a [1, 1] interval would claim the value is
    known exactly, so the bootstrap reports none and says why."""
    d = _accuracy_engine(np.ones(50), 200).distribution(0)
    out = summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=d.n, seed=1)
    assert (out["point"], out["ci_low"], out["ci_high"]) == (1.0, None, None)
    assert out["method"] == "none"
    assert "of resamples give the same value" in out["note"]
    assert set(out) == {
        "point",
        "se_analytic",
        "se_bootstrap",
        "ci_low",
        "ci_high",
        "level",
        "method",
        "n",
        "resamples",
        "seed",
        "note",
    }


@pytest.mark.slow
def test_percentile_interval_of_accuracy_covers_the_truth_95_percent_of_the_time() -> None:
    """1,000 synthetic data sets of 400 items with true accuracy 0.7: the 95% percentile
    interval must contain 0.7 in 93-97% of them."""
    truth = 0.7
    rng = np.random.default_rng(2024)
    covered = 0
    for k in range(1000):
        correct = (rng.random(400) < truth).astype(float)
        d = _accuracy_engine(correct, 2000, seed=k).distribution(0)
        out = summarize(d.point, d.boot, None, level=0.95, method="percentile", n=400, seed=k)
        covered += out["ci_low"] <= truth <= out["ci_high"]
    assert 0.93 <= covered / 1000 <= 0.97, covered
