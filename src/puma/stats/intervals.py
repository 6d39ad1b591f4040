"""Confidence intervals: Wilson score intervals for proportions (with a design effect for repeated
answers), Newcombe's hybrid score interval for paired differences of proportions, and bootstrap
percentile and BCa intervals for everything else.

`summarize` turns a point, its resampled values and its jackknife values into the metric object that
metrics.json carries (point, se_analytic, se_bootstrap, ci_low, ci_high, level, method, n, ...,
and a `note` when the interval needs one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

IntervalMethod = Literal["bca", "percentile"]
_NORMAL = NormalDist()

# Below this many items BCa is not used: its jackknife acceleration and bias correction are too
# noisy, and benchmarks/coverage.py measured the percentile interval covering at least as well
# there (docs/commands/eval.md has the table).
BCA_MIN_N = 50
# Resampled values this close to the point (relative to the statistic's scale, 64 ulp ~ 1.4e-14)
# are ties: a count statistic's float noise is a few ulp, while two distinct count ratios k/m and
# k'/m' over up to 10^6 items differ by at least 1/(m m') = 1e-12.
_TIE_ULPS = 64.0


@dataclass(frozen=True)
class Proportion:
    """A metric that is sum(successes) / sum(trials) over items: accuracy, a rate, recall,
    precision. Each item is a cluster of trials (its repetitions), given per item."""

    successes: np.ndarray
    trials: np.ndarray

    @property
    def point(self) -> float:
        total = float(np.sum(self.trials))
        return float(np.sum(self.successes)) / total if total > 0 else math.nan

    def cluster_variance(self) -> float:
        """Delta-method (ratio-estimator) variance of the proportion over items: repetitions of
        one item count once, however correlated they are."""
        total = float(np.sum(self.trials))
        residual = np.asarray(self.successes, float) - self.point * np.asarray(self.trials, float)
        return float(np.sum(residual**2)) / total**2

    def effective_n(self) -> float:
        """Trials divided by the design effect: the n a simple random sample with this variance
        would have. With one trial per item it is the number of items. Capped at the number of
        trials (repetitions never count for more than independent answers). At p = 0 or 1 nothing
        measures how alike an item's repetitions are, so the worst case is assumed: one trial per
        item."""
        trials = float(np.sum(self.trials))
        if trials <= 0.0:
            return 0.0
        p = self.point
        clusters = float(np.count_nonzero(np.asarray(self.trials) > 0))
        if p <= 0.0 or p >= 1.0:
            return clusters
        variance = self.cluster_variance()
        if variance <= 0.0:
            return trials
        return min(trials, p * (1.0 - p) / variance)


@dataclass(frozen=True)
class PairedProportions:
    """The paired difference a - b of two proportions over the same items and trials (the same
    calls' outcomes of two models, or of a perturbed and a baseline prompt)."""

    a: Proportion
    b: Proportion

    def correlation(self) -> float:
        """The correlation of the two proportions over items (the phi coefficient of the 2x2
        table when each item has one trial); 0 when either side does not vary."""
        va, vb = self.a.cluster_variance(), self.b.cluster_variance()
        if va <= 0.0 or vb <= 0.0:
            return 0.0
        total = float(np.sum(self.a.trials))
        ra = np.asarray(self.a.successes, float) - self.a.point * np.asarray(self.a.trials, float)
        rb = np.asarray(self.b.successes, float) - self.b.point * np.asarray(self.b.trials, float)
        covariance = float(np.sum(ra * rb)) / total**2
        return max(-1.0, min(1.0, covariance / math.sqrt(va * vb)))


Analytic = Proportion | PairedProportions


def _gamma_cdf(shape: float, x: float) -> float:
    """The regularised lower incomplete gamma function P(shape, x), by its power series (used
    here for shape <= 3, where it converges in a few dozen terms)."""
    if x <= 0.0:
        return 0.0
    term = total = 1.0 / shape
    k = 1
    while term > total * 1e-16:
        term *= x / (shape + k)
        total += term
        k += 1
    return min(1.0, total * math.exp(-x + shape * math.log(x) - math.lgamma(shape)))


def _poisson_lower_limit(count: float, alpha: float) -> float:
    """The one-sided lower confidence limit of a Poisson mean after `count` events: the alpha
    quantile of Gamma(count, 1), i.e. chi2(alpha; 2 count) / 2."""
    low, high = 0.0, count + 20.0
    for _ in range(100):  # bisection to double precision
        middle = (low + high) / 2.0
        if _gamma_cdf(count, middle) < alpha:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def wilson_interval(p: float, n: float, level: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion p observed over n (possibly effective) trials,
    with Brown, Cai and DasGupta's (2001) modification: with 1 to 2 successes (n <= 50) or 1 to 3
    (n <= 100) the lower limit is the Poisson one, and likewise the upper limit for failures.
    Plain Wilson dips to 0.91 coverage there (n = 50, p = 0.99); the modification does not."""
    z = _NORMAL.inv_cdf(0.5 + level / 2.0)
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    # At p = 0 or 1 the score interval ends exactly at 0 or 1 (float gives 1 - 1e-16).
    low = 0.0 if p <= 0.0 else max(0.0, centre - half)
    high = 1.0 if p >= 1.0 else min(1.0, centre + half)
    few = 2.0 if n <= 50 else 3.0 if n <= 100 else 0.0
    successes, failures = p * n, (1.0 - p) * n
    # A small tolerance: p * n of an integer count comes back a few ulp off.
    if 0.5 <= successes <= few + 1e-9:
        low = _poisson_lower_limit(successes, 1.0 - level) / n
    if 0.5 <= failures <= few + 1e-9:
        high = 1.0 - _poisson_lower_limit(failures, 1.0 - level) / n
    return low, high


def newcombe_paired_interval(pair: PairedProportions, level: float) -> tuple[float, float]:
    """Newcombe's (1998) hybrid score interval for a paired difference of proportions (his
    method 10): the two sides' Wilson limits combined with their correlation."""
    pa, pb = pair.a.point, pair.b.point
    la, ua = wilson_interval(pa, pair.a.effective_n(), level)
    lb, ub = wilson_interval(pb, pair.b.effective_n(), level)
    phi = pair.correlation()
    difference = pa - pb
    low = (pa - la) ** 2 - 2.0 * phi * (pa - la) * (ub - pb) + (ub - pb) ** 2
    high = (ua - pa) ** 2 - 2.0 * phi * (ua - pa) * (pb - lb) + (pb - lb) ** 2
    return (
        max(-1.0, difference - math.sqrt(max(low, 0.0))),
        min(1.0, difference + math.sqrt(max(high, 0.0))),
    )


def percentile_interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    """The (1-level)/2 and (1+level)/2 quantiles of the finite resampled values (linear, as NumPy
    and SciPy interpolate)."""
    values = boot[np.isfinite(boot)]
    if values.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def jackknife_acceleration(jack: np.ndarray) -> float:
    """Efron's acceleration from leave-one-out values; 0 when they do not vary."""
    values = jack[np.isfinite(jack)]
    if values.size < 3:
        return 0.0
    deviation = values.mean() - values
    denominator = 6.0 * float(np.sum(deviation**2)) ** 1.5
    if denominator == 0.0:
        return 0.0
    return float(np.sum(deviation**3)) / denominator


def point_share(values: np.ndarray, point: float) -> float:
    """The share of resampled values below the point, ties counting half (SciPy's definition).
    Values within a few ulp of the point are ties: a paired difference computed as a - b is
    -0.09999999999999998 in one place and -0.1 in another, and a float `<` would call the two
    different."""
    scale = max(abs(point), float(np.max(np.abs(values))))
    tolerance = _TIE_ULPS * np.finfo(np.float64).eps * scale
    below = np.count_nonzero(values < point - tolerance)
    ties = np.count_nonzero(np.abs(values - point) <= tolerance)
    return (2 * below + ties) / (2.0 * values.size)


def bca_interval(
    boot: np.ndarray, point: float, jack: np.ndarray, level: float
) -> tuple[float, float] | None:
    """Bias-corrected and accelerated interval; None when the bias correction is infinite (every
    resampled value on one side of the point), where the caller falls back to percentile."""
    values = boot[np.isfinite(boot)]
    if values.size == 0 or not math.isfinite(point):
        return None
    share = point_share(values, point)
    if share <= 0.0 or share >= 1.0:
        return None
    z0 = _NORMAL.inv_cdf(share)
    acceleration = jackknife_acceleration(jack)
    alpha = (1.0 - level) / 2.0
    quantiles = []
    for tail in (alpha, 1.0 - alpha):
        z = _NORMAL.inv_cdf(tail)
        shifted = z0 + (z0 + z) / (1.0 - acceleration * (z0 + z))
        quantiles.append(_NORMAL.cdf(shifted))
    if not all(math.isfinite(q) for q in quantiles):
        return None
    low, high = np.quantile(values, quantiles)
    return float(low), float(high)


def clean_float(value: float | None, digits: int = 12) -> float | None:
    """A JSON-safe float rounded to `digits` significant digits (None for NaN or infinity), so
    last-bit differences of summation order never reach the file."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _analytic_interval(
    analytic: Analytic, level: float
) -> tuple[tuple[float, float] | None, str, str | None]:
    if isinstance(analytic, PairedProportions):
        if float(np.sum(analytic.a.trials)) <= 0:
            return None, "none", "no item on both sides: the difference is undefined"
        return newcombe_paired_interval(analytic, level), "newcombe", None
    n = analytic.effective_n()
    if not n > 0:
        return None, "none", "no item in the denominator: the proportion is undefined"
    return wilson_interval(analytic.point, n, level), "wilson", None


def _bootstrap_interval(
    point: float,
    boot: np.ndarray,
    jack: np.ndarray | None,
    level: float,
    method: IntervalMethod,
    n: int,
) -> tuple[tuple[float, float] | None, str, str | None]:
    interval: tuple[float, float] | None = None
    used, note = "percentile", None
    if method == "bca" and n < BCA_MIN_N:
        note = f"percentile interval: BCa needs {BCA_MIN_N} items"
    elif method == "bca" and jack is not None:
        interval = bca_interval(boot, point, jack, level)
        if interval is not None:
            used = "bca"
        else:
            note = "percentile interval: BCa is undefined (every resample on one side of the point)"
    if interval is None:
        interval = percentile_interval(boot, level)
    low, high = interval
    if math.isfinite(low) and high - low <= _TIE_ULPS * np.finfo(np.float64).eps * max(
        1.0, abs(low), abs(high)
    ):
        # A zero-width interval would claim the value is known exactly; it is not, the sample
        # just cannot show its spread (every answer right, both sides agreeing on every item, a
        # class with a handful of items all right).
        note = (
            f"no interval: at least {level:.0%} of resamples give the same value (e.g. every "
            "answer right, or both sides agree on every item), so the bootstrap cannot measure "
            "the uncertainty"
        )
        return None, "none", note
    return interval, used, note


def summarize(
    point: float,
    boot: np.ndarray,
    jack: np.ndarray | None,
    *,
    level: float,
    method: IntervalMethod,
    n: int,
    seed: int,
    se_analytic: float | None = None,
    analytic: Analytic | None = None,
) -> dict[str, Any]:
    """The metric object of metrics.json. A proportion (`analytic`) gets Wilson's interval, a
    paired difference of proportions Newcombe's, whatever `method` asks; other metrics get the
    bootstrap interval `method` names, percentile below BCA_MIN_N items or where BCa's
    corrections are undefined. `method` in the object says which was used, and `note` (present
    only when needed) says why an interval is missing or not the one asked for."""
    finite = boot[np.isfinite(boot)]
    if analytic is not None:
        interval, used, note = _analytic_interval(analytic, level)
    else:
        interval, used, note = _bootstrap_interval(point, boot, jack, level, method, n)
    se_boot = float(np.std(finite, ddof=1)) if finite.size > 1 else None
    out: dict[str, Any] = {
        "point": clean_float(point),
        "se_analytic": clean_float(se_analytic),
        "se_bootstrap": clean_float(se_boot),
        "ci_low": clean_float(interval[0]) if interval else None,
        "ci_high": clean_float(interval[1]) if interval else None,
        "level": level,
        "method": used,
        "n": int(n),
        "resamples": int(finite.size),
        "seed": int(seed),
    }
    if note is not None:
        out["note"] = note
    return out
