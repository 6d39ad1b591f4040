"""The metric registry: every metric PUMA reports, declared once with what tables and tests need.

A metric is a statistic of a task's per-item sufficient statistics (puma.stats.metrics): a function
of the summed columns (`sums`, for the point, every resample and every jackknife value) or of the
resampling counts (`counts`: medians, rank correlations). Its declaration says how people read it
(`label`, `higher_is_better`), how its interval is built (`numerator`: a ratio over the item's
rows, with a delta-method SE, and Wilson's interval when `proportion`; or its own analytic `se`)
and whether models are compared on it (`paired`; a paired proportion gets McNemar's exact test).
Scoring, the report, the run summary and the submission read these declarations; a new metric is
one `register_metric` call here (plus its tests) and its name in a task's `metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the statistics load when a metric is computed, not when a task is named
    from puma.stats.resample import CountFunction, SumFunction


@dataclass(frozen=True)
class MetricInput:
    """What a statistic may read: the task's sufficient statistics object (`stats`, whose
    columns' accessors name the layout), the per-item sums of the items scored (`per_item`),
    and per row the gold, the scored prediction and the item's position among those items."""

    stats: Any
    per_item: np.ndarray
    gold: np.ndarray
    pred: np.ndarray
    position: np.ndarray

    @property
    def n_items(self) -> int:
        return int(self.per_item.shape[0])


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # for people: table headers, the run summary
    higher_is_better: bool
    sums: Callable[[MetricInput], SumFunction] | None = None
    counts: Callable[[MetricInput], CountFunction] | None = None
    # Per-item numerator of sum(numerator) / sum(trials), from (stats, per-item columns).
    numerator: Callable[[Any, np.ndarray], np.ndarray] | None = None
    # An analytic SE other than the ratio's, from the input and the point estimate.
    se: Callable[[MetricInput, float], float | None] | None = None
    proportion: bool = False  # numerator counts 0/1 outcomes: Wilson, Newcombe, McNemar
    paired: bool = False  # compared between models, perturbations and groups

    def __post_init__(self) -> None:
        if (self.sums is None) == (self.counts is None):
            raise ValueError(f"metric {self.name!r} needs exactly one of sums or counts")
        if self.proportion and self.numerator is None:
            raise ValueError(f"proportion {self.name!r} needs its numerator (the successes)")
        if self.paired and self.sums is None:
            # Paired differences and sign-flip tests run on summed columns of both sides.
            raise ValueError(f"paired metric {self.name!r} must be a function of sums")


_METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    if metric.name in _METRICS:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    _METRICS[metric.name] = metric
    return metric


def metric_for(name: str) -> Metric:
    try:
        return _METRICS[name]
    except KeyError:
        # A task names a metric nobody registered: a bug of that task, not of its input.
        raise KeyError(f"no metric {name!r}; registered: {', '.join(sorted(_METRICS))}") from None


def metric_label(name: str) -> str:
    """The readable name of a registered metric, the name itself for any other."""
    return _METRICS[name].label if name in _METRICS else name


def _fixed_f1_macro(x: MetricInput) -> SumFunction:
    # Macro-F1 over the labels present in gold of the scored items, fixed for every resample.
    return x.stats.f1_macro_over(x.stats.present(x.per_item.sum(axis=0)))  # type: ignore[no-any-return]


def _absolute_errors(x: MetricInput) -> np.ndarray:
    return np.abs(x.stats.impute(x.gold, x.pred) - x.gold)  # type: ignore[no-any-return]


def _median_of(
    errors: Callable[[MetricInput], np.ndarray],
) -> Callable[[MetricInput], CountFunction]:
    def counts(x: MetricInput) -> CountFunction:
        from puma.stats.metrics import quantile_from_counts

        return quantile_from_counts(errors(x), x.position, 0.5)

    return counts


def _spearman_counts(x: MetricInput) -> CountFunction:
    from puma.stats.metrics import spearman_from_counts

    return spearman_from_counts(x.stats.impute(x.gold, x.pred), x.gold, x.position)


def _spearman_se(x: MetricInput, point: float) -> float | None:
    from puma.stats.metrics import spearman_se

    return spearman_se(point, x.n_items)


# Every task -------------------------------------------------------------------------------------

register_metric(
    Metric(
        "parse_failure_rate",
        "parse failures",
        higher_is_better=False,
        sums=lambda x: x.stats.parse_failure_rate,
        numerator=lambda stats, m: stats.unparsed(m),
        proportion=True,
    )
)

# Label tasks (classification) -----------------------------------------------------------------

register_metric(
    Metric(
        "accuracy",
        "accuracy",
        higher_is_better=True,
        sums=lambda x: x.stats.accuracy,
        numerator=lambda stats, m: stats.hits(m),
        proportion=True,
        paired=True,
    )
)
register_metric(
    Metric("f1_macro", "macro-F1", higher_is_better=True, sums=_fixed_f1_macro, paired=True)
)
register_metric(
    Metric(
        "kappa",
        "Cohen's κ",
        higher_is_better=True,
        sums=lambda x: x.stats.kappa,
        se=lambda x, _point: x.stats.kappa_se(x.per_item),
        paired=True,
    )
)

register_metric(
    Metric(
        "mcc",
        "Matthews' correlation",
        higher_is_better=True,
        sums=lambda x: x.stats.mcc,
        paired=True,
    )
)

# Scores another tool gave each sample (puma.tasks.imported) ---------------------------------------

register_metric(
    Metric(
        "score_rate",
        "share scored 1",
        higher_is_better=True,
        sums=lambda x: x.stats.mean,
        numerator=lambda stats, m: stats.score_sum(m),
        proportion=True,
        paired=True,
    )
)
register_metric(
    Metric(
        "score_mean",
        "mean score",
        higher_is_better=True,
        sums=lambda x: x.stats.mean,
        numerator=lambda stats, m: stats.score_sum(m),
        paired=True,
    )
)

# Estimation on a scale ------------------------------------------------------------------------

register_metric(
    Metric(
        "mae",
        "MAE",
        higher_is_better=False,
        sums=lambda x: x.stats.mae,
        numerator=lambda stats, m: stats.absolute_error(m),
        paired=True,
    )
)
register_metric(
    Metric(
        "mdae",
        "median AE",
        higher_is_better=False,
        counts=_median_of(_absolute_errors),
    )
)
register_metric(
    Metric(
        "mdmre",
        "MdMRE",
        higher_is_better=False,
        counts=_median_of(lambda x: _absolute_errors(x) / x.gold),
    )
)
register_metric(
    Metric(
        "within_one_step",
        "within one step",
        higher_is_better=True,
        sums=lambda x: x.stats.within_one_step,
        numerator=lambda stats, m: stats.within(m),
        proportion=True,
        paired=True,
    )
)
register_metric(
    Metric(
        "spearman",
        "Spearman ρ",
        higher_is_better=True,
        counts=_spearman_counts,
        se=_spearman_se,
    )
)
register_metric(
    Metric(
        "out_of_scale_rate",
        "out of scale",
        higher_is_better=False,
        sums=lambda x: x.stats.out_of_scale_rate,
        numerator=lambda stats, m: stats.off_scale(m),
        proportion=True,
    )
)
