"""The task interface: what the runner, scoring, the report, the run summary and the submission ask
of a task kind, and the registry of task kinds.

A task kind is one module under puma.tasks with a `Task` subclass under `@register_task`. It owns
its labels or scale, its prompt and parsing (a `Scenario`), how a prediction row becomes numbers
(gold, prediction, confidence), its sufficient statistics, its metric set (names registered in
puma.tasks.metrics) and headline metric, its 0/1 paired outcome, its chance predictors, and its
point scores for the run summary and schema v1.
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from puma.errors import InputFileError
from puma.scenarios.base import Scenario
from puma.tasks.metrics import metric_for

if TYPE_CHECKING:  # the statistics load when a task scores, not when a worker builds prompts
    from puma.stats.intervals import Proportion
    from puma.stats.resample import SumFunction

Lazy = Callable[[], Any]


class MetricSink(Protocol):
    """Scoring's side of a task's extra sections: registers a statistic with the suite's
    resampling engine and gives back its summary, computed once the engine has run; `universe`
    is the suite's instance ids, in the order of the per-item columns."""

    @property
    def universe(self) -> Sequence[str]: ...

    def sum_metric(
        self,
        columns: np.ndarray,
        mask: np.ndarray,
        fn: SumFunction,
        se: float | None = None,
        proportion: Proportion | None = None,
    ) -> Lazy: ...


@dataclass(frozen=True)
class Encoded:
    """A cell's rows as numbers: gold and prediction (label indices, -1 unparsed, -2 outside
    the labels; or values, NaN unparsed), the confidence in the prediction, and the label
    probabilities (rows x labels, NaN rows where a row has none) when any row has them."""

    gold: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    probs: np.ndarray | None = None


@dataclass(frozen=True)
class Chance:
    """An answer-free predictor: what it says (None when it says no one thing) and its per-item
    sufficient statistics on the cell's rows."""

    prediction: str | float | None
    columns: np.ndarray


@dataclass(frozen=True)
class PointSummary:
    """The run summary's figures of one (suite, model): the headline point, the parse failure
    rate, and per row the headline outcome of the model and of the headline chance predictor
    (their mean difference is the summary's "Δ vs chance")."""

    score: float
    parse_failure_rate: float
    model_rows: np.ndarray
    chance_rows: np.ndarray
    out_of_scale_rate: float | None = None


class Task(abc.ABC):
    """One task kind. Class attributes declare; methods compute."""

    name: ClassVar[str]
    scenario_class: ClassVar[type[Scenario]]  # prompts and parsing (puma.scenarios.base)
    metrics: ClassVar[tuple[str, ...]]  # a cell's metrics, in the order tables show them
    chance_metrics: ClassVar[tuple[str, ...]]  # compared with every chance predictor
    headline_chance: ClassVar[str]  # the chance predictor beside the headline score
    chance_names: ClassVar[Mapping[str, str]]  # each chance predictor's name for people
    chance_description: ClassVar[str]  # the headline chance predictor, in a sentence's words
    calibrated: ClassVar[bool] = False  # answers carry label probabilities: cells get calibration
    # Kinds whose cells carry `outcomes` (answers counted by outcome) and `per_task` (each
    # item's outcome) say here what each outcome means; the report shows both tables with it.
    outcomes_description: ClassVar[str | None] = None
    # PUMA builds its prompts and parses its answers; False for kinds whose predictions only ever
    # come from another tool's log (puma.tasks.imported): those are scored, never run.
    runnable: ClassVar[bool] = True
    v1_scenario: ClassVar[str | None] = None  # the scenario name of schema v1, if any
    v1_suite: ClassVar[str | None] = None  # the bundled suite of that scenario

    def __init__(self) -> None:
        self.scenario = self.scenario_class(self.name)

    @property
    def headline(self) -> str:
        return self.metrics[0]

    @property
    def paired_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if metric_for(m).paired)

    # Rows to numbers ----------------------------------------------------------------------------

    def label_set(self, declared: Sequence[str], golds: Sequence[Any]) -> tuple[str, ...]:
        """The labels a suite scores over (empty for a task without labels)."""
        return tuple(declared)

    @abc.abstractmethod
    def sufficient_stats(self, labels: Sequence[str]) -> Any:
        """The object with the per-item column layout (`columns`, `row_columns`, accessors) and
        the statistics the task's metrics read (puma.stats.metrics)."""

    @abc.abstractmethod
    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        """Gold and prediction of each row as numbers; InputFileError for a bad gold."""

    @abc.abstractmethod
    def outcome(self, stats: Any, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Per row 0/1: the answer counts as right (flips, McNemar's test)."""

    @abc.abstractmethod
    def chance(
        self,
        stats: Any,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        """The chance predictors of a cell (`columns` its per-item sums, `mask` its items),
        each fixed on the full sample."""

    def sections(
        self,
        sink: MetricSink,
        stats: Any,
        columns: np.ndarray,
        mask: np.ndarray,
        gold: np.ndarray,
        answer: Sequence[str | None],
    ) -> dict[str, Any]:
        """A cell's metrics beyond the declared ones (per-class figures, a confusion matrix)."""
        return {}

    def predicted_value(
        self, label: str | None, value: float | None, probs: Mapping[str, float] | None
    ) -> float | None:
        """The number a prediction row records beside its label: by default the probability of
        the predicted label."""
        return probs.get(label) if probs and label else None

    # Point scores -------------------------------------------------------------------------------

    @abc.abstractmethod
    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        """The run summary's headline point and per-row outcomes (model and chance)."""

    @abc.abstractmethod
    def v1_scores(
        self,
        labels: Sequence[str],
        gold: Sequence[Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Schema v1's metrics this task fills (the rest are null) and the extra figures v1 has
        no room for, from canonical prediction rows (predicted_label, predicted_value)."""


def json_object_cell(text: Any, column: str, where: str) -> dict[str, Any] | None:
    """A JSON-object cell (stored as text in the parquet), None when empty."""
    if text is None or text == "":
        return None
    try:
        data = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{column} is not JSON: {exc.msg}", where=where) from exc
    if not isinstance(data, dict):
        raise InputFileError(f"{column} must be a JSON object", where=where)
    return data


def finite_float(value: Any) -> float:
    if value is None:
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


_TASKS: dict[str, Task] = {}


def register_task(cls: type[Task]) -> type[Task]:
    if cls.name in _TASKS:
        raise ValueError(f"task kind {cls.name!r} is registered twice")
    for name in cls.metrics + cls.chance_metrics:
        metric_for(name)  # a typo in a task's metric list fails on import, not mid-scoring
    _TASKS[cls.name] = cls()
    return cls


def task_for(name: str, where: str | None = None) -> Task:
    try:
        return _TASKS[str(name)]
    except KeyError:
        raise InputFileError(
            f"unknown task kind {name!r}",
            where=where,
            hint=f"PUMA knows the task kinds {', '.join(task_names())}",
        ) from None


def task_names(*, runnable: bool = False) -> list[str]:
    """Every registered task kind, or with `runnable` only those PUMA can run (a suite's kind)."""
    return sorted(name for name, task in _TASKS.items() if task.runnable or not runnable)
