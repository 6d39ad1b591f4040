"""Benchmark of the resampling engine (puma.stats.resample) against SciPy and a naive loop.

Case 1: 10,000 items x 10 models x 5 slices, 100,000 resamples, accuracy and macro-F1 for every
model and slice (BCa intervals), plus all 45 pairwise differences. Prints wall time, peak traced
memory and the process's peak RSS; then the same accuracy and macro-F1 interval for one model via
scipy.stats.bootstrap (vectorised, batched), and a naive per-resample macro-F1 loop (fewer
resamples, scaled), with the measured ratios.
Case 2: 300 items x 10 models, 10,000 resamples: every classification metric of every model and
every pair (differences, McNemar, sign-flip tests with 10,000 flips); then the whole `puma eval`
scoring of such a run (calibration, speed, slices included).

Run: .venv/bin/python benchmarks/bootstrap.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from puma.stats.intervals import summarize
from puma.stats.metrics import ClassificationStats
from puma.stats.paired import mcnemar_exact
from puma.stats.resample import ResamplingEngine

LABELS = ("Critical", "Major", "Minor", "Trivial")


def synthetic(n: int, models: int, seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Gold labels, each model's predictions (-1 unparsed) and a slice value per item."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(len(LABELS), size=n, p=[0.1, 0.4, 0.35, 0.15])
    preds = []
    for m in range(models):
        right = rng.random(n) < 0.75 - 0.03 * m
        other = rng.integers(0, len(LABELS), n)
        pred = np.where(right, gold, other)
        pred[rng.random(n) < 0.03] = -1
        preds.append(pred)
    return gold, preds, np.arange(n) % 5


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def case_one(n: int, models: int, resamples: int, seed: int) -> dict[str, Any]:
    gold, preds, slices = synthetic(n, models, seed)
    cs = ClassificationStats(LABELS)
    everything = np.ones(n, dtype=bool)
    masks = [everything] + [slices == s for s in range(5)]

    def run() -> tuple[int, int]:
        engine = ResamplingEngine(n, resamples=resamples, seed=seed, key="bench")
        handles: dict[tuple[int, int, str], int] = {}
        for m, pred in enumerate(preds):
            columns = cs.columns(np.arange(n), gold, pred, n)
            for s, mask in enumerate(masks):
                handles[(m, s, "accuracy")] = engine.add_sum(columns, mask, cs.accuracy)
                handles[(m, s, "f1_macro")] = engine.add_sum(columns, mask, cs.f1_macro)
        engine.run()
        intervals = 0
        for h in handles.values():
            d = engine.distribution(h)
            summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=d.n, seed=seed)
            intervals += 1
        pairs = 0
        for a, b in itertools.combinations(range(models), 2):
            for metric in ("accuracy", "f1_macro"):
                d = engine.distribution(handles[(a, 0, metric)]).minus(
                    engine.distribution(handles[(b, 0, metric)])
                )
                summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=d.n, seed=seed)
                intervals += 1
            pairs += 1
        return intervals, pairs

    tracemalloc.start()
    cpu = time.process_time()
    (intervals, pairs), wall = timed(run)
    cpu = time.process_time() - cpu
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall": wall,
        "cpu": cpu,
        "intervals": intervals,
        "pairs": pairs,
        "traced_peak_mb": traced_peak / 2**20,
        "rss_peak_mb": peak_rss_mb(),
        "gold": gold,
        "pred": preds[0],
    }


def one_interval_engine(gold: np.ndarray, pred: np.ndarray, resamples: int, metric: str) -> float:
    cs = ClassificationStats(LABELS)
    n = len(gold)

    def run() -> None:
        engine = ResamplingEngine(n, resamples=resamples, seed=1, key="one")
        h = engine.add_sum(
            cs.columns(np.arange(n), gold, pred, n), np.ones(n, bool), getattr(cs, metric)
        )
        engine.run()
        d = engine.distribution(h)
        summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=n, seed=1)

    return timed(run)[1]


def f1_macro_vectorised(gold: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    """macro-F1 over the last axis for SciPy's vectorised bootstrap (labels present in gold)."""
    gold = np.moveaxis(gold, axis, -1)
    pred = np.moveaxis(pred, axis, -1)
    total = np.zeros(gold.shape[:-1])
    present = np.zeros(gold.shape[:-1])
    for label in range(len(LABELS)):
        g = gold == label
        p = pred == label
        tp = np.sum(g & p, axis=-1)
        denominator = g.sum(axis=-1) + p.sum(axis=-1)
        f1 = np.divide(2.0 * tp, denominator, out=np.zeros_like(total), where=denominator > 0)
        has = g.any(axis=-1)
        total += f1 * has
        present += has
    return total / present


def scipy_interval(
    gold: np.ndarray, pred: np.ndarray, resamples: int, metric: str
) -> tuple[float, Any]:
    from scipy import stats

    correct = (gold == pred).astype(np.float64)
    rng = np.random.default_rng(1)

    def run() -> Any:
        if metric == "accuracy":
            return stats.bootstrap(
                (correct,),
                np.mean,
                n_resamples=resamples,
                method="BCa",
                vectorized=True,
                batch=500,
                random_state=rng,
            )
        return stats.bootstrap(
            (gold, pred),
            f1_macro_vectorised,
            paired=True,
            n_resamples=resamples,
            method="BCa",
            vectorized=True,
            batch=250,
            random_state=rng,
        )

    result, wall = timed(run)
    return wall, result.confidence_interval


def naive_loop(gold: np.ndarray, pred: np.ndarray, resamples: int) -> float:
    """What a hand-written bootstrap does: per resample, draw indices, gather, compute macro-F1."""
    rng = np.random.default_rng(1)
    n = len(gold)
    values = []
    start = time.perf_counter()
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        values.append(float(f1_macro_vectorised(gold[idx], pred[idx])))
    np.quantile(values, [0.025, 0.975])
    return time.perf_counter() - start


def case_two(n: int, models: int, resamples: int, seed: int) -> dict[str, Any]:
    gold, preds, _ = synthetic(n, models, seed)
    cs = ClassificationStats(LABELS)
    everything = np.ones(n, dtype=bool)

    def run() -> int:
        engine = ResamplingEngine(
            n, resamples=resamples, seed=seed, key="case2", permutations=resamples
        )
        per_model = []
        for pred in preds:
            columns = cs.columns(np.arange(n), gold, pred, n)
            fns = {
                "accuracy": cs.accuracy,
                "f1_macro": cs.f1_macro,
                "kappa": cs.kappa,
                "parse_failure_rate": cs.parse_failure_rate,
            }
            for i in range(len(LABELS)):
                fns[f"precision_{i}"] = cs.precision(i)
                fns[f"recall_{i}"] = cs.recall(i)
                fns[f"f1_{i}"] = cs.f1(i)
            per_model.append({k: engine.add_sum(columns, everything, fn) for k, fn in fns.items()})
        tests = {}
        for a, b in itertools.combinations(range(models), 2):
            for metric in ("f1_macro", "kappa"):
                tests[(a, b, metric)] = engine.add_sign_flip_test(
                    per_model[a][metric], per_model[b][metric]
                )
        engine.run()
        count = 0
        for handles in per_model:
            for h in handles.values():
                d = engine.distribution(h)
                summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=d.n, seed=seed)
                count += 1
        for a, b in itertools.combinations(range(models), 2):
            for metric in ("accuracy", "f1_macro", "kappa", "parse_failure_rate"):
                d = engine.distribution(per_model[a][metric]).minus(
                    engine.distribution(per_model[b][metric])
                )
                summarize(d.point, d.boot, d.jack, level=0.95, method="bca", n=d.n, seed=seed)
                count += 1
            mcnemar_exact(preds[a] == gold, preds[b] == gold)
            for metric in ("f1_macro", "kappa"):
                engine.p_value(tests[(a, b, metric)])
        return count

    count, wall = timed(run)
    return {"wall": wall, "intervals": count}


def full_eval_scoring(n: int, models: int, resamples: int) -> float:
    """The whole scoring of `puma eval` (every metric, calibration, speed, slices, pairs)."""
    import json

    from puma.evaluate.rows import SuiteInfo, group_rows
    from puma.evaluate.scoring import ScoringOptions, score_suites

    rng = np.random.default_rng(3)
    gold, preds, slices = synthetic(n, models, 3)
    rows = []
    for m, pred in enumerate(preds):
        for i in range(n):
            probs = rng.dirichlet(np.ones(len(LABELS)))
            rows.append(
                {
                    "suite_id": "pm-triage",
                    "task": "triage",
                    "model": f"model-{m}",
                    "strategy": "zero-shot",
                    "phase": "predict",
                    "perturbation": "none",
                    "repetition": 0,
                    "instance_id": f"I-{i:05d}",
                    "gold": LABELS[gold[i]],
                    "slices": json.dumps({"project": f"P{slices[i]}"}),
                    "predicted_label": None if pred[i] < 0 else LABELS[pred[i]],
                    "predicted_value": None if pred[i] < 0 else float(probs[pred[i]]),
                    "label_probs": json.dumps(dict(zip(LABELS, probs.tolist(), strict=True))),
                    "ttft_ms": float(rng.lognormal(5, 0.3)),
                    "total_ms": float(rng.lognormal(6, 0.3)),
                    "prompt_tps": float(rng.lognormal(6, 0.2)),
                    "generation_tps": float(rng.lognormal(3.5, 0.2)),
                    "error": None,
                }
            )
    suites = {"pm-triage": SuiteInfo("pm-triage", "triage", LABELS)}
    options = ScoringOptions(resamples=resamples, permutations=resamples)
    grouped = group_rows(rows, suites, "benchmark")
    return timed(lambda: score_suites(grouped, options))[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer resamples (smoke run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    resamples = 100_000 // scale

    print(f"== Case 1: 10,000 items x 10 models x 5 slices, {resamples:,} resamples")
    one = case_one(10_000, 10, resamples, seed=42)
    per_interval = one["wall"] / one["intervals"]
    print(
        f"  engine: {one['wall']:.2f} s wall ({one['cpu']:.2f} s CPU in all threads; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores) for {one['intervals']} BCa intervals "
        f"(10 models x (all + 5 slices) x 2 metrics + {one['pairs']} pairs x 2 metrics)"
    )
    print(
        f"  peak memory: {one['traced_peak_mb']:.0f} MB traced (NumPy + Python), "
        f"{one['rss_peak_mb']:.0f} MB peak RSS of the process"
    )
    print(f"  amortised per interval: {per_interval * 1000:.1f} ms")
    for metric in ("accuracy", "f1_macro"):
        alone = one_interval_engine(one["gold"], one["pred"], resamples, metric)
        scipy_wall, ci = scipy_interval(one["gold"], one["pred"], resamples, metric)
        print(
            f"  {metric}: scipy.stats.bootstrap (BCa, vectorised) {scipy_wall:.2f} s "
            f"[{ci.low:.4f}, {ci.high:.4f}]; engine alone {alone:.2f} s "
            f"-> {scipy_wall / alone:.1f}x; "
            f"amortised in the job -> {scipy_wall / per_interval:.0f}x"
        )
    loop_resamples = 300
    loop = naive_loop(one["gold"], one["pred"], loop_resamples)
    scaled = loop * resamples / loop_resamples
    print(
        f"  naive per-resample macro-F1 loop: {loop:.2f} s for {loop_resamples} resamples, "
        f"{scaled:.0f} s scaled to {resamples:,} -> {scaled / per_interval:.0f}x the amortised "
        f"engine, {scaled / one['wall']:.1f}x the whole 210-interval job"
    )

    print("== Case 2: 300 items x 10 models, 10,000 paired resamples")
    two = case_two(300, 10, 10_000 // scale, seed=7)
    print(
        f"  engine: {two['wall']:.3f} s for {two['intervals']} intervals "
        "(every classification metric of 10 models, 45 pairs x 4 differences, "
        "45 McNemar tests, 90 sign-flip tests of 10,000 flips)"
    )
    full = full_eval_scoring(300, 10, 10_000 // scale)
    print(f"  whole eval scoring of such a run (calibration, speed, slices, pairs): {full:.2f} s")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
