"""Scoring: every cell, slice, model pair, perturbation and group gap of a set of predictions, with
intervals from one resampling engine per suite.

Reads grouped rows (puma.evaluate.rows), returns plain dicts in the metrics-1.0 layout; the
callers (evaluate_run, merge_runs) add the run's identity and write the files.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from puma.evaluate.rows import SPEED_COLUMNS, CellKey, CellRows, SuiteRows
from puma.predictions import BASELINE
from puma.stats.calibration import (
    CalibrationStats,
    adaptive_ece_from_counts,
    recalibration_scores,
    reliability_table,
)
from puma.stats.intervals import (
    Analytic,
    IntervalMethod,
    PairedProportions,
    Proportion,
    clean_float,
    summarize,
)
from puma.stats.metrics import item_sums, quantile_from_counts, ratio, ratio_se
from puma.stats.paired import Correction, adjust, disagreement_note, mcnemar_exact
from puma.stats.resample import Distribution, ResamplingEngine, SumFunction
from puma.tasks import Metric, MetricInput, metric_for

# Perturbation pairs whose gap is a fairness measure: group -> (a, b), reported as a - b.
FAIRNESS_GROUPS: dict[str, tuple[str, str]] = {"gender": ("gender-male", "gender-female")}

Lazy = Callable[[], Any]


def _mcnemar_p(a: np.ndarray, b: np.ndarray) -> float | None:
    return clean_float(mcnemar_exact(a, b)[0])


@dataclass(frozen=True)
class _Paired:
    difference: Lazy
    test: str
    p_value: Lazy


@dataclass(frozen=True)
class ScoringOptions:
    resamples: int = 10_000
    seed: int = 42
    level: float = 0.95
    method: IntervalMethod = "bca"
    permutations: int = 10_000
    correction: Correction = "holm"
    calibration_bins: int = 10
    calibration_folds: int = 5


@dataclass
class Scores:
    cells: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    robustness: list[dict[str, Any]] = field(default_factory=list)
    fairness: list[dict[str, Any]] = field(default_factory=list)
    # Raw per-call timings of baseline cells (model -> column -> values), for the report's plots.
    speed_samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def resolve(value: Any) -> Any:
    """Replace every Lazy (a zero-argument callable) inside dicts and lists by its result."""
    if callable(value):
        return resolve(value())
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def score_suites(suites: list[SuiteRows], options: ScoringOptions) -> Scores:
    scores = Scores()
    for suite_rows in suites:
        _SuitePlan(suite_rows, options).score_into(scores)
    _correct_comparisons(scores.comparisons, options.correction)
    for c in scores.comparisons:
        _note_disagreement(c, options.level)
    for f in scores.fairness:
        notes = {
            name: disagreement_note(
                gap["ci_low"], gap["ci_high"], f["p_values"][name], options.level, f["tests"][name]
            )
            for name, gap in f["gaps"].items()
        }
        if any(notes.values()):
            f["notes"] = {name: note for name, note in notes.items() if note}
    return scores


def _note_disagreement(comparison: dict[str, Any], level: float) -> None:
    """Say so in the comparison when its interval and its test point different ways."""
    difference = comparison["difference"]
    note = disagreement_note(
        difference["ci_low"],
        difference["ci_high"],
        comparison["p_value"],
        level,
        comparison["test"],
    )
    if note is not None:
        comparison["note"] = note


def _correct_comparisons(comparisons: list[dict[str, Any]], correction: Correction) -> None:
    """Adjust p-values within each family: one suite, strategy and metric (all model pairs)."""
    families: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for c in comparisons:
        families.setdefault((c["suite_id"], c["strategy"], c["metric"]), []).append(c)
    for members in families.values():
        tested = [c for c in members if c["p_value"] is not None]
        for c, p in zip(tested, adjust([c["p_value"] for c in tested], correction), strict=True):
            c["p_adjusted"] = clean_float(p)
            c["correction"] = correction


class _SuitePlan:
    """Registers every statistic of one suite with one engine, runs it, then builds the dicts."""

    def __init__(self, rows: SuiteRows, options: ScoringOptions):
        self.rows = rows
        self.suite = rows.suite
        self.options = options
        self.n = rows.n
        self.engine = ResamplingEngine(
            self.n,
            resamples=options.resamples,
            seed=options.seed,
            key=self.suite.id,
            permutations=options.permutations,
        )
        self.task = self.suite.kind
        self.stats = self.task.sufficient_stats(self.suite.labels)

    @property
    def universe(self) -> list[str]:
        return self.rows.universe

    # Building blocks --------------------------------------------------------------------------

    def _columns(self, rows: CellRows) -> np.ndarray:
        return self.stats.columns(rows.item, rows.gold, rows.pred, self.n)

    def _summarize(
        self, d: Distribution, se: float | None, analytic: Analytic | None = None
    ) -> dict[str, Any]:
        return summarize(
            d.point,
            d.boot,
            d.jack,
            level=self.options.level,
            method=self.options.method,
            n=d.n,
            seed=self.options.seed,
            se_analytic=se,
            analytic=analytic,
        )

    def _summary(
        self, handle: int, se: float | Lazy | None = None, analytic: Analytic | None = None
    ) -> Lazy:
        return lambda: self._summarize(
            self.engine.distribution(handle), se() if callable(se) else se, analytic
        )

    def sum_metric(
        self,
        columns: np.ndarray,
        mask: np.ndarray,
        fn: SumFunction,
        se: float | None = None,
        proportion: Proportion | None = None,
    ) -> Lazy:
        """`proportion` (per-item successes and trials) marks a metric that is a proportion: it
        gets Wilson's interval instead of the bootstrap's."""
        return self._summary(self.engine.add_sum(columns, mask, fn), se, proportion)

    def _quantiles(
        self, rows: CellRows, values: np.ndarray, qs: tuple[float, ...]
    ) -> list[Lazy | None]:
        """Quantiles of per-call values (one cumulative sum for all of them); None when no call
        has a value."""
        keep = np.isfinite(values)
        if not keep.any():
            return [None] * len(qs)
        mask = np.zeros(self.n, dtype=bool)
        mask[rows.item[keep]] = True
        position = np.searchsorted(np.flatnonzero(mask), rows.item[keep])
        # One quantile gives values (r,); several give (r, k), as the engine expects.
        function = quantile_from_counts(values[keep], position, qs if len(qs) > 1 else qs[0])
        handles = self.engine.add_counts_group(mask, function, len(qs))
        count = int(keep.sum())

        def build(handle: int) -> Lazy:
            summary = self._summary(handle)
            # n counts calls here, not items: a speed figure is a property of calls.
            return lambda: {**summary(), "n": count}

        return [build(h) for h in handles]

    # Cells ------------------------------------------------------------------------------------

    def score_into(self, scores: Scores) -> None:
        cells: list[dict[str, Any]] = []
        for rows in self.rows.cells.values():
            mask = rows.mask(self.n)
            columns = self._columns(rows)
            overall = self._cell(rows, columns, mask, slice_=None)
            overall["speed"] = self._speed(rows)
            overall["metrics"]["baselines"] = self._baselines(rows, columns, mask)
            if self.task.calibrated:
                overall["metrics"]["calibration"] = self._calibration(rows)
            cells.append(overall)
            for name in sorted(self.rows.slice_values):
                column = np.array(self.rows.slice_values[name], dtype=object)
                for value in sorted({v for v in column[mask] if v is not None}):
                    members = mask & (column == value)
                    # The cell's own columns under the slice's mask: the engine then shares
                    # one column set between the cell and all its slices.
                    part = rows.subset(members[rows.item])
                    cell = self._cell(part, columns, members, slice_={name: value})
                    cell["speed"] = None
                    if self.task.calibrated:
                        cell["metrics"]["calibration"] = None
                    cells.append(cell)
        comparisons = self._comparisons()
        robustness = self._robustness()
        fairness = self._fairness()
        self.engine.run()
        scores.cells.extend(resolve(cells))
        scores.comparisons.extend(resolve(comparisons))
        scores.robustness.extend(resolve(robustness))
        scores.fairness.extend(resolve(fairness))
        for key, rows in self.rows.cells.items():
            if key.perturbation == BASELINE:
                ok = ~rows.error
                samples = scores.speed_samples.setdefault(key.model, {c: [] for c in SPEED_COLUMNS})
                for c in SPEED_COLUMNS:
                    values = rows.speed[c][ok]
                    samples[c].extend(float(v) for v in values[np.isfinite(values)])

    def _cell(
        self, rows: CellRows, columns: np.ndarray, mask: np.ndarray, slice_: dict[str, str] | None
    ) -> dict[str, Any]:
        metrics = {
            name: self._metric(metric_for(name), rows, columns, mask) for name in self.task.metrics
        }
        metrics.update(self.task.sections(self, self.stats, columns, mask, rows.gold, rows.answer))
        return {
            "cell": rows.key.as_dict(slice_),
            "n": int(mask.sum()),
            "n_rows": len(rows),
            "metrics": metrics,
        }

    def _input(self, rows: CellRows, per_item: np.ndarray, mask: np.ndarray) -> MetricInput:
        position = np.searchsorted(np.flatnonzero(mask), rows.item)
        return MetricInput(self.stats, per_item, rows.gold, rows.pred, position)

    def _metric(
        self, metric: Metric, rows: CellRows, columns: np.ndarray, mask: np.ndarray
    ) -> Lazy:
        """One declared metric of a cell (or a slice: `mask` its items), with its analytic SE
        and, for a proportion, Wilson's interval."""
        x = self._input(rows, columns[mask], mask)
        if metric.counts is not None:
            handle = self.engine.add_counts(mask, metric.counts(x))
        else:
            assert metric.sums is not None
            handle = self.engine.add_sum(columns, mask, metric.sums(x))
        if metric.numerator is not None:
            numerator = metric.numerator(self.stats, x.per_item)
            trials = self.stats.trials(x.per_item)
            proportion = Proportion(numerator, trials) if metric.proportion else None
            return self._summary(handle, ratio_se(numerator, trials), proportion)
        if metric.se is not None:
            se = metric.se
            return self._summary(handle, lambda: se(x, self.engine.distribution(handle).point))
        return self._summary(handle)

    # Chance baselines ---------------------------------------------------------------------------

    def _baselines(self, rows: CellRows, columns: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
        """The headline scores of the task's answer-free predictors (puma.tasks: Task.chance) on
        the same rows, and the paired difference model - baseline with its interval (both from
        the same resamples). Each predictor is fixed on the full sample."""
        x = self._input(rows, columns[mask], mask)
        metrics = [metric_for(name) for name in self.task.chance_metrics]
        functions = {m.name: self._sum_function(m, x) for m in metrics}
        model = {m.name: self.engine.add_sum(columns, mask, functions[m.name]) for m in metrics}
        count = self.stats.trials(columns[mask])
        chance = self.task.chance(self.stats, rows.item, rows.gold, columns, mask, self.n)
        out: dict[str, Any] = {}
        for name, predictor in chance.items():
            base = predictor.columns
            entry: dict[str, Any] = {"prediction": predictor.prediction}
            difference: dict[str, Any] = {}
            for metric in metrics:
                hb = self.engine.add_sum(base, mask, functions[metric.name])
                se = None
                difference_se = None
                proportion = pair = None
                if metric.numerator is not None:
                    b = base[mask]
                    b_trials = self.stats.trials(b)
                    b_numerator = metric.numerator(self.stats, b)
                    own = metric.numerator(self.stats, columns[mask])
                    se = ratio_se(b_numerator, b_trials)
                    # The baseline's per-item numerator in the model's units (a uniform random
                    # predictor counts each row L times).
                    change = own - b_numerator * ratio(count, b_trials, 0.0)
                    difference_se = ratio_se(change, count)
                    if metric.proportion and np.array_equal(b_trials, count):
                        # One answer per row on both sides: the same trials, so Wilson for the
                        # baseline and Newcombe's paired interval for the difference.
                        proportion = Proportion(b_numerator, b_trials)
                        pair = PairedProportions(Proportion(own, count), proportion)
                difference[metric.name] = self._difference(
                    model[metric.name], hb, difference_se, pair
                )
                entry[metric.name] = self._summary(hb, se, proportion)
            entry["difference"] = difference
            out[name] = entry
        return out

    @staticmethod
    def _sum_function(metric: Metric, x: MetricInput) -> SumFunction:
        if metric.sums is None:
            raise ValueError(f"metric {metric.name!r} is not a function of summed columns")
        return metric.sums(x)

    def _speed(self, rows: CellRows) -> dict[str, Any]:
        """Per-call speed over the cell's successful calls; failed calls are only counted."""
        ok = rows.subset(~rows.error)
        speed: dict[str, Any] = {"n_calls": len(rows), "n_errors": int(rows.error.sum())}
        figures = (
            ("ttft_ms", ("ttft_ms_p50",), (0.5,)),
            ("prompt_tps", ("prompt_tps_p50",), (0.5,)),
            ("generation_tps", ("generation_tps_p50",), (0.5,)),
            ("total_ms", ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99"), (0.5, 0.9, 0.99)),
        )
        for column, names, qs in figures:
            values = self._quantiles(ok, ok.speed[column], qs) if len(ok) else [None] * len(qs)
            speed.update(zip(names, values, strict=True))
        return speed

    def _calibration(self, rows: CellRows) -> dict[str, Any] | None:
        if rows.probs is None:
            return None
        has = ~np.isnan(rows.probs).any(axis=1)
        part = rows.subset(has)
        assert part.probs is not None
        stats = CalibrationStats(self.options.calibration_bins)
        correct = self.task.outcome(self.stats, part.gold, part.pred)
        columns = item_sums(
            part.item, stats.row_columns(part.confidence, correct, part.probs, part.gold), self.n
        )
        mask = part.mask(self.n)
        per_item = columns[mask]
        out: dict[str, Any] = {"n": int(mask.sum()), "n_rows": len(part), "bins": stats.bins}
        out["ece"] = self.sum_metric(columns, mask, stats.ece)
        # Equal-mass bins are recomputed in every resample: a function of the counts.
        position = np.searchsorted(np.flatnonzero(mask), part.item)
        adaptive = adaptive_ece_from_counts(part.confidence, correct, position, stats.bins)
        out["adaptive_ece"] = self._summary(self.engine.add_counts(mask, adaptive))
        out["brier_multiclass"] = self.sum_metric(
            columns, mask, stats.brier_multiclass, ratio_se(per_item[:, -2], per_item[:, 0])
        )
        out["nll"] = self.sum_metric(
            columns, mask, stats.nll, ratio_se(per_item[:, -1], per_item[:, 0])
        )
        out["reliability"] = [
            {k: clean_float(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in reliability_table(part.confidence, correct, stats.bins)
        ]
        recalibration = recalibration_scores(
            part.probs,
            part.gold,
            part.pred,
            part.item,
            folds=self.options.calibration_folds,
            seed=self.options.seed,
            bins=stats.bins,
        )
        out["recalibration"] = _clean(recalibration)
        return out

    # Pairs ------------------------------------------------------------------------------------

    def _outcome(self, rows: CellRows) -> np.ndarray:
        """Per row 0/1: the task's right answer (puma.tasks: Task.outcome)."""
        return self.task.outcome(self.stats, rows.gold, rows.pred)

    def _paired(
        self, a: CellRows, b: CellRows, *, tests: bool
    ) -> tuple[np.ndarray, dict[str, _Paired]] | None:
        """Register a - b of each paired metric over the items both sides hold, with a test
        when asked; None when they share no item."""
        shared = a.mask(self.n) & b.mask(self.n)
        if not shared.any():
            return None
        # Columns of the whole sides under the shared mask: identical to the cells' own columns,
        # so the engine computes nothing twice.
        ca, cb = self._columns(a), self._columns(b)
        a = a.subset(shared[a.item])
        b = b.subset(shared[b.item])
        one_row_per_item = len(a) == int(shared.sum()) == len(b)
        same_counts = np.array_equal(self.stats.trials(ca[shared]), self.stats.trials(cb[shared]))
        out: dict[str, _Paired] = {}
        # One side's columns over the shared items fix what a metric needs fixed (macro-F1's
        # label set) for both sides.
        x = MetricInput(self.stats, ca[shared], a.gold, a.pred, np.zeros(0, dtype=np.int64))
        for metric in (metric_for(name) for name in self.task.paired_metrics):
            fn = self._sum_function(metric, x)
            ha = self.engine.add_sum(ca, shared, fn)
            hb = self.engine.add_sum(cb, shared, fn)
            se = None
            pair: PairedProportions | None = None
            if metric.numerator is not None and same_counts:
                numerator_a = metric.numerator(self.stats, ca[shared])
                numerator_b = metric.numerator(self.stats, cb[shared])
                trials = self.stats.trials(ca[shared])
                se = ratio_se(numerator_a - numerator_b, trials)
                if metric.proportion:
                    pair = PairedProportions(
                        Proportion(numerator_a, trials), Proportion(numerator_b, trials)
                    )
            difference = self._difference(ha, hb, se, pair)
            if not tests:
                out[metric.name] = _Paired(difference, "", lambda: None)
            elif metric.proportion and one_row_per_item:
                oa, ob = self._outcome(a), self._outcome(b)
                out[metric.name] = _Paired(
                    difference,
                    "mcnemar-exact",
                    partial(_mcnemar_p, oa, ob),
                )
            else:
                test = self.engine.add_sign_flip_test(ha, hb)
                out[metric.name] = _Paired(
                    difference, "sign-flip-permutation", partial(self._p, test)
                )
        return shared, out

    def _p(self, test: int) -> float | None:
        return clean_float(self.engine.p_value(test)) if self.options.permutations > 0 else None

    def _difference(
        self, ha: int, hb: int, se: float | None, pair: PairedProportions | None
    ) -> Lazy:
        return lambda: self._summarize(
            self.engine.distribution(ha).minus(self.engine.distribution(hb)), se, pair
        )

    def _comparisons(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        baseline = [k for k in self.rows.cells if k.perturbation == BASELINE]
        for strategy in sorted({k.strategy for k in baseline}):
            keys = sorted((k for k in baseline if k.strategy == strategy), key=lambda k: k.model)
            for ka, kb in itertools.combinations(keys, 2):
                paired = self._paired(self.rows.cells[ka], self.rows.cells[kb], tests=True)
                if paired is None:
                    continue
                shared, metrics = paired
                for name, result in metrics.items():
                    out.append(
                        {
                            "suite_id": self.suite.id,
                            "strategy": strategy,
                            "a": ka.model,
                            "b": kb.model,
                            "metric": name,
                            "n": int(shared.sum()),
                            "difference": result.difference,
                            "p_value": result.p_value,
                            "p_adjusted": None,
                            "test": result.test,
                            "correction": self.options.correction,
                        }
                    )
        return out

    # Robustness and fairness ------------------------------------------------------------------

    def _robustness(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, rows in self.rows.cells.items():
            if key.perturbation == BASELINE:
                continue
            base_key = CellKey(key.suite_id, key.task, key.model, key.strategy, BASELINE)
            if base_key not in self.rows.cells:
                continue
            base = self.rows.cells[base_key].first_repetition()
            pert = rows.first_repetition()
            paired = self._paired(pert, base, tests=False)
            if paired is None:
                continue
            shared, metrics = paired
            entry: dict[str, Any] = {
                "suite_id": self.suite.id,
                "task": key.task,
                "model": key.model,
                "strategy": key.strategy,
                "perturbation": key.perturbation,
                "n_pairs": int(shared.sum()),
                "changes": {name: m.difference for name, m in metrics.items()},
            }
            entry.update(
                self._flips(base.subset(shared[base.item]), pert.subset(shared[pert.item]))
            )
            out.append(entry)
        return out

    def _flips(self, base: CellRows, pert: CellRows) -> dict[str, Any]:
        """Per shared item: did correctness change, in which direction, is the answer the same."""
        before = np.zeros(self.n)
        after = np.zeros(self.n)
        before[base.item] = self._outcome(base)
        after[pert.item] = self._outcome(pert)
        answers_before = dict(zip(base.item.tolist(), base.answer, strict=True))
        same = np.zeros(self.n)
        for i, answer in zip(pert.item.tolist(), pert.answer, strict=True):
            same[i] = answers_before[i] == answer
        mask = np.zeros(self.n, dtype=bool)
        mask[pert.item] = True
        ones = mask.astype(np.float64)
        to_correct = (after > before) * ones
        to_incorrect = (after < before) * ones
        columns = np.column_stack(
            [ones, to_correct + to_incorrect, to_correct, to_incorrect, same * ones]
        )

        def rate(j: int) -> Lazy:
            se = ratio_se(columns[mask, j], ones[mask])
            share = Proportion(columns[mask, j], ones[mask])
            return self.sum_metric(columns, mask, lambda s: ratio(s[..., j], s[..., 0]), se, share)

        return {
            "flip_rate": rate(1),
            "flips_to_correct": rate(2),
            "flips_to_incorrect": rate(3),
            "consistency": rate(4),
            "flip_counts": {
                "to_correct": int(to_correct.sum()),
                "to_incorrect": int(to_incorrect.sum()),
            },
        }

    def _fairness(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cells = self.rows.cells
        for key in cells:
            if key.perturbation != BASELINE:
                continue
            for group, (name_a, name_b) in FAIRNESS_GROUPS.items():
                ka = CellKey(key.suite_id, key.task, key.model, key.strategy, name_a)
                kb = CellKey(key.suite_id, key.task, key.model, key.strategy, name_b)
                if ka not in cells or kb not in cells:
                    continue
                paired = self._paired(
                    cells[ka].first_repetition(), cells[kb].first_repetition(), tests=True
                )
                if paired is None:
                    continue
                shared, metrics = paired
                out.append(
                    {
                        "suite_id": self.suite.id,
                        "task": key.task,
                        "model": key.model,
                        "strategy": key.strategy,
                        "group": group,
                        "a": name_a,
                        "b": name_b,
                        "n_pairs": int(shared.sum()),
                        "gaps": {name: m.difference for name, m in metrics.items()},
                        "p_values": {name: m.p_value for name, m in metrics.items()},
                        "tests": {name: m.test for name, m in metrics.items()},
                    }
                )
        return out


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return clean_float(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
