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
    columns: np.ndarray  # indices into the engine's deduplicated columns
    mask: int
    fn: SumFunction


@dataclass
class _CountStat:
    mask: int
    fn: CountFunction
    outputs: int  # fn returns (r,) when 1, else (r, outputs)


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


class _SumPlan:
    """How one weights matrix (counts, flips or ones; columns in atom order) becomes, per mask,
    the weighted sums of exactly the columns that mask's statistics read.

    Items are grouped into atoms (one membership pattern across masks) and laid out atom by atom,
    so a mask's sums are the sum over its atoms of one matrix product per atom: the work is one
    pass over the items whatever the number of slices. Integer-valued columns (indicators,
    counts) go through an exact float32 product, the rest through float64."""

    def __init__(
        self, matrix: np.ndarray, masks: dict[int, np.ndarray], needs: dict[int, set[int]]
    ):
        n = matrix.shape[0]
        ids = sorted(masks)
        if ids:
            signature = np.packbits(np.column_stack([masks[m] for m in ids]), axis=1)
            keys, atom_of_item = np.unique(signature, axis=0, return_inverse=True)
            atom_of_item = atom_of_item.ravel()
        else:
            keys, atom_of_item = np.zeros((1, 1), dtype=np.uint8), np.zeros(n, dtype=np.int64)
        self.order = np.argsort(atom_of_item, kind="stable")  # position -> item
        self.position = np.empty(n, dtype=np.int64)
        self.position[self.order] = np.arange(n)  # item -> position
        bounds = np.searchsorted(atom_of_item[self.order], np.arange(len(keys) + 1))
        integral = np.all(matrix == np.round(matrix), axis=0) & np.all(
            np.abs(matrix) < 2**20, axis=0
        )
        atoms_of_mask = {m: np.unique(atom_of_item[masks[m]]).tolist() for m in ids}
        # Per atom: the columns any mask holding it reads, exact ones first.
        self.atoms: list[tuple[int, int, np.ndarray, np.ndarray, list[int]]] = []
        atom_columns: list[dict[int, int]] = []
        for a in range(len(keys)):
            wanted = sorted(set().union(*(needs[m] for m in ids if a in atoms_of_mask[m])))
            exact = [c for c in wanted if integral[c]]
            real = [c for c in wanted if not integral[c]]
            rows = self.order[bounds[a] : bounds[a + 1]]
            self.atoms.append(
                (
                    int(bounds[a]),
                    int(bounds[a + 1]),
                    np.ascontiguousarray(
                        matrix[np.ix_(rows, np.asarray(exact, dtype=np.intp))], dtype=np.float32
                    ),
                    np.ascontiguousarray(matrix[np.ix_(rows, np.asarray(real, dtype=np.intp))]),
                    exact + real,
                )
            )
            atom_columns.append({c: i for i, c in enumerate(exact + real)})
        # Per mask: its sorted columns, and where each sits in each of its atoms' sums.
        self.columns: dict[int, np.ndarray] = {}
        self.gather: dict[int, list[tuple[int, np.ndarray]]] = {}
        for m in ids:
            columns = np.array(sorted(needs[m]), dtype=np.int64)
            self.columns[m] = columns
            self.gather[m] = [
                (a, np.array([atom_columns[a][c] for c in columns], dtype=np.int64))
                for a in atoms_of_mask[m]
            ]

    def locate(self, mask: int, columns: np.ndarray) -> np.ndarray:
        """Positions of a statistic's columns within its mask's sums."""
        return np.searchsorted(self.columns[mask], columns)

    def sums(self, weights: np.ndarray, only: set[int] | None = None) -> dict[int, np.ndarray]:
        """Per mask (all, or those in `only`), the weighted sums of its columns: (r, k_mask)."""
        masks = [m for m in self.gather if only is None or m in only]
        used = {a for m in masks for a, _ in self.gather[m]}
        per_atom: dict[int, np.ndarray] = {}
        for a in used:
            start, stop, exact, real, columns = self.atoms[a]
            out = np.empty((weights.shape[0], len(columns)))
            w = weights[:, start:stop]
            out[:, : exact.shape[1]] = w @ exact
            if real.shape[1]:
                out[:, exact.shape[1] :] = w.astype(np.float64) @ real
            per_atom[a] = out
        totals = {}
        for m in masks:
            total: np.ndarray | None = None
            for a, where in self.gather[m]:
                whole = len(where) == per_atom[a].shape[1] and np.array_equal(
                    where, np.arange(len(where))
                )
                part = per_atom[a] if whole else per_atom[a][:, where]
                if total is None:
                    total = part.copy() if whole else part
                else:
                    total += part
            totals[m] = total if total is not None else np.zeros((weights.shape[0], 0))
        return totals


def _width(stat: _SumStat | _CountStat) -> int:
    return stat.outputs if isinstance(stat, _CountStat) else 1


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
        self._handles: list[tuple[int, int | None]] = []  # handle -> (statistic, output)
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
        self._handles.append((len(self._stats) - 1, None))
        return len(self._handles) - 1

    def add_counts(self, mask: np.ndarray, fn: CountFunction) -> int:
        """A statistic computed from the counts of the masked items (r, m), in universe order;
        called with a row of ones for the point."""
        return self.add_counts_group(mask, fn, 1)[0]

    def add_counts_group(self, mask: np.ndarray, fn: CountFunction, outputs: int) -> list[int]:
        """Several statistics from one function of the counts, (r, m) -> (r, outputs): e.g. three
        quantiles of one column share one cumulative sum."""
        self._stats.append(_CountStat(self._masks.add(np.asarray(mask, bool)), fn, outputs))
        stat = len(self._stats) - 1
        first = len(self._handles)
        if outputs == 1:
            self._handles.append((stat, None))
        else:
            self._handles.extend((stat, k) for k in range(outputs))
        return list(range(first, len(self._handles)))

    def add_sign_flip_test(self, a: int, b: int) -> int:
        """A paired permutation test of stat a - stat b: per item, swap the two sides at random.
        Both must be sum statistics over the same items with the same layout and function."""
        sa, sb = self._stats[self._handles[a][0]], self._stats[self._handles[b][0]]
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
        sum_stats = [(i, s) for i, s in enumerate(self._stats) if isinstance(s, _SumStat)]
        count_stats = [(i, s) for i, s in enumerate(self._stats) if isinstance(s, _CountStat)]
        needs: dict[int, set[int]] = {}
        for _, stat in sum_stats:
            needs.setdefault(stat.mask, set()).update(stat.columns.tolist())
        plan = _SumPlan(matrix, {m: self._masks.arrays[m] for m in needs}, needs)
        located = {i: plan.locate(stat.mask, stat.columns) for i, stat in sum_stats}
        items = [np.flatnonzero(m) for m in self._masks.arrays]

        # Points and jackknife.
        totals = plan.sums(np.ones((1, n), dtype=np.float32))
        points: dict[int, np.ndarray] = {}
        jacks: dict[int, np.ndarray] = {}
        for i, stat in sum_stats:
            total = totals[stat.mask][0, located[i]]
            points[i] = np.asarray(stat.fn(total[None, :]))
            jacks[i] = np.asarray(
                stat.fn(total[None, :] - matrix[np.ix_(items[stat.mask], stat.columns)])
            )
        for i, cstat in count_stats:
            m = len(items[cstat.mask])
            points[i] = np.asarray(cstat.fn(np.ones((1, m), dtype=np.float32)))
            jacks[i] = self._count_jackknife(cstat.fn, m, cstat.outputs)

        # Bootstrap: every statistic from the same chunks of counts.
        boots = {
            i: np.empty(self.resamples if _width(s) == 1 else (self.resamples, _width(s)))
            for i, s in enumerate(self._stats)
        }
        count_positions = {i: plan.position[items[c.mask]] for i, c in count_stats}
        rng = np.random.Generator(np.random.PCG64(self._seeds[0]))
        done = 0
        # Without slices the atom order is the universe order: no column permutation to apply.
        reorder = None if np.array_equal(plan.position, np.arange(n)) else plan.position
        chunks = iter_bootstrap_counts(n, self.resamples, rng, permutation=reorder)
        for counts in _prefetched(chunks):
            rows = slice(done, done + counts.shape[0])
            sums = plan.sums(counts) if sum_stats else {}
            for i, stat in sum_stats:
                boots[i][rows] = stat.fn(sums[stat.mask][:, located[i]])
            for i, cstat in count_stats:
                boots[i][rows] = cstat.fn(counts[:, count_positions[i]])
            done += counts.shape[0]

        self._result = {}
        for handle, (i, output) in enumerate(self._handles):
            point, boot, jack = points[i], boots[i], jacks[i]
            if output is not None:
                point, boot = point[..., output], boot[:, output]
                jack = jack[:, output] if jack.size else jack
            n_items = len(items[self._stats[i].mask])
            self._result[handle] = Distribution(float(np.ravel(point)[0]), boot, jack, n_items)
        self._p_values = self._run_tests(plan, totals, located)

    def _count_jackknife(self, fn: CountFunction, m: int, outputs: int) -> np.ndarray:
        """Leave-one-out values of a count statistic, in blocks of rows of (ones - identity)."""
        if m < 3:
            return np.array([])
        out = np.empty((m,) if outputs == 1 else (m, outputs))
        block = max(1, _JACK_CELLS // m)
        for start in range(0, m, block):
            stop = min(m, start + block)
            counts = np.ones((stop - start, m), dtype=np.float32)
            counts[np.arange(stop - start), np.arange(start, stop)] = 0.0
            out[start:stop] = fn(counts)
        return out

    def _run_tests(
        self, plan: _SumPlan, totals: dict[int, np.ndarray], located: dict[int, np.ndarray]
    ) -> list[float]:
        if not self._tests:
            return []
        if self.permutations < 1:
            return [float("nan")] * len(self._tests)
        rng = np.random.Generator(np.random.PCG64(self._seeds[1]))
        exceed = np.zeros(len(self._tests), dtype=np.int64)
        observed = [abs(self._result[a].point - self._result[b].point) for a, b in self._tests]
        tested = {self._stats[self._handles[a][0]].mask for a, _ in self._tests}
        for flips in iter_sign_flips(self.n, self.permutations, rng):
            # Drawn in universe order, like the counts, so slicing never changes an item's flips.
            sums = plan.sums(flips[:, plan.order], only=tested)
            for t, (a, b) in enumerate(self._tests):
                ia, ib = self._handles[a][0], self._handles[b][0]
                sa, sb = self._stats[ia], self._stats[ib]
                assert isinstance(sa, _SumStat) and isinstance(sb, _SumStat)
                ca, cb = located[ia], located[ib]
                total = totals[sa.mask][0]
                moved = sums[sa.mask]
                # Swapping item i moves its a-row to side b and its b-row to side a.
                side_a = total[ca] - moved[:, ca] + moved[:, cb]
                side_b = total[cb] - moved[:, cb] + moved[:, ca]
                stat = sa.fn(side_a) - sb.fn(side_b)
                # A relative tolerance keeps ties (a flip that changes nothing) counted as ties.
                exceed[t] += np.count_nonzero(np.abs(stat) >= observed[t] * (1 - 1e-9) - 1e-12)
        return [float((1 + e) / (self.permutations + 1)) for e in exceed]
