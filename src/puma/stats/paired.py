"""Paired tests and multiple-comparison corrections: exact McNemar, Holm, Benjamini-Hochberg.

The sign-flip permutation test runs inside the resampling engine (puma.stats.resample), since it
reuses the engine's per-item sufficient statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

Correction = Literal["holm", "bh", "none"]


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar test on paired 0/1 outcomes: the binomial test of the discordant
    pairs (a right, b wrong: n10; a wrong, b right: n01) against p = 1/2.
    Returns (p_value, n10, n01)."""
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    n10 = int(np.count_nonzero(a & ~b))
    n01 = int(np.count_nonzero(~a & b))
    return binomial_two_sided(min(n10, n01), n10 + n01), n10, n01


def binomial_two_sided(k: int, n: int) -> float:
    """P(X <= k) + P(X >= n - k) for X ~ Binomial(n, 1/2), k <= n/2, capped at 1 (the symmetric
    case of the exact binomial test, as scipy.stats.binomtest computes it)."""
    if n == 0:
        return 1.0
    # log-space terms so large n neither overflows nor underflows to a wrong 0.
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2.0)
        for i in range(k + 1)
    ]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return min(1.0, 2.0 * tail)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false-discovery-rate control)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


def adjust(p_values: Sequence[float], correction: Correction) -> list[float]:
    if correction == "holm":
        return holm(p_values)
    if correction == "bh":
        return benjamini_hochberg(p_values)
    return [float(p) for p in p_values]


def disagreement_note(
    ci_low: float | None, ci_high: float | None, p_value: float | None, level: float, test: str
) -> str | None:
    """Why a paired difference's interval and its test disagree, or None when they agree: the
    interval excludes 0 exactly when the (unadjusted) p-value is below 1 - level.

    They need not agree: neither is the inversion of the other. The interval (Newcombe's for a
    0/1 outcome, the bootstrap's otherwise) estimates how far the difference could be from its
    estimate; McNemar's exact test and the sign-flip test compute the distribution of the
    difference under 'no difference', conditionally on the items' discordance. Near the threshold
    the two approximations fall on different sides."""
    if ci_low is None or ci_high is None or p_value is None:
        return None
    alpha = 1.0 - level
    excludes = ci_low > 0.0 or ci_high < 0.0
    rejects = p_value < alpha
    if excludes == rejects:
        return None
    interval = "excludes 0" if excludes else "contains 0"
    verdict = "p < " if rejects else "p >= "
    return (
        f"the {level:.0%} interval {interval} while the {test} test gives {verdict}{alpha:g}: "
        "the interval is not the inversion of this test (it estimates the difference's spread, "
        "the test its distribution under no difference), so near the threshold they can "
        "disagree; read the difference as borderline"
    )
