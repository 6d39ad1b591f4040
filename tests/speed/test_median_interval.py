"""The order-statistic interval for the median that decides when a speed figure is precise."""

from __future__ import annotations

import numpy as np
import pytest

from puma.stats.median import median_interval


def test_fewer_than_six_samples_have_no_95_percent_interval() -> None:
    assert median_interval([10.0, 11.0, 12.0, 13.0, 14.0]) is None
    assert median_interval([]) is None


def test_six_samples_give_the_outer_ranks_with_their_exact_coverage() -> None:
    interval = median_interval([5.0, 1.0, 4.0, 2.0, 6.0, 3.0])
    assert interval is not None
    assert (interval.low, interval.high, interval.ranks) == (1.0, 6.0, (1, 6))
    assert interval.level == pytest.approx(1 - 2 / 64)  # P(1 <= Bin(6, .5) <= 5)
    assert interval.median == 3.5


def test_more_samples_narrow_the_ranks_and_keep_at_least_the_level() -> None:
    values = list(range(1, 21))
    interval = median_interval(values)
    assert interval is not None
    assert interval.ranks == (6, 15) and interval.level >= 0.95
    assert interval.relative_half_width == pytest.approx((15 - 6) / 2 / 10.5)


def test_the_interval_covers_the_true_median_at_least_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    trials = 2000
    for _ in range(trials):
        sample = rng.lognormal(0.0, 0.5, size=10)  # skewed, like timings; median 1
        interval = median_interval(sample)
        assert interval is not None
        covered += interval.low <= 1.0 <= interval.high
    assert covered / trials >= 0.95 - 0.015
