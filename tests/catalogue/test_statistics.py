"""The catalogue's statistics: a clustered bootstrap that one prolific contributor cannot narrow,
robust outlier flags, and Chatbot Arena's rank from interval overlap."""

from __future__ import annotations

import numpy as np

from puma.catalogue.statistics import (
    OUTLIER_Z,
    clustered_median,
    outliers,
    rank_intervals,
    robust_z,
)
from puma.stats.intervals import percentile_interval


def _iid_interval(values: list[float], seed: int = 1) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    data = np.asarray(values)
    boot = np.median(data[rng.integers(0, data.size, size=(2000, data.size))], axis=1)
    return percentile_interval(boot, 0.95)


def test_one_prolific_contributor_cannot_narrow_a_cell() -> None:
    values = [10.0 + 0.001 * i for i in range(97)] + [5.0, 15.0, 20.0]
    who = ["prolific"] * 97 + ["b", "c", "d"]
    clustered = clustered_median(values, who, key="cell|figure")
    naive_low, naive_high = _iid_interval(values)
    assert naive_high - naive_low < 0.2  # 97 near-identical runs look like certainty...
    assert clustered.low is not None and clustered.high is not None
    assert clustered.high - clustered.low > 4.0  # ...but they are one contributor's opinion


def test_independent_contributors_give_the_ordinary_bootstrap() -> None:
    rng = np.random.default_rng(3)
    values = list(rng.normal(50.0, 5.0, size=60))
    clustered = clustered_median(values, [f"c{i}" for i in range(60)], key="k")
    low, high = _iid_interval(values)
    assert clustered.low is not None and clustered.high is not None
    assert abs((clustered.high - clustered.low) - (high - low)) < 0.35 * (high - low)


def test_the_interval_is_seeded_per_key() -> None:
    values, who = [1.0, 2.0, 3.0, 4.0, 9.0], ["a", "a", "b", "c", "c"]
    assert clustered_median(values, who, key="x") == clustered_median(values, who, key="x")
    assert clustered_median(values, who, key="x").median == 3.0


def test_a_single_run_has_no_interval_and_equal_runs_a_point_interval() -> None:
    assert clustered_median([7.0], ["a"], key="k").low is None
    same = clustered_median([7.0, 7.0, 7.0], ["a", "b", "c"], key="k")
    assert (same.low, same.high) == (7.0, 7.0)


def test_an_outlier_run_is_flagged_by_its_robust_z_score() -> None:
    values = [10.0, 10.2, 9.9, 10.1, 9.8, 30.0]
    assert outliers(values) == [5]
    assert abs(robust_z(values)[5]) > OUTLIER_Z


def test_ordinary_spread_flags_nothing() -> None:
    rng = np.random.default_rng(5)
    assert outliers(list(rng.normal(0.0, 1.0, size=40))) == []


def test_with_most_runs_equal_the_mean_absolute_deviation_stands_in() -> None:
    assert outliers([5.0, 5.0, 5.0, 5.0, 5.0, 9.0]) == [5]


def test_fewer_than_three_runs_are_never_outliers() -> None:
    assert outliers([1.0, 100.0]) == []


def test_rank_is_one_plus_the_cells_certainly_better_and_overlaps_tie() -> None:
    bounds = [(0.80, 0.90), (0.70, 0.85), (0.50, 0.60)]
    ranks = rank_intervals(bounds, higher_is_better=True)
    assert ranks == [(1, 2), (1, 2), (3, 3)]


def test_for_a_lower_is_better_figure_the_smallest_ranks_first() -> None:
    bounds = [(300.0, 320.0), (100.0, 120.0), (110.0, 130.0)]
    assert rank_intervals(bounds, higher_is_better=False) == [(3, 3), (1, 2), (1, 2)]
