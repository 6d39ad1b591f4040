"""Per-item column sums: the layout every task kind's sufficient statistics share (puma.stats
builds its metrics on them). Plain NumPy, apart from the statistics package, so a sweep worker
that only predicts can load the task kinds without loading any statistics.
"""

from __future__ import annotations

import numpy as np


def ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """numerator / denominator, `empty` where the denominator is 0 (no warnings)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def item_sums(item: np.ndarray, values: np.ndarray, n_items: int) -> np.ndarray:
    """Sum row values (rows, k) into per-item rows (n_items, k): repetitions of an item add up,
    so the bootstrap resamples items (clusters), never single calls."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    out = np.zeros((n_items, values.shape[1]))
    np.add.at(out, np.asarray(item, dtype=np.int64), values)
    return out


class CountedRows:
    """The first two per-item columns of every task's layout: how many rows the item has (its
    trials) and how many of them went unparsed. A layout defines `row_columns`."""

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def columns(self, item: np.ndarray, gold: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
        """Per-item sums (n_items x width) of the rows' columns."""
        return item_sums(item, self.row_columns(gold, pred), n)

    @staticmethod
    def trials(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 0])

    @staticmethod
    def unparsed(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 1])

    @staticmethod
    def parse_failure_rate(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 1], s[..., 0])
