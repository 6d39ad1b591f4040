"""Intervals that keep their promise: BCa equal to SciPy's on the engine's own resamples (ties
included), Wilson for proportions with a design effect for repetitions, Newcombe for paired
proportions, no zero-width intervals, BCa only from BCA_MIN_N items, and a note wherever a paired
interval and its test disagree."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from puma.evaluate import evaluate_run
from puma.evaluate.rows import SuiteInfo, group_rows
from puma.evaluate.scoring import ScoringOptions, score_suites
from puma.merge import merge_runs
from puma.runfolder.metrics import Comparison, MetricValue
from puma.stats.intervals import (
    BCA_MIN_N,
    PairedProportions,
    Proportion,
    newcombe_paired_interval,
    summarize,
    wilson_interval,
)
from puma.stats.paired import disagreement_note
from puma.stats.resample import ResamplingEngine, iter_bootstrap_counts, universe_seed

LABELS = ("Critical", "Major", "Minor", "Trivial")
_EVALUATE = Path(__file__).resolve().parents[1] / "evaluate"
Z = scipy_stats.norm.ppf(0.975)


def _rate(s: np.ndarray) -> np.ndarray:
    return s[..., 1] / s[..., 0]


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
def test_bca_of_a_paired_difference_equals_scipy_on_the_engines_own_resamples(seed: int) -> None:
    """SciPy cannot be handed resample indices, but `bootstrap(..., n_resamples=0,
    bootstrap_result=...)` computes its BCa interval on a bootstrap distribution we give it, with
    its own point estimate and jackknife from the data. We give it the engine's resamples, rebuilt
    from the engine's own counts (same seed, same draw) in exact arithmetic: integer per-item
    differences summed with integer counts, divided once by n. The engine computes each side's
    accuracy and subtracts, so its values carry float noise (-0.09999999999999998 for -0.1);
    these seeds are ones where a float `<` against the point moved an end by one step."""
    n, resamples = 80, 2000
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.7).astype(float)
    b = (rng.random(n) < 0.8).astype(float)
    engine = ResamplingEngine(n, resamples=resamples, seed=seed, key="tie")
    everything = np.ones(n, dtype=bool)
    ha = engine.add_sum(np.column_stack([np.ones(n), a]), everything, _rate)
    hb = engine.add_sum(np.column_stack([np.ones(n), b]), everything, _rate)
    engine.run()
    d = engine.distribution(ha).minus(engine.distribution(hb))

    draw = np.random.Generator(np.random.PCG64(universe_seed(seed, "tie").spawn(2)[0]))
    counts = np.vstack(list(iter_bootstrap_counts(n, resamples, draw))).astype(np.float64)
    exact = counts @ (a - b) / n
    assert np.abs(d.boot - exact).max() < 1e-12  # the very same resamples

    theirs = scipy_stats.bootstrap(
        (a - b,),
        np.mean,
        n_resamples=0,
        bootstrap_result=SimpleNamespace(bootstrap_distribution=exact),
        method="BCa",
        vectorized=True,
    ).confidence_interval
    ours = summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=n, seed=seed)
    assert ours["method"] == "bca"
    assert ours["ci_low"] == pytest.approx(theirs.low, abs=1e-12)
    assert ours["ci_high"] == pytest.approx(theirs.high, abs=1e-12)


def test_an_all_right_sample_gets_a_wilson_interval_not_a_zero_width_one() -> None:
    n = 50
    out = summarize(
        1.0,
        np.ones(1000),
        np.ones(n),
        level=0.95,
        method="bca",
        n=n,
        seed=1,
        analytic=Proportion(np.ones(n), np.ones(n)),
    )
    assert out["method"] == "wilson"
    assert out["ci_high"] == 1.0
    assert out["ci_low"] == pytest.approx(n / (n + Z**2), abs=1e-9)


@pytest.mark.parametrize(("k", "n"), [(37, 60), (5, 200), (180, 200), (13, 13), (0, 30)])
def test_wilson_interval_is_the_score_interval(k: int, n: int) -> None:
    """Away from 1-3 successes or failures: the p solving |k - np| = z sqrt(np(1-p))."""
    low, high = wilson_interval(k / n, n, 0.95)
    for bound in (low, high):
        if 0.0 < bound < 1.0:
            assert abs(k - n * bound) == pytest.approx(Z * math.sqrt(n * bound * (1 - bound)))


@pytest.mark.parametrize(("k", "n"), [(1, 40), (2, 50), (3, 90), (88, 90)])
def test_wilson_with_few_successes_or_failures_uses_the_poisson_limit(k: int, n: int) -> None:
    """Brown, Cai and DasGupta's modification: chi2(alpha; 2x) / 2n for x of 1-2 (n <= 50) or
    1-3 (n <= 100) successes, mirrored for failures."""
    low, high = wilson_interval(k / n, n, 0.95)
    if k <= 3:
        assert low == pytest.approx(scipy_stats.chi2.ppf(0.05, 2 * k) / (2 * n), rel=1e-9)
    else:
        assert high == pytest.approx(1 - scipy_stats.chi2.ppf(0.05, 2 * (n - k)) / (2 * n))


@pytest.mark.parametrize(("n", "p"), [(20, 0.5), (50, 0.95), (50, 0.99), (100, 0.99), (300, 0.9)])
def test_accuracy_interval_covers_at_least_93_percent_where_bca_covered_far_less(
    n: int, p: float
) -> None:
    """Exact coverage over the binomial distribution of the number right (the bootstrap BCa
    interval of an all-right sample was [1, 1]: 37 % at n = 50, p = 0.99)."""
    covered = 0.0
    for k in range(n + 1):
        out = summarize(
            k / n,
            np.full(10, k / n),
            None,
            level=0.95,
            method="bca",
            n=n,
            seed=0,
            analytic=Proportion(np.r_[np.ones(k), np.zeros(n - k)], np.ones(n)),
        )
        if out["ci_low"] <= p <= out["ci_high"]:
            covered += scipy_stats.binom.pmf(k, n, p)
    assert covered >= 0.93


def test_repeating_every_answer_does_not_narrow_the_interval() -> None:
    """Repetitions of one item are a cluster: three identical answers per item carry the
    information of one, so the design effect brings the effective n back to the item count."""
    rng = np.random.default_rng(3)
    right = (rng.random(40) < 0.8).astype(float)
    once = Proportion(right, np.ones(40))
    thrice = Proportion(3 * right, np.full(40, 3.0))
    assert thrice.effective_n() == pytest.approx(40)
    assert wilson_interval(thrice.point, thrice.effective_n(), 0.95) == pytest.approx(
        wilson_interval(once.point, once.effective_n(), 0.95)
    )
    # All right: nothing measures how alike the repetitions are, so assume they are copies.
    perfect = Proportion(np.full(40, 3.0), np.full(40, 3.0))
    assert perfect.effective_n() == 40


def test_independent_repetitions_count_up_to_the_number_of_answers() -> None:
    rng = np.random.default_rng(4)
    right = (rng.random((400, 3)) < 0.6).sum(axis=1).astype(float)
    p = Proportion(right, np.full(400, 3.0))
    assert 900 < p.effective_n() <= 1200


def _newcombe_from_table(n11: int, n10: int, n01: int, n00: int) -> tuple[float, float]:
    """Newcombe (1998), method 10, written from the paper's 2x2-table formulas."""
    n = n11 + n10 + n01 + n00
    p1, p2 = (n11 + n10) / n, (n11 + n01) / n
    l1, u1 = wilson_interval(p1, n, 0.95)
    l2, u2 = wilson_interval(p2, n, 0.95)
    margins = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    phi = 0.0 if margins == 0 else (n11 * n00 - n10 * n01) / math.sqrt(margins)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return low, high


@pytest.mark.parametrize("table", [(30, 9, 3, 8), (45, 0, 0, 5), (50, 0, 0, 0), (10, 2, 12, 26)])
def test_paired_difference_interval_is_newcombes(table: tuple[int, int, int, int]) -> None:
    n11, n10, n01, n00 = table
    a = np.r_[np.ones(n11 + n10), np.zeros(n01 + n00)]
    b = np.r_[np.ones(n11), np.zeros(n10), np.ones(n01), np.zeros(n00)]
    ones = np.ones(len(a))
    low, high = newcombe_paired_interval(
        PairedProportions(Proportion(a, ones), Proportion(b, ones)), 0.95
    )
    expected = _newcombe_from_table(*table)
    assert (low, high) == pytest.approx(expected, abs=1e-12)
    assert high - low > 0.0  # even when the two sides agree on every item


def test_bca_is_not_used_below_its_minimum_n() -> None:
    rng = np.random.default_rng(5)
    boot = rng.normal(0.5, 0.1, 2000)
    jack = rng.normal(0.5, 0.01, BCA_MIN_N - 1)
    small = summarize(0.5, boot, jack, level=0.95, method="bca", n=BCA_MIN_N - 1, seed=1)
    assert small["method"] == "percentile"
    assert str(BCA_MIN_N) in small["note"]
    large = summarize(0.5, boot, jack, level=0.95, method="bca", n=BCA_MIN_N, seed=1)
    assert large["method"] == "bca"
    assert "note" not in large
    MetricValue.model_validate(small)


def test_bca_and_sign_flip_disagreement_gets_a_note() -> None:
    """The real pair of the issue: BCa [-0.351, -0.060] with a sign-flip p of 0.092."""
    note = disagreement_note(-0.351, -0.060, 0.092, 0.95, "sign-flip-permutation")
    assert note is not None
    assert "excludes 0" in note and "sign-flip-permutation" in note
    assert disagreement_note(-0.351, -0.060, 0.01, 0.95, "mcnemar-exact") is None
    assert disagreement_note(-0.2, 0.1, 0.5, 0.95, "mcnemar-exact") is None
    assert "contains 0" in (disagreement_note(-0.2, 0.1, 0.03, 0.95, "mcnemar-exact") or "")


def _rows(preds: dict[str, list[str | None]], gold: list[str]) -> list[dict[str, object]]:
    rows = []
    for model, answers in preds.items():
        for i, (g, answer) in enumerate(zip(gold, answers, strict=True)):
            rows.append(
                {
                    "suite_id": "pm-triage",
                    "task": "triage",
                    "model": model,
                    "strategy": "zero-shot",
                    "phase": "predict",
                    "perturbation": "none",
                    "repetition": 0,
                    "instance_id": f"I-{i:04d}",
                    "gold": g,
                    "slices": json.dumps({}),
                    "predicted_label": answer,
                    "predicted_value": None,
                    "label_probs": None,
                    "ttft_ms": 10.0,
                    "total_ms": 100.0,
                    "prompt_tps": 100.0,
                    "generation_tps": 10.0,
                    "error": None,
                }
            )
    return rows


def test_scoring_labels_each_interval_and_notes_what_is_missing() -> None:
    """Through `puma eval`'s scoring: a perfect model's accuracy gets Wilson's interval, its
    macro-F1 (every resample 1) no interval and a note, a pair's accuracy difference Newcombe's,
    and everything validates against metrics-1.0."""
    rng = np.random.default_rng(6)
    gold = [LABELS[i] for i in rng.integers(0, 4, 60)]
    flawed = [g if rng.random() < 0.7 else LABELS[(LABELS.index(g) + 1) % 4] for g in gold]
    rows = _rows({"perfect": list(gold), "flawed": list(flawed)}, gold)
    suites = {"pm-triage": SuiteInfo("pm-triage", "triage", LABELS)}
    options = ScoringOptions(resamples=500, permutations=500)
    scores = score_suites(group_rows(rows, suites, "benchmark"), options)
    perfect = next(c for c in scores.cells if c["cell"]["model"] == "perfect")["metrics"]
    assert perfect["accuracy"]["method"] == "wilson"
    assert perfect["accuracy"]["ci_low"] < 1.0 == perfect["accuracy"]["ci_high"]
    assert perfect["f1_macro"]["method"] == "none"
    assert perfect["f1_macro"]["ci_low"] is None and perfect["f1_macro"]["note"]
    assert perfect["parse_failure_rate"]["method"] == "wilson"
    assert perfect["parse_failure_rate"]["ci_high"] > 0.0
    assert perfect["per_class"]["Major"]["recall"]["method"] == "wilson"
    accuracy = next(c for c in scores.comparisons if c["metric"] == "accuracy")
    assert accuracy["difference"]["method"] == "newcombe"
    for c in scores.comparisons:
        Comparison.model_validate(c)
    for cell in scores.cells:
        for name in ("accuracy", "f1_macro", "kappa", "parse_failure_rate"):
            MetricValue.model_validate(cell["metrics"][name])


def test_a_comparison_whose_interval_and_test_disagree_says_so() -> None:
    """9 items only a got right, 2 only b: Newcombe's interval excludes 0, McNemar's exact p is
    0.065. The comparison carries a note; metrics.json stays valid."""
    gold = [LABELS[i % 4] for i in range(60)]

    def wrong(g: str) -> str:
        return LABELS[(LABELS.index(g) + 1) % 4]

    a = [g if i < 49 else wrong(g) for i, g in enumerate(gold)]
    b = [g if i < 40 or 49 <= i < 51 else wrong(g) for i, g in enumerate(gold)]
    suites = {"pm-triage": SuiteInfo("pm-triage", "triage", LABELS)}
    rows = group_rows(_rows({"a": list(a), "b": list(b)}, gold), suites, "benchmark")
    scores = score_suites(rows, ScoringOptions(resamples=500, permutations=500))
    accuracy = next(c for c in scores.comparisons if c["metric"] == "accuracy")
    assert accuracy["test"] == "mcnemar-exact"
    assert accuracy["p_value"] == pytest.approx(2 * (1 + 11 + 55) / 2**11)
    assert accuracy["difference"]["ci_low"] > 0.0
    assert "excludes 0" in accuracy["note"]
    Comparison.model_validate(accuracy)


def test_merging_a_run_with_a_copy_of_itself_keeps_every_proportion_interval(
    tmp_path: Path,
) -> None:
    """The copy's answers become second repetitions identical to the first: the design effect
    gives back the item count, so no Wilson or Newcombe interval narrows."""
    spec = importlib.util.spec_from_file_location("runs", _EVALUATE / "conftest.py")
    assert spec is not None and spec.loader is not None
    runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runs)
    one = runs.build_run(tmp_path, seed=3, run_id="one")
    runs.build_run(tmp_path, seed=3, run_id="two")
    options = ScoringOptions(resamples=300, permutations=300)
    single = evaluate_run(one, options).document
    merged = merge_runs(tmp_path, options).document

    def proportions(document: dict[str, Any]) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for cell in document["cells"]:
            m = cell["metrics"]
            for metric in [m["accuracy"], m["parse_failure_rate"]] + [
                c[k] for c in m["per_class"].values() for k in ("precision", "recall")
            ]:
                out.append((metric["method"], metric["ci_low"], metric["ci_high"]))
        for c in document["comparisons"]:
            if c["difference"]["method"] == "newcombe":
                out.append((c["difference"]["ci_low"], c["difference"]["ci_high"]))
        return out

    assert any(c["n_rows"] == 2 * c["n"] for c in merged["cells"])
    assert proportions(merged) == proportions(single)
