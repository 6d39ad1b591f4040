"""Shared data for the statistics tests: labelled predictions with unparsed answers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

LABELS = ("Critical", "Major", "Minor", "Trivial")


def classification_data(
    n: int, seed: int, skill: float = 0.7, unparsed: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Gold label indices and predictions (-1 unparsed) of a model of the given skill."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(len(LABELS), size=n, p=[0.1, 0.4, 0.35, 0.15])
    pred = np.where(rng.random(n) < skill, gold, rng.integers(0, len(LABELS), n))
    pred[rng.random(n) < unparsed] = -1
    return gold, pred


def as_text(indices: np.ndarray, unparsed: str | None = None) -> list[str | None]:
    return [LABELS[i] if i >= 0 else unparsed for i in indices]


@pytest.fixture
def make_classification() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return classification_data
