"""Point figures of per-call measurements, as a submission declares them."""

from __future__ import annotations

import pytest

from puma.stats.point import call_median, call_percentiles


def test_call_latency_percentiles_interpolate_between_ranks_and_median_needs_calls() -> None:
    assert call_percentiles([10.0, 20.0, 30.0, 40.0, 1000.0], [50, 95]) == pytest.approx(
        [30.0, 808.0]
    )
    assert call_median([3.0, 1.0, 2.0, 10.0]) == 2.5
    assert call_median([]) is None
