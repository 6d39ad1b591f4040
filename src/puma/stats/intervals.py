"""Confidence intervals from a bootstrap distribution: percentile and BCa (jackknife acceleration).

`summarize` turns a point, its resampled values and its jackknife values into the metric object that
metrics.json carries (point, se_analytic, se_bootstrap, ci_low, ci_high, level, method, n, ...).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

IntervalMethod = Literal["bca", "percentile"]
_NORMAL = NormalDist()


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


def bca_interval(
    boot: np.ndarray, point: float, jack: np.ndarray, level: float
) -> tuple[float, float] | None:
    """Bias-corrected and accelerated interval; None when the bias correction is infinite (every
    resampled value on one side of the point), where the caller falls back to percentile."""
    values = boot[np.isfinite(boot)]
    if values.size == 0 or not math.isfinite(point):
        return None
    # Same definition as SciPy: the mean of the strict and the weak percentile of the point.
    share = (np.count_nonzero(values < point) + np.count_nonzero(values <= point)) / (
        2.0 * values.size
    )
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
) -> dict[str, Any]:
    """The metric object of metrics.json. `method` says which interval was actually used: BCa
    falls back to percentile when its corrections are undefined."""
    finite = boot[np.isfinite(boot)]
    used: str = method
    interval: tuple[float, float] | None = None
    if method == "bca" and jack is not None:
        interval = bca_interval(boot, point, jack, level)
    if interval is None:
        interval = percentile_interval(boot, level)
        used = "percentile"
    se_boot = float(np.std(finite, ddof=1)) if finite.size > 1 else None
    return {
        "point": clean_float(point),
        "se_analytic": clean_float(se_analytic),
        "se_bootstrap": clean_float(se_boot),
        "ci_low": clean_float(interval[0]),
        "ci_high": clean_float(interval[1]),
        "level": level,
        "method": used,
        "n": int(n),
        "resamples": int(finite.size),
        "seed": int(seed),
    }
