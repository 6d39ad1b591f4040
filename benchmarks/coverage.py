"""Coverage study of PUMA's 95 % intervals: how often they contain the true value.

For every n in {20, 50, 100, 300, 1000} and p in {0.5, 0.7, 0.9, 0.95, 0.99}, draws synthetic
four-class data sets (class shares 0.10 / 0.40 / 0.35 / 0.15) and scores each through the engine
`puma eval` uses (ResamplingEngine, the ClassificationStats metric functions, intervals.summarize
with the arguments scoring.py passes), then prints the share of intervals that contain the truth:

- accuracy: each answer right with probability p (a wrong one is one of the other three labels at
  random); the truth is p. Wilson interval.
- macro-F1: the same answers; the truth is the population macro-F1 of that confusion (computed
  exactly from p and the class shares). Bootstrap interval (BCa from BCA_MIN_N items).
- paired accuracy difference: model A right with probability p, model B with p - 0.05, the two
  correctness indicators correlated 0.3 (phi); the truth is 0.05. Newcombe interval.

- accuracy with repetitions: every item answered 3 times, the item's chance of a right answer
  drawn from a Beta distribution with mean p and concentration 2 (intra-item correlation 1/3);
  the truth is p. Wilson interval with the design effect's effective n.

Each cell's Monte Carlo standard error is sqrt(c (1 - c) / data sets). Cells outside
[0.93, 0.97] are listed. A second table shows, for choosing BCA_MIN_N, macro-F1 under the
percentile and BCa intervals alone, and accuracy under the bootstrap BCa interval PUMA used
before Wilson.

The data sets of one cell are scored in batches by one engine each, as a suite's models are in
`puma eval`: they share that engine's resamples, which leaves each interval's coverage unchanged
(every data set is independent of the resamples).

Run: .venv/bin/python benchmarks/coverage.py [--datasets 1000] [--resamples 1000] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from puma.stats.intervals import (
    BCA_MIN_N,
    PairedProportions,
    Proportion,
    bca_interval,
    summarize,
)
from puma.stats.metrics import ClassificationStats
from puma.stats.resample import ResamplingEngine

LABELS = ("Critical", "Major", "Minor", "Trivial")
SHARES = np.array([0.10, 0.40, 0.35, 0.15])
NS = (20, 50, 100, 300, 1000)
PS = (0.5, 0.7, 0.9, 0.95, 0.99)
GAP = 0.05  # model B's accuracy is p - GAP
PHI = 0.3  # correlation of the two models' correctness
LEVEL = 0.95
TARGET = (0.93, 0.97)
BATCH = 250  # data sets per engine
REPETITIONS = 3
CONCENTRATION = 2.0  # of the Beta distribution of item accuracies: intra-item correlation 1/3
METRICS = ("accuracy", "f1_macro", "accuracy_difference", "accuracy_repeated")
REFERENCE = ("f1_macro_percentile", "f1_macro_bca", "accuracy_bca")


def true_macro_f1(p: float) -> float:
    """Population macro-F1 when an answer is right with probability p and otherwise one of the
    other labels uniformly: F1_c = 2 TP_c / (gold_c + predicted_c)."""
    others = (1.0 - SHARES) * (1.0 - p) / (len(LABELS) - 1)
    f1 = 2.0 * SHARES * p / (SHARES + SHARES * p + others)
    return float(f1.mean())


def joint_correctness(p: float) -> np.ndarray:
    """P(A right, B right), P(A right, B wrong), P(A wrong, B right), P(both wrong)."""
    pa, pb = p, p - GAP
    both = pa * pb + PHI * math.sqrt(pa * (1 - pa) * pb * (1 - pb))
    cells = np.array([both, pa - both, pb - both, 1.0 - pa - pb + both])
    if np.any(cells < 0):
        raise ValueError(f"phi {PHI} is not feasible at p = {p}")
    return cells


def answers(gold: np.ndarray, right: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Predictions: gold where right, else one of the other labels at random."""
    shift = rng.integers(1, len(LABELS), size=gold.shape)
    return np.where(right, gold, (gold + shift) % len(LABELS))


@dataclass
class Cell:
    hits: dict[str, int]
    datasets: int


def score_cell(n: int, p: float, datasets: int, resamples: int, seed: int) -> Cell:
    """Coverage counts of one (n, p) cell."""
    rng = np.random.default_rng([seed, n, round(p * 1000)])
    # Its own stream, so the other tables do not depend on whether this one is drawn.
    repeated = np.random.default_rng([seed, n, round(p * 1000), REPETITIONS])
    cs = ClassificationStats(LABELS)
    truth = {
        "accuracy": p,
        "f1_macro": true_macro_f1(p),
        "accuracy_difference": GAP,
        "f1_macro_percentile": true_macro_f1(p),
        "f1_macro_bca": true_macro_f1(p),
        "accuracy_bca": p,
        "accuracy_repeated": p,
    }
    hits = dict.fromkeys(METRICS + REFERENCE, 0)
    joint = joint_correctness(p)
    everything = np.ones(n, dtype=bool)
    items = np.arange(n)
    for start in range(0, datasets, BATCH):
        size = min(BATCH, datasets - start)
        engine = ResamplingEngine(n, resamples=resamples, seed=seed, key=f"cov-{n}-{p}-{start}")
        registered = []
        for _ in range(size):
            gold = rng.choice(len(LABELS), size=n, p=SHARES)
            outcome = rng.choice(4, size=n, p=joint)
            right_a, right_b = outcome <= 1, (outcome == 0) | (outcome == 2)
            columns_a = cs.columns(items, gold, answers(gold, right_a, rng), n)
            columns_b = cs.columns(items, gold, answers(gold, right_b, rng), n)
            registered.append(
                (
                    columns_a,
                    columns_b,
                    engine.add_sum(columns_a, everything, cs.accuracy),
                    engine.add_sum(columns_a, everything, cs.f1_macro),
                    engine.add_sum(columns_b, everything, cs.accuracy),
                )
            )
        engine.run()
        hits["accuracy_repeated"] += _repeated_hits(n, p, size, resamples, seed, start, repeated)
        for columns_a, columns_b, h_accuracy, h_f1, h_accuracy_b in registered:
            # The arguments scoring.py passes: per-item successes and trials of a proportion.
            trials = columns_a[:, 0]
            right_a = Proportion(columns_a[:, 2 : 2 + len(LABELS)].sum(axis=1), trials)
            right_b = Proportion(columns_b[:, 2 : 2 + len(LABELS)].sum(axis=1), trials)
            accuracy = engine.distribution(h_accuracy)
            f1 = engine.distribution(h_f1)
            difference = accuracy.minus(engine.distribution(h_accuracy_b))
            common = {"level": LEVEL, "n": n, "seed": seed}
            intervals = {
                "accuracy": summarize(
                    accuracy.point,
                    accuracy.boot,
                    accuracy.jack,
                    method="bca",
                    analytic=right_a,
                    **common,
                ),
                "f1_macro": summarize(f1.point, f1.boot, f1.jack, method="bca", **common),
                "accuracy_difference": summarize(
                    difference.point,
                    difference.boot,
                    difference.jack,
                    method="bca",
                    analytic=PairedProportions(right_a, right_b),
                    **common,
                ),
                "f1_macro_percentile": summarize(
                    f1.point, f1.boot, f1.jack, method="percentile", **common
                ),
            }
            for name, summary in intervals.items():
                low, high = summary["ci_low"], summary["ci_high"]
                hits[name] += low is not None and low <= truth[name] <= high
            for name, d in (("f1_macro_bca", f1), ("accuracy_bca", accuracy)):
                # BCa alone, at every n, with its own percentile fallback, as before this study.
                bca = bca_interval(d.boot, d.point, d.jack, LEVEL)
                if bca is None:
                    bca = tuple(np.quantile(d.boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]))
                hits[name] += bca[0] - 1e-12 <= truth[name] <= bca[1] + 1e-12
    return Cell(hits, datasets)


def _repeated_hits(
    n: int, p: float, size: int, resamples: int, seed: int, start: int, rng: np.random.Generator
) -> int:
    """Data sets whose accuracy interval contains p when every item is answered REPETITIONS
    times with an item-specific chance of being right."""
    cs = ClassificationStats(LABELS)
    engine = ResamplingEngine(n, resamples=resamples, seed=seed, key=f"rep-{n}-{p}-{start}")
    item = np.repeat(np.arange(n), REPETITIONS)
    registered = []
    for _ in range(size):
        gold = rng.choice(len(LABELS), size=n, p=SHARES)[item]
        chance = rng.beta(p * CONCENTRATION, (1 - p) * CONCENTRATION, n)[item]
        columns = cs.columns(item, gold, answers(gold, rng.random(len(item)) < chance, rng), n)
        registered.append((columns, engine.add_sum(columns, np.ones(n, bool), cs.accuracy)))
    engine.run()
    hits = 0
    for columns, handle in registered:
        d = engine.distribution(handle)
        right = Proportion(columns[:, 2 : 2 + len(LABELS)].sum(axis=1), columns[:, 0])
        summary = summarize(
            d.point, d.boot, d.jack, level=LEVEL, method="bca", n=n, seed=seed, analytic=right
        )
        hits += summary["ci_low"] <= p <= summary["ci_high"]
    return hits


def study(
    ns: Sequence[int], ps: Sequence[float], datasets: int, resamples: int, seed: int
) -> dict[tuple[int, float], Cell]:
    return {(n, p): score_cell(n, p, datasets, resamples, seed) for n in ns for p in ps}


def coverage(cell: Cell, metric: str) -> tuple[float, float]:
    c = cell.hits[metric] / cell.datasets
    return c, math.sqrt(max(c * (1 - c), 1e-12) / cell.datasets)


def table(
    cells: dict[tuple[int, float], Cell], metric: str, ns: Sequence[int], ps: Sequence[float]
) -> list[str]:
    lines = ["| n \\ p | " + " | ".join(f"{p:g}" for p in ps) + " |"]
    lines.append("|---" * (len(ps) + 1) + "|")
    for n in ns:
        row = []
        for p in ps:
            c, se = coverage(cells[(n, p)], metric)
            row.append(f"{c:.3f} ± {se:.3f}")
        lines.append(f"| {n} | " + " | ".join(row) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000, help="data sets per cell")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples each")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="200 data sets a cell (smoke run)")
    args = parser.parse_args()
    datasets = 200 if args.quick else args.datasets
    started = time.perf_counter()
    cells = study(NS, PS, datasets, args.resamples, args.seed)
    runtime = time.perf_counter() - started
    print(
        f"coverage of {LEVEL:.0%} intervals, {datasets:,} data sets a cell, "
        f"{args.resamples:,} resamples each, seed {args.seed}; BCa from {BCA_MIN_N} items"
    )
    titles = {
        "accuracy": "accuracy (Wilson)",
        "f1_macro": "macro-F1 (bootstrap: percentile below BCA_MIN_N items, BCa from it)",
        "accuracy_difference": f"paired accuracy difference (Newcombe; B = p - {GAP}, phi {PHI})",
        "accuracy_repeated": f"accuracy, {REPETITIONS} answers per item (Wilson, design effect)",
        "f1_macro_percentile": "reference: macro-F1, percentile interval at every n",
        "f1_macro_bca": "reference: macro-F1, BCa interval at every n",
        "accuracy_bca": "reference: accuracy, bootstrap BCa interval (PUMA before Wilson)",
    }
    for metric in METRICS + REFERENCE:
        print(f"\n{titles[metric]}")
        print("\n".join(table(cells, metric, NS, PS)))
    outside = [
        f"{metric} n={n} p={p:g}: {coverage(cells[(n, p)], metric)[0]:.3f}"
        for metric in METRICS
        for n in NS
        for p in PS
        if not TARGET[0] <= coverage(cells[(n, p)], metric)[0] <= TARGET[1]
    ]
    print(f"\ncells outside [{TARGET[0]}, {TARGET[1]}] (shipped intervals): {len(outside)}")
    for line in outside:
        print(f"  {line}")
    print(f"\nruntime: {runtime:.1f} s")


if __name__ == "__main__":
    main()
