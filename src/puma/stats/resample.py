"""The resampling engine: one seeded draw of bootstrap counts per universe feeds every metric.

Callers register statistics over the items of a universe (a suite's instance ids): a *sum
statistic* is a function of per-item sufficient statistics summed with the resample's counts, so
every model, slice and pair comes out of one matrix product per chunk of resamples; a *count
statistic* (quantiles, Spearman rho) is a vectorised function of the counts matrix itself. Paired
sign-flip permutation tests run through the same products with a 0/1 flip matrix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

SumFunction = Callable[[np.ndarray], np.ndarray]  # sums (..., k) -> values (...)
CountFunction = Callable[[np.ndarray], np.ndarray]  # counts (r, m) -> values (r,)

# Draw blocks of about this many cells: small enough that the index-to-count pass stays in cache.
_DRAW_CELLS = 1 << 19
# A chunk of resamples holds about this many cells (float32: 64 MB), bounding memory at any R.
_CHUNK_CELLS = 1 << 24
# Jackknife of count statistics: leave-one-out count rows per block.
_JACK_CELLS = 1 << 22


@dataclass(frozen=True)
class Distribution:
    """A statistic's point, its resampled values (one per resample) and its jackknife values."""

    point: float
    boot: np.ndarray
    jack: np.ndarray
    n: int

    def minus(self, other: Distribution) -> Distribution:
        """The paired difference self - other: both come from the same resamples. Jackknife values
        pair up only when both are over the same items (same length)."""
        jack = self.jack - other.jack if self.jack.shape == other.jack.shape else np.array([])
        return Distribution(self.point - other.point, self.boot - other.boot, jack, self.n)


@dataclass
class _SumStat:
    columns: np.ndarray  # global column indices into the combined sums
    mask: int
    fn: SumFunction


@dataclass
class _CountStat:
    mask: int
    fn: CountFunction


@dataclass
class _Masks:
    """Distinct item subsets; each is a union of atoms (items sharing one membership pattern)."""

    arrays: list[np.ndarray] = field(default_factory=list)
    index: dict[bytes, int] = field(default_factory=dict)

    def add(self, mask: np.ndarray) -> int:
        key = np.packbits(mask).tobytes() + len(mask).to_bytes(8, "little")
        if key not in self.index:
            self.index[key] = len(self.arrays)
            self.arrays.append(mask)
        return self.index[key]


def universe_seed(seed: int, key: str) -> np.random.SeedSequence:
    """A SeedSequence per (seed, universe key): different suites get independent, stable draws."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return np.random.SeedSequence([seed, int.from_bytes(digest[:8], "little")])


def iter_bootstrap_counts(
    n: int, resamples: int, rng: np.random.Generator, *, permutation: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Yield float32 chunks of the multinomial(n, 1/n) counts matrix (resamples x n), drawn as n
    uniform indices per resample and counted. The chunking depends on n only, so the stream of
    counts is the same whatever the memory. `permutation` (item -> column) reorders columns."""
    block = max(1, _DRAW_CELLS // n)
    chunk = max(block, (_CHUNK_CELLS // n) // block * block)
    # int32 throughout: a block has fewer than 2**31 cells, and take() on int32 is ~10x faster.
    target = None if permutation is None else permutation.astype(np.int32)
    offsets = (np.arange(block, dtype=np.int32) * n)[:, None]
    done = 0
    while done < resamples:
        rows = min(chunk, resamples - done)
        out = np.empty((rows, n), dtype=np.float32)
        for start in range(0, rows, block):
            b = min(block, rows - start)
            drawn = rng.integers(0, n, size=(b, n), dtype=np.int32)
            cells = np.take(target, drawn) if target is not None else drawn
            cells += offsets[:b]
            out[start : start + b] = np.bincount(cells.ravel(), minlength=b * n).reshape(b, n)
        yield out
        done += rows


def _prefetched(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Draw the next chunk in a worker thread while the caller uses this one. NumPy's random
    draws and take() run without the GIL, so drawing overlaps the products; one worker keeps the
    draws in order, so the stream is the same as drawn serially."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending = worker.submit(next, chunks, None)
        while True:
            chunk = pending.result()
            if chunk is None:
                return
            pending = worker.submit(next, chunks, None)
            yield chunk


def iter_sign_flips(n: int, flips: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield float32 chunks of a 0/1 matrix (flips x n): 1 swaps the two sides of an item."""
    chunk = max(1, _CHUNK_CELLS // n)
    done = 0
    while done < flips:
        rows = min(chunk, flips - done)
        yield rng.integers(0, 2, size=(rows, n), dtype=np.int8).astype(np.float32)
        done += rows


class ResamplingEngine:
    """Registers statistics over one universe of n items, then resamples them all at once.

    Usage: `h = engine.add_sum(columns, mask, fn)` for each statistic, `engine.run()`, then
    `engine.distribution(h)`. `columns` is (n, k), rows in universe order; `mask` selects the items
    the statistic is over; `fn` maps summed columns (..., k) to values (...).
    """

    def __init__(
        self, n_items: int, *, resamples: int, seed: int, key: str = "", permutations: int = 0
    ):
        if n_items < 1:
            raise ValueError("a universe needs at least one item")
        self.n = n_items
        self.resamples = resamples
        self.permutations = permutations
        self.seed = seed
        self._seeds = universe_seed(seed, key).spawn(2)
        self._columns: list[np.ndarray] = []
        self._column_index: dict[bytes, int] = {}
        self._masks = _Masks()
        self._stats: list[_SumStat | _CountStat] = []
        self._tests: list[tuple[int, int]] = []
        self._result: dict[int, Distribution] = {}
        self._p_values: list[float] = []

    # Registration -----------------------------------------------------------------------------

    def add_sum(self, columns: np.ndarray, mask: np.ndarray, fn: SumFunction) -> int:
        columns = np.asarray(columns, dtype=np.float64)
        if columns.ndim == 1:
            columns = columns[:, None]
        if columns.shape[0] != self.n:
            raise ValueError(f"columns have {columns.shape[0]} rows, the universe {self.n}")
        index = np.array([self._column(columns[:, j]) for j in range(columns.shape[1])])
        self._stats.append(_SumStat(index, self._masks.add(np.asarray(mask, bool)), fn))
        return len(self._stats) - 1

    def add_counts(self, mask: np.ndarray, fn: CountFunction) -> int:
        """A statistic computed from the counts of the masked items (r, m), in universe order;
        called with a row of ones for the point."""
        self._stats.append(_CountStat(self._masks.add(np.asarray(mask, bool)), fn))
        return len(self._stats) - 1

    def add_sign_flip_test(self, a: int, b: int) -> int:
        """A paired permutation test of stat a - stat b: per item, swap the two sides at random.
        Both must be sum statistics over the same items with the same layout and function."""
        sa, sb = self._stats[a], self._stats[b]
        if not (isinstance(sa, _SumStat) and isinstance(sb, _SumStat)):
            raise ValueError("sign-flip tests need sum statistics")
        if sa.mask != sb.mask or len(sa.columns) != len(sb.columns):
            raise ValueError("sign-flip tests need both sides over the same items")
        self._tests.append((a, b))
        return len(self._tests) - 1

    def _column(self, column: np.ndarray) -> int:
        key = hashlib.blake2b(np.ascontiguousarray(column).tobytes(), digest_size=16).digest()
        if key not in self._column_index:
            self._column_index[key] = len(self._columns)
            self._columns.append(column)
        return self._column_index[key]

    # Results ----------------------------------------------------------------------------------

    def distribution(self, handle: int) -> Distribution:
        return self._result[handle]

    def p_value(self, test: int) -> float:
        return self._p_values[test]

    # Running ----------------------------------------------------------------------------------

    def run(self) -> None:
        n = self.n
        matrix = np.column_stack(self._columns) if self._columns else np.zeros((n, 0))
        # Integer-valued columns go through an exact float32 product; the rest through float64.
        integral = np.all(matrix == np.round(matrix), axis=0) & np.all(
            np.abs(matrix) < 2**20, axis=0
        )
        exact_cols = np.flatnonzero(integral)
        real_cols = np.flatnonzero(~integral)
        atoms, order, atom_of_mask = self._atoms()
        permutation = np.empty(n, dtype=np.int64)
        permutation[order] = np.arange(n)  # item -> position in atom order
        sorted_exact = np.ascontiguousarray(matrix[np.ix_(order, exact_cols)], dtype=np.float32)
        sorted_real = np.ascontiguousarray(matrix[np.ix_(order, real_cols)])
        combine = np.empty(matrix.shape[1], dtype=np.int64)
        combine[exact_cols] = np.arange(len(exact_cols))
        combine[real_cols] = len(exact_cols) + np.arange(len(real_cols))

        def mask_sums(weights: np.ndarray) -> list[np.ndarray]:
            """Per mask, (r, K) column sums weighted by rows of `weights` (atom order)."""
            per_atom = []
            for start, stop in atoms:
                w = weights[:, start:stop]
                sums = np.empty((weights.shape[0], matrix.shape[1]))
                sums[:, : len(exact_cols)] = w @ sorted_exact[start:stop]
                if len(real_cols):
                    sums[:, len(exact_cols) :] = w.astype(np.float64) @ sorted_real[start:stop]
                per_atom.append(sums)
            totals = []
            for members in atom_of_mask:
                total = per_atom[members[0]].copy() if members else np.zeros_like(per_atom[0])
                for a in members[1:]:
                    total += per_atom[a]
                totals.append(total)
            return totals

        mask_items = [np.flatnonzero(m) for m in self._masks.arrays]

        # Points and jackknife.
        totals = mask_sums(np.ones((1, n), dtype=np.float32))
        points: dict[int, float] = {}
        jacks: dict[int, np.ndarray] = {}
        for h, stat in enumerate(self._stats):
            items = mask_items[stat.mask]
            if isinstance(stat, _SumStat):
                cols = combine[stat.columns]
                total = totals[stat.mask][0, cols]
                points[h] = float(stat.fn(total[None, :])[0])
                jacks[h] = np.asarray(stat.fn(total[None, :] - matrix[np.ix_(items, stat.columns)]))
            else:
                points[h] = float(stat.fn(np.ones((1, len(items)), dtype=np.float32))[0])
                jacks[h] = self._count_jackknife(stat.fn, len(items))

        # Bootstrap.
        boots = {h: np.empty(self.resamples) for h in range(len(self._stats))}
        rng = np.random.Generator(np.random.PCG64(self._seeds[0]))
        done = 0
        chunks = iter_bootstrap_counts(n, self.resamples, rng, permutation=permutation)
        for counts in _prefetched(chunks):
            rows = slice(done, done + counts.shape[0])
            sums = mask_sums(counts) if self._any_sum() else []
            for h, stat in enumerate(self._stats):
                if isinstance(stat, _SumStat):
                    boots[h][rows] = stat.fn(sums[stat.mask][:, combine[stat.columns]])
                else:
                    positions = permutation[mask_items[stat.mask]]
                    boots[h][rows] = stat.fn(counts[:, positions])
            done += counts.shape[0]

        self._result = {
            h: Distribution(points[h], boots[h], jacks[h], len(mask_items[self._stats[h].mask]))
            for h in range(len(self._stats))
        }
        self._p_values = self._run_tests(totals, mask_sums, combine, order)

    def _any_sum(self) -> bool:
        return any(isinstance(s, _SumStat) for s in self._stats)

    def _atoms(self) -> tuple[list[tuple[int, int]], np.ndarray, list[list[int]]]:
        """Partition the items by which masks hold them; return atom ranges in the sorted order,
        the sort order (position -> item), and each mask's atoms."""
        masks = self._masks.arrays or [np.ones(self.n, bool)]
        signature = np.packbits(np.column_stack(masks), axis=1)
        keys, atom_of_item = np.unique(signature, axis=0, return_inverse=True)
        atom_of_item = atom_of_item.ravel()
        order = np.argsort(atom_of_item, kind="stable")
        bounds = np.searchsorted(atom_of_item[order], np.arange(len(keys) + 1))
        ranges = [(int(bounds[a]), int(bounds[a + 1])) for a in range(len(keys))]
        members = []
        for m in masks:
            held = np.unique(atom_of_item[m])
            members.append([int(a) for a in held])
        return ranges, order, members

    def _count_jackknife(self, fn: CountFunction, m: int) -> np.ndarray:
        """Leave-one-out values of a count statistic, in blocks of rows of (ones - identity)."""
        if m < 3:
            return np.array([])
        out = np.empty(m)
        block = max(1, _JACK_CELLS // m)
        for start in range(0, m, block):
            stop = min(m, start + block)
            counts = np.ones((stop - start, m), dtype=np.float32)
            counts[np.arange(stop - start), np.arange(start, stop)] = 0.0
            out[start:stop] = fn(counts)
        return out

    def _run_tests(
        self,
        totals: list[np.ndarray],
        mask_sums: Callable[[np.ndarray], list[np.ndarray]],
        combine: np.ndarray,
        order: np.ndarray,
    ) -> list[float]:
        if not self._tests:
            return []
        if self.permutations < 1:
            return [float("nan")] * len(self._tests)
        rng = np.random.Generator(np.random.PCG64(self._seeds[1]))
        exceed = np.zeros(len(self._tests), dtype=np.int64)
        observed = []
        for a, b in self._tests:
            observed.append(abs(self._result[a].point - self._result[b].point))
        for flips in iter_sign_flips(self.n, self.permutations, rng):
            # Drawn in universe order, like the counts, so slicing never changes an item's flips.
            sums = mask_sums(flips[:, order])
            for t, (a, b) in enumerate(self._tests):
                sa, sb = self._stats[a], self._stats[b]
                assert isinstance(sa, _SumStat) and isinstance(sb, _SumStat)
                ca, cb = combine[sa.columns], combine[sb.columns]
                total = totals[sa.mask][0]
                moved = sums[sa.mask]
                # Swapping item i moves its a-row to side b and its b-row to side a.
                side_a = total[ca] - moved[:, ca] + moved[:, cb]
                side_b = total[cb] - moved[:, cb] + moved[:, ca]
                stat = sa.fn(side_a) - sb.fn(side_b)
                # A relative tolerance keeps ties (a flip that changes nothing) counted as ties.
                exceed[t] += np.count_nonzero(np.abs(stat) >= observed[t] * (1 - 1e-9) - 1e-12)
        return [float((1 + e) / (self.permutations + 1)) for e in exceed]
