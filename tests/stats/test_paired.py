"""McNemar's exact test against SciPy's binomial test; Holm and Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from puma.stats.paired import adjust, benjamini_hochberg, holm, mcnemar_exact


@pytest.mark.parametrize(("n10", "n01"), [(0, 0), (3, 0), (5, 5), (12, 4), (40, 61), (400, 350)])
def test_mcnemar_equals_binomial_test_of_discordant_pairs(n10: int, n01: int) -> None:
    a = np.array([1] * n10 + [0] * n01 + [1] * 7 + [0] * 5, dtype=bool)
    b = np.array([0] * n10 + [1] * n01 + [1] * 7 + [0] * 5, dtype=bool)
    p, got10, got01 = mcnemar_exact(a, b)
    assert (got10, got01) == (n10, n01)
    want = 1.0 if n10 + n01 == 0 else scipy_stats.binomtest(n10, n10 + n01, 0.5).pvalue
    assert p == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_holm_adjusts_step_down_and_stays_monotone() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # Sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06.
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.random.default_rng(0).random(30) ** 2
    assert benjamini_hochberg(p) == pytest.approx(
        scipy_stats.false_discovery_control(p, method="bh").tolist()
    )


def test_adjusted_p_values_never_exceed_one_and_none_keeps_them() -> None:
    p = [0.5, 0.9, 0.7]
    assert max(holm(p)) <= 1.0
    assert adjust(p, "none") == p
    assert holm([]) == [] and benjamini_hochberg([]) == []
