"""The catalogue's statistics over runs: a cell's median with a bootstrap interval clustered by
contributor, the robust z-score that flags outlier runs, and rank intervals from interval
overlap. Pure functions of arrays; seeded, so the same runs give the same numbers.

Why clustered: runs of one contributor share a machine, a set-up and habits, so they are not
independent. Resampling contributors first, then their runs, gives a prolific contributor's
hundred runs the weight of one contributor's spread, not of a hundred independent draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from puma.stats.intervals import percentile_interval
from puma.stats.resample import universe_seed

LEVEL = 0.95
RESAMPLES = 2000
SEED = 20261129
# Iglewicz and Hoaglin (1993): |modified z| > 3.5 marks a potential outlier; 0.6745 makes the
# MAD consistent with the standard deviation of a normal sample.
OUTLIER_Z = 3.5
_MAD_SCALE = 0.6745
# With a MAD of zero (over half the runs equal), the mean absolute deviation stands in, scaled
# by sqrt(pi/2) to the same consistency (IBM SPSS's and Iglewicz-Hoaglin's fallback).
_MEANAD_SCALE = 1.253314


@dataclass(frozen=True)
class Interval:
    median: float
    low: float | None  # None: a single run, nothing to resample
    high: float | None


def clustered_median(
    values: Sequence[float],
    clusters: Sequence[str],
    *,
    key: str,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """The median of `values` with a percentile interval from a two-stage bootstrap: draw as
    many contributors as there are, with replacement; for each drawn contributor draw as many of
    its runs as it has, with replacement; take the median of the pooled draw. `key` (the cell
    and figure) seeds the draws, so cells do not share random numbers."""
    data = np.asarray(values, dtype=np.float64)
    point = float(np.median(data))
    if data.size < 2:
        return Interval(point, None, None)
    if float(np.ptp(data)) == 0.0:
        return Interval(point, point, point)  # every resample gives the same median
    names = sorted(set(clusters))
    index = {name: i for i, name in enumerate(names)}
    owner = np.array([index[c] for c in clusters])
    order = np.argsort(owner, kind="stable")  # runs grouped by contributor
    sizes = np.bincount(owner, minlength=len(names))
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.empty(data.size, dtype=np.int64)  # each run's position in sorted value order
    by_value = np.argsort(data[order], kind="stable")
    rank[by_value] = np.arange(data.size)
    sorted_values = data[order][by_value]
    rng = np.random.default_rng(universe_seed(seed, key))
    k, n = len(names), data.size
    drawn = rng.integers(0, k, size=(resamples, k))
    counts_per_slot = sizes[drawn].ravel()
    row = np.repeat(np.repeat(np.arange(resamples), k), counts_per_slot)
    contributor = np.repeat(drawn.ravel(), counts_per_slot)
    within = (rng.random(row.size) * sizes[contributor]).astype(np.int64)
    run = offsets[contributor] + within  # position in contributor order
    counts = np.bincount(row * n + rank[run], minlength=resamples * n).reshape(resamples, n)
    boot = _weighted_medians(sorted_values, counts)
    low, high = percentile_interval(boot, level)
    return Interval(point, low, high)


def _weighted_medians(sorted_values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per row of `counts` (how often each sorted value was drawn), the median of the draw."""
    cumulative = np.cumsum(counts, axis=1)
    total = cumulative[:, -1]
    lower = (total - 1) // 2  # 0-based ranks of the middle order statistics
    upper = total // 2
    at_lower = np.argmax(cumulative > lower[:, None], axis=1)
    at_upper = np.argmax(cumulative > upper[:, None], axis=1)
    medians: np.ndarray = (sorted_values[at_lower] + sorted_values[at_upper]) / 2.0
    return medians


def robust_z(values: Sequence[float]) -> np.ndarray:
    """Modified z-scores: 0.6745 (x - median) / MAD; zeros when the runs do not vary at all."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 3:
        return np.zeros(data.size)
    centre = float(np.median(data))
    deviation = np.abs(data - centre)
    mad = float(np.median(deviation))
    if mad > 0.0:
        z: np.ndarray = _MAD_SCALE * (data - centre) / mad
        return z
    mean_ad = float(np.mean(deviation))
    if mean_ad == 0.0:
        return np.zeros(data.size)
    fallback: np.ndarray = (data - centre) / (_MEANAD_SCALE * mean_ad)
    return fallback


def outliers(values: Sequence[float]) -> list[int]:
    """Indexes of runs whose |robust z| exceeds OUTLIER_Z."""
    return [int(i) for i in np.flatnonzero(np.abs(robust_z(values)) > OUTLIER_Z)]


def rank_intervals(
    bounds: Sequence[tuple[float, float]], higher_is_better: bool
) -> list[tuple[int, int]]:
    """(best, worst) rank of each entry from interval overlap, as Chatbot Arena ranks: best =
    1 + the number of entries certainly better (their lower bound above this one's upper bound,
    for a higher-is-better figure); worst = the number of entries not certainly worse."""
    lows = np.array([b[0] for b in bounds], dtype=np.float64)
    highs = np.array([b[1] for b in bounds], dtype=np.float64)
    if not higher_is_better:
        lows, highs = -highs, -lows
    out = []
    for low, high in zip(lows, highs, strict=True):
        better = int(np.count_nonzero(lows > high))
        worse = int(np.count_nonzero(highs < low))
        out.append((1 + better, len(bounds) - worse))
    return out


def spread(values: Sequence[float]) -> tuple[float, float, float, float]:
    """(p25, p75, min, max) of the per-run figures: how far runs of one cell disagree."""
    data = np.asarray(values, dtype=np.float64)
    p25, p75 = np.quantile(data, [0.25, 0.75])
    return float(p25), float(p75), float(data.min()), float(data.max())


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
