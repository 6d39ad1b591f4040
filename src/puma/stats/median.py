"""A distribution-free confidence interval for the median of repeated timings.

Speed samples (tokens/s of one repeated call) are few, skewed and sometimes bimodal (a call that
lands on a busy core), so the interval is the order-statistic one: the ranks (j, k) around the
median such that Binomial(n, 1/2) puts at least `level` between them. It needs no resampling and
its coverage is exact for any continuous distribution; below 6 samples no pair of ranks reaches
95 %, and the interval is then None (the repetition cannot be called precise yet).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METHOD = "order-statistic (binomial ranks around the median)"


@dataclass(frozen=True)
class MedianInterval:
    median: float
    low: float
    high: float
    level: float  # the coverage the ranks guarantee (at least the level asked for)
    ranks: tuple[int, int]  # 1-based ranks of low and high in the sorted samples

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def relative_half_width(self) -> float:
        """The half-width as a fraction of the median (inf for a median of zero)."""
        return self.half_width / abs(self.median) if self.median else math.inf


def _coverage(n: int, j: int) -> float:
    """P(X_(j) <= median <= X_(n+1-j)) = P(j <= Binomial(n, 1/2) <= n - j)."""
    return sum(math.comb(n, i) for i in range(j, n - j + 1)) / 2.0**n


def median_interval(samples: Sequence[float], level: float = 0.95) -> MedianInterval | None:
    """The narrowest symmetric-rank interval for the median with coverage >= level, or None
    when there are too few samples for any (n < 6 at 95 %)."""
    values = np.sort(np.asarray(samples, dtype=float))
    n = len(values)
    if n == 0:
        return None
    best: int | None = None
    for j in range(1, n // 2 + 1):  # a larger j is a narrower interval
        if _coverage(n, j) >= level:
            best = j
        else:
            break
    if best is None:
        return None
    low, high = float(values[best - 1]), float(values[n - best])
    return MedianInterval(
        median=float(np.median(values)),
        low=low,
        high=high,
        level=_coverage(n, best),
        ranks=(best, n + 1 - best),
    )
