"""Metrics as functions of per-item sufficient statistics, for the resampling engine.

Each task kind has a column layout (per-item sums over that item's rows) and metric functions of
the summed columns, so the same function gives the point (all counts 1), every bootstrap resample
and every jackknife value. Quantiles and Spearman rho are functions of the counts matrix instead.
An unparsed prediction is a wrong answer here exactly as in puma.stats.point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The column layout's building blocks live outside the statistics package (a sweep worker loads
# the task kinds without statistics); re-exported here, where the metrics are built on them.
from puma.columns import CountedRows as CountedRows
from puma.columns import item_sums as item_sums
from puma.columns import ratio as ratio
from puma.stats.resample import CountFunction, SumFunction


def ratio_se(numerator: np.ndarray, denominator: np.ndarray) -> float | None:
    """Delta-method standard error of sum(a)/sum(b) from per-item a, b (for 0/1 outcomes with one
    row per item this is sqrt(p(1-p)/n))."""
    a = np.asarray(numerator, dtype=np.float64)
    b = np.asarray(denominator, dtype=np.float64)
    total = b.sum()
    if total <= 0:
        return None
    r = a.sum() / total
    return float(np.sqrt(np.sum((a - r * b) ** 2)) / total)


class ClassificationStats(CountedRows):
    """Per-item columns: count, unparsed, tp[L], predicted[L], gold[L]. Everything a confusion
    matrix's margins and diagonal say is a function of these sums."""

    def __init__(self, labels: Sequence[str]):
        self.labels = tuple(labels)
        L = len(self.labels)
        self.width = 2 + 3 * L
        self._tp = slice(2, 2 + L)
        self._pred = slice(2 + L, 2 + 2 * L)
        self._gold = slice(2 + 2 * L, 2 + 3 * L)

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Per-row indicators; gold and pred are label indices, pred -1 when unparsed."""
        rows = len(gold)
        L = len(self.labels)
        out = np.zeros((rows, self.width))
        out[:, 0] = 1.0
        out[:, 1] = pred == -1  # -2: parsed, but not one of the labels
        index = np.arange(rows)
        parsed = pred >= 0
        out[index[parsed], 2 + L + pred[parsed]] = 1.0
        out[index, 2 + 2 * L + gold] = 1.0
        hit = parsed & (pred == gold)
        out[index[hit], 2 + gold[hit]] = 1.0
        return out

    def uniform_rows(self, gold: np.ndarray) -> np.ndarray:
        """Per-row columns of a predictor that picks each label with probability 1/L, as its
        expected indicators scaled by L: every metric here is a ratio of sums, so the scale
        cancels, and whole numbers keep the engine's exact float32 products. A row counts L
        times, is right once and predicts each label once."""
        L = len(self.labels)
        out = self.row_columns(gold, np.full(len(gold), -1))
        out[:, 0] = L
        out[:, 1] = 0.0
        out[np.arange(len(gold)), 2 + np.asarray(gold)] = 1.0
        out[:, self._pred] = 1.0
        out[:, self._gold] *= L
        return out

    # Named columns of per-item sums (items x width), so callers never index the layout.

    def hits(self, s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., self._tp].sum(axis=-1))

    def true_positives(self, s: np.ndarray, label: int) -> np.ndarray:
        return np.asarray(s[..., self._tp.start + label])

    def predicted_counts(self, s: np.ndarray, label: int) -> np.ndarray:
        return np.asarray(s[..., self._pred.start + label])

    def gold_counts(self, s: np.ndarray, label: int | None = None) -> np.ndarray:
        """How often gold is `label` (all labels, one column each, when None)."""
        return np.asarray(s[..., self._gold] if label is None else s[..., self._gold.start + label])

    def accuracy(self, s: np.ndarray) -> np.ndarray:
        return ratio(s[..., self._tp].sum(axis=-1), s[..., 0])

    def f1_per_class(self, s: np.ndarray) -> np.ndarray:
        # 2tp / (2tp + fp + fn) = 2tp / (gold + predicted); 0 when the class never occurs.
        return ratio(2.0 * s[..., self._tp], s[..., self._gold] + s[..., self._pred], empty=0.0)

    def present(self, s: np.ndarray) -> np.ndarray:
        """Which labels occur in the gold of these summed items (a fixed label set for macro-F1)."""
        return np.asarray(s[..., self._gold] > 0)

    def f1_macro_over(self, labels: np.ndarray) -> SumFunction:
        """Macro-F1 as the mean F1 over one fixed label set (a 0/1 vector over the suite's labels),
        the same in the point and in every resample: a class of the set that a resample happens to
        miss counts with F1 0 (scikit-learn's f1_score(average='macro', labels=...,
        zero_division=0)), so the score never changes what it averages over."""
        chosen = np.asarray(labels, dtype=np.float64)
        count = float(chosen.sum())

        def fn(s: np.ndarray) -> np.ndarray:
            if count == 0:
                return np.zeros(s.shape[:-1])
            return np.asarray((self.f1_per_class(s) * chosen).sum(axis=-1) / count)

        return fn

    def f1_macro(self, s: np.ndarray) -> np.ndarray:
        """Macro-F1 over the classes present in gold in `s` itself: the point estimate's label
        set. For resampling use f1_macro_over(present(totals)), which keeps that set fixed."""
        present = self.present(s)
        return ratio((self.f1_per_class(s) * present).sum(axis=-1), present.sum(axis=-1), 0.0)

    def kappa(self, s: np.ndarray) -> np.ndarray:
        """Cohen's kappa; an unparsed answer is a category of its own that gold never takes."""
        total = s[..., 0]
        observed = ratio(s[..., self._tp].sum(axis=-1), total)
        expected = ratio((s[..., self._gold] * s[..., self._pred]).sum(axis=-1), total**2)
        return ratio(observed - expected, 1.0 - expected)

    def mcc(self, s: np.ndarray) -> np.ndarray:
        """Matthews' correlation over all labels (Gorodkin's R_K, scikit-learn's
        matthews_corrcoef): an unparsed answer is a predicted class of its own that gold never
        takes; 0 where a margin is constant, as scikit-learn returns."""
        total = s[..., 0]
        hits = s[..., self._tp].sum(axis=-1)
        gold = s[..., self._gold]
        pred = s[..., self._pred]
        unparsed_pred = total - pred.sum(axis=-1)
        covariance = hits * total - (gold * pred).sum(axis=-1)
        pred_var = total**2 - (pred**2).sum(axis=-1) - unparsed_pred**2
        gold_var = total**2 - (gold**2).sum(axis=-1)
        return ratio(covariance, np.sqrt(np.maximum(pred_var * gold_var, 0.0)), empty=0.0)

    def precision(self, label: int) -> SumFunction:
        return lambda s: ratio(s[..., 2 + label], s[..., self._pred.start + label], empty=0.0)

    def recall(self, label: int) -> SumFunction:
        return lambda s: ratio(s[..., 2 + label], s[..., self._gold.start + label], empty=0.0)

    def f1(self, label: int) -> SumFunction:
        return lambda s: self.f1_per_class(s)[..., label]

    def kappa_se(self, per_item: np.ndarray) -> float | None:
        """Large-sample standard error of kappa from per-item column sums (items x width).

        The delta method on the multinomial cell proportions: with one row per item it is the
        Fleiss-Cohen-Everitt (1969) variance that statsmodels' cohens_kappa reports as std_kappa.
        Each item's influence is the sum over its rows (its repetitions are one cluster), so the
        variance is the cluster-robust one: repeating every answer twice leaves it unchanged."""
        per_item = np.asarray(per_item, dtype=np.float64)
        if per_item.ndim != 2 or per_item.shape[0] == 0:
            return None
        totals = per_item.sum(axis=0)
        n = float(totals[0])
        if n <= 0:
            return None
        po = float(totals[self._tp].sum()) / n
        gold = totals[self._gold] / n
        pred = totals[self._pred] / n
        pe = float(gold @ pred)
        if pe >= 1.0:
            return None
        # kappa = (po - pe) / (1 - pe) as a function of the mean row vector (hit, gold[L],
        # pred[L]); its gradient, dotted with each item's centred sums, is that item's influence.
        d_pe = (po - 1.0) / (1.0 - pe) ** 2
        d_hit = 1.0 / (1.0 - pe)
        count = per_item[:, 0]
        hits = per_item[:, self._tp].sum(axis=1)
        influence = (
            d_hit * (hits - count * po)
            + d_pe * ((per_item[:, self._gold] - count[:, None] * gold) @ pred)
            + d_pe * ((per_item[:, self._pred] - count[:, None] * pred) @ gold)
        )
        return float(np.sqrt(np.sum(influence**2)) / n)


class SampleScoreStats(CountedRows):
    """Per-item columns: count, unscored, score sum. For scores another tool gave each sample
    (puma.importers): 0/1 outcomes or any number; a sample the tool left unscored counts as a
    row scoring 0, as an unparsed answer does everywhere else in PUMA."""

    width = 3

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred, dtype=np.float64)
        out = np.zeros((len(pred), self.width))
        out[:, 0] = 1.0
        out[:, 1] = np.isnan(pred)
        out[:, 2] = np.nan_to_num(pred, nan=0.0)
        return out

    @staticmethod
    def score_sum(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 2])

    @staticmethod
    def mean(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 2], s[..., 0])


class EstimationStats(CountedRows):
    """Per-item columns: count, unparsed, absolute error, within one scale step, out of scale.

    An estimate outside the scale's range (below its lowest or above its highest point: "100" on
    the 1-21 Fibonacci scale) is no estimate on that scale: it is counted as out of scale (a rate
    of its own, apart from parse failures) and scored like an unparsed answer, as the scale point
    farthest from gold (point.py's rule). A number between two points ("4") is in scale and scored
    as said."""

    width = 5

    def __init__(self, scale: Sequence[float]):
        self.scale = np.asarray(scale, dtype=np.float64)

    def out_of_scale(self, pred: np.ndarray) -> np.ndarray:
        """Per row: a parsed estimate outside [lowest, highest] scale point."""
        pred = np.asarray(pred, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.isfinite(pred) & ((pred < self.scale[0]) | (pred > self.scale[-1]))

    def impute(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """pred with NaN (unparsed) and out-of-scale estimates replaced by the worst scale point
        for that gold value."""
        gold = np.asarray(gold, dtype=np.float64)
        pred = np.asarray(pred, dtype=np.float64)
        distance = np.abs(self.scale[None, :] - gold[:, None])
        # max() in point.py keeps the first of equally far points: argmax does too.
        worst = self.scale[np.argmax(distance, axis=1)]
        return np.where(np.isnan(pred) | self.out_of_scale(pred), worst, pred)

    def step(self, values: np.ndarray) -> np.ndarray:
        return np.argmin(np.abs(self.scale[None, :] - values[:, None]), axis=1)

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        scored = self.impute(gold, pred)
        out = np.zeros((len(gold), self.width))
        out[:, 0] = 1.0
        out[:, 1] = np.isnan(pred)
        out[:, 2] = np.abs(scored - gold)
        out[:, 3] = np.abs(self.step(scored) - self.step(gold)) <= 1
        out[:, 4] = self.out_of_scale(pred)
        return out

    # Named columns of per-item sums (items x width), so callers never index the layout.

    @staticmethod
    def absolute_error(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 2])

    @staticmethod
    def within(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 3])

    @staticmethod
    def off_scale(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 4])

    @staticmethod
    def out_of_scale_rate(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 4], s[..., 0])

    @staticmethod
    def mae(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 2], s[..., 0])

    @staticmethod
    def within_one_step(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 3], s[..., 0])


# Past this many rows, quantiles of counts are found block by block (see _blocked_quantiles):
# the whole (resamples x rows) cumulative sum would be 10,000 x 100,000 floats for one model of
# a 100-seed sweep. Below it the direct sum is as fast; both give the same indices exactly.
BLOCKED_QUANTILE_ROWS = 4096


def quantile_from_counts(
    values: np.ndarray, position: np.ndarray, q: float | Sequence[float]
) -> CountFunction:
    """The q-quantile of row values whose item has column `position` in the counts: each row
    weighs its item's count. The definition is NumPy's "averaged_inverted_cdf" (for q = 0.5 with
    unit weights, np.median), extended to integer weights. With several q, one cumulative sum
    serves them all and the function returns (r, len(q))."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    sorted_position = np.asarray(position)[order]
    several = not isinstance(q, float | int)
    qs = [float(v) for v in q] if not isinstance(q, float | int) else [float(q)]
    blocked = (
        _BlockedQuantiles(sorted_position) if len(sorted_values) > BLOCKED_QUANTILE_ROWS else None
    )

    def fn(counts: np.ndarray) -> np.ndarray:
        out = np.full((counts.shape[0], len(qs)), np.nan)
        if len(sorted_values) == 0:
            return out if several else out[:, 0]
        if blocked is not None:
            low_high, total = blocked.indices(counts, qs)
            for k, (low, high) in enumerate(low_high):
                out[:, k] = (sorted_values[low] + sorted_values[high]) / 2.0
            out[total == 0] = np.nan
            return out if several else out[:, 0]
        # Counts are small integers: float32 cumulative sums are exact and half the traffic.
        cumulative = np.cumsum(counts[:, sorted_position], axis=1, dtype=np.float32)
        total = cumulative[:, -1:].astype(np.float64)
        for k, quantile in enumerate(qs):
            target = quantile * total
            # Cumulative weights are exact integers, so compare with integer thresholds in
            # float32 (no float64 copy of the matrix): w >= t <=> w >= ceil(t), w > t <=>
            # w > floor(t).
            low = np.argmax(cumulative >= np.ceil(target).astype(np.float32), axis=1)
            above = cumulative > np.floor(target).astype(np.float32)
            # With q < 1 the last row always passes `above`; guard q = 1 anyway.
            high = np.where(above[:, -1], np.argmax(above, axis=1), len(sorted_values) - 1)
            out[:, k] = (sorted_values[low] + sorted_values[high]) / 2.0
        out[total[:, 0] == 0] = np.nan
        return out if several else out[:, 0]

    return fn


class _BlockedQuantiles:
    """The indices quantile_from_counts finds in the cumulative weights of sorted rows, without
    the (resamples x rows) matrix: the rows are cut into blocks of about 4·sqrt(rows); one matrix
    product gives every block's weight (counts @ rows-per-item-and-block), the cumulative block
    weights say which block holds the crossing, and only that block's rows are summed. All sums
    are of integers below 2**53 in float64, so the indices are those of the direct sum."""

    def __init__(self, sorted_position: np.ndarray):
        n = len(sorted_position)
        self.n = n
        self.size = max(64, int(4 * np.sqrt(n)))
        blocks = -(-n // self.size)
        self.position = np.asarray(sorted_position, dtype=np.intp)
        items = int(self.position.max()) + 1 if n else 0
        membership = np.zeros((items, blocks), dtype=np.float64)
        np.add.at(membership, (self.position, np.arange(n) // self.size), 1.0)
        self.membership = membership
        # Each block's row positions, padded past the end with a column of weight zero.
        padded = np.full(blocks * self.size, items, dtype=np.intp)
        padded[:n] = self.position
        self.rows = padded.reshape(blocks, self.size)

    def indices(
        self, counts: np.ndarray, qs: list[float]
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        weights = np.asarray(counts, dtype=np.float64)
        items = self.membership.shape[0]
        weights = weights[:, :items]
        block_cumulative = np.cumsum(weights @ self.membership, axis=1)
        total = block_cumulative[:, -1]
        # One extra column of zeros: the weight of the padding.
        weighted = np.concatenate([weights, np.zeros((len(weights), 1))], axis=1)
        out = []
        for quantile in qs:
            target = quantile * total
            # Weights are integers: "> floor(t)" is ">= floor(t) + 1", one more than ceil(t) or
            # the same; both crossings nearly always fall in one block, summed once.
            floor = np.floor(target)
            low, high = self._first(weighted, block_cumulative, np.ceil(target), floor + 1.0)
            high = np.where(total > floor, high, self.n - 1)
            out.append((low, high))
        return out, total

    def _first(
        self,
        weights: np.ndarray,
        block_cumulative: np.ndarray,
        low_threshold: np.ndarray,
        high_threshold: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per resample, the first sorted row whose cumulative weight is >= each threshold;
        0 where none is (as np.argmax of an all-False row)."""
        blocks: list[tuple[np.ndarray, np.ndarray]] = []
        for threshold in (low_threshold, high_threshold):
            passes = block_cumulative >= threshold[:, None]
            blocks.append((np.asarray(passes.any(axis=1)), np.argmax(passes, axis=1)))
        (found_low, block), (found_high, block_high) = blocks
        cumulative = self._cumulative(weights, block_cumulative, block)
        low = self._index(block, cumulative, low_threshold, found_low)
        high = self._index(block, cumulative, high_threshold, found_high)
        apart = np.flatnonzero(block_high != block)
        if len(apart):  # the two crossings straddle a block boundary
            rows = block_high[apart]
            inside = self._cumulative(weights[apart], block_cumulative[apart], rows)
            high[apart] = self._index(rows, inside, high_threshold[apart], found_high[apart])
        return low, high

    def _cumulative(
        self, weights: np.ndarray, block_cumulative: np.ndarray, block: np.ndarray
    ) -> np.ndarray:
        """Cumulative weights of the rows of each resample's block (from the sorted start)."""
        before = np.where(
            block > 0, block_cumulative[np.arange(len(block)), np.maximum(block - 1, 0)], 0.0
        )
        inside = np.take_along_axis(weights, self.rows[block], axis=1)
        return np.cumsum(inside, axis=1) + before[:, None]

    def _index(
        self, block: np.ndarray, cumulative: np.ndarray, threshold: np.ndarray, found: np.ndarray
    ) -> np.ndarray:
        index = block * self.size + np.argmax(cumulative >= threshold[:, None], axis=1)
        return np.where(found, np.minimum(index, self.n - 1), 0)


def _weighted_midranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank) of the sample in which row j appears weights[:, j]
    times; one row of ranks per row of weights."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(np.r_[True, sorted_values[1:] != sorted_values[:-1]]) - 1
    group_weight = np.add.reduceat(weights[:, order], starts, axis=1)
    before = np.cumsum(group_weight, axis=1) - group_weight
    mid = before + (group_weight + 1.0) / 2.0
    ranks = np.empty_like(weights)
    ranks[:, order] = mid[:, group]
    return ranks


def spearman_from_counts(x: np.ndarray, y: np.ndarray, position: np.ndarray) -> CountFunction:
    """Spearman's rho of the resampled rows: the Pearson correlation of midranks, computed from the
    counts (row j appears count[item j] times) with no gather of resampled indices."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    position = np.asarray(position)

    def fn(counts: np.ndarray) -> np.ndarray:
        w = counts[:, position].astype(np.float64)
        rx = _weighted_midranks(x, w)
        ry = _weighted_midranks(y, w)
        total = w.sum(axis=1, keepdims=True)
        mx = ratio((w * rx).sum(axis=1, keepdims=True), total)
        my = ratio((w * ry).sum(axis=1, keepdims=True), total)
        dx = rx - mx
        dy = ry - my
        cov = (w * dx * dy).sum(axis=1)
        var = (w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1)
        return ratio(cov, np.sqrt(var))

    return fn


def spearman_se(rho: float, n_items: int) -> float | None:
    """Bonett and Wright's variance of Fisher's z, (1 + rho^2/2) / (n - 3), mapped back to rho.
    n is the number of items, never of rows: an item's repetitions are one cluster, so the
    SE cannot shrink by repeating answers (conservative when repetitions differ)."""
    if n_items <= 3 or not np.isfinite(rho):
        return None
    return float((1 - rho**2) * np.sqrt((1 + rho**2 / 2) / (n_items - 3)))
