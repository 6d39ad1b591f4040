"""Task kinds of predictions PUMA did not make: samples that lm-evaluation-harness or Inspect
scored and saved (puma.importers). Nothing here builds a prompt; these kinds are only scored.

- `imported-binary`: the tool scored each sample 0 or 1 (accuracy, exact match, Inspect's C/I):
  the share scored 1, with Wilson's interval and McNemar's test between models.
- `imported-mean`: any other per-sample number whose tool metric is its mean (F1 per sample, a
  partial credit): the mean, with a delta-method SE, the bootstrap and sign-flip tests.
- `imported-label`: the tool kept each sample's (gold, prediction) pair for a corpus-level metric
  (lm-eval's `mcc`, `f1`): classification over the labels seen, with macro-F1 and Matthews'
  correlation recomputed from the pairs.

In every kind the prediction row's `predicted_value` holds the tool's per-sample score (NaN when
the tool left the sample unscored: it counts as a 0, and as unparsed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from puma.errors import InputFileError
from puma.runtimes.base import Prompt
from puma.scenarios.base import LabelScenario
from puma.scenarios.parsing import ParsedOutput
from puma.scenarios.strategies import Strategy
from puma.suites.model import Suite
from puma.tasks.base import Chance, Encoded, PointSummary, Task, finite_float, register_task
from puma.tasks.labels import LabelTask

if TYPE_CHECKING:
    from puma.stats.metrics import SampleScoreStats


class ImportedScenario(LabelScenario):
    """The scenario side of a kind that is never run: asking it for a prompt or a parse is an
    error with a remedy, never a silently wrong prompt."""

    def labels(self, suite: Suite) -> tuple[str, ...]:
        return suite.labels

    def build_prompt(
        self,
        suite: Suite,
        item: dict[str, Any],
        strategy: Strategy,
        *,
        seed: int,
        perturbation: str,
    ) -> Prompt:
        raise _not_run()

    def parse(self, suite: Suite, text: str, strategy: Strategy) -> ParsedOutput:
        raise _not_run()


def _no_v1() -> InputFileError:
    return InputFileError(
        "imported predictions have no schema v1 scenario",
        hint="schema v1 packages carry PUMA's own suites; share the imported run folder",
    )


def _not_run() -> InputFileError:
    return InputFileError(
        "imported predictions cannot be run or re-parsed: they come from another tool's log",
        hint="score them with `puma eval`; to run the model again, use that tool",
    )


class _ImportedScoreTask(Task):
    """A sample's score is the prediction; gold is the tool's target, kept for people only."""

    scenario_class = ImportedScenario
    runnable = False
    chance_metrics: ClassVar[tuple[str, ...]] = ()
    headline_chance: ClassVar[str] = "none"
    chance_names: ClassVar[Mapping[str, str]] = {"none": "no chance predictor"}
    chance_description: ClassVar[str] = "no answer-free predictor: the tool's scores are given"

    def sufficient_stats(self, labels: Sequence[str]) -> SampleScoreStats:
        from puma.stats.metrics import SampleScoreStats  # only to score (a sweep never does)

        return SampleScoreStats()

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        pred = np.array([finite_float(r.get("predicted_value")) for r in rows], dtype=np.float64)
        zeros = np.zeros(len(rows))
        return Encoded(gold=zeros, pred=pred, confidence=zeros)

    def outcome(self, stats: Any, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return np.asarray(np.nan_to_num(pred, nan=0.0) >= 0.5)

    def chance(
        self,
        stats: Any,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        return {}

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        values = np.array([_score(p) for p in predicted])
        return PointSummary(
            score=float(np.nan_to_num(values, nan=0.0).mean()) if len(values) else math.nan,
            parse_failure_rate=float(np.isnan(values).mean()) if len(values) else math.nan,
            model_rows=np.nan_to_num(values, nan=0.0),
            chance_rows=np.zeros(len(values)),
        )

    def v1_scores(
        self,
        labels: Sequence[str],
        gold: Sequence[Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        raise _no_v1()


def _score(value: Any) -> float:
    try:
        return finite_float(value)
    except (TypeError, ValueError):
        return math.nan


@register_task
class ImportedBinaryTask(_ImportedScoreTask):
    name = "imported-binary"
    metrics = ("score_rate", "parse_failure_rate")


@register_task
class ImportedMeanTask(_ImportedScoreTask):
    name = "imported-mean"
    metrics = ("score_mean", "parse_failure_rate")


@register_task
class ImportedLabelTask(LabelTask):
    name = "imported-label"
    scenario_class = ImportedScenario
    runnable = False
    metrics = ("accuracy", "f1_macro", "mcc", "kappa", "parse_failure_rate")
    calibrated = False

    def v1_scores(
        self,
        labels: Sequence[str],
        gold: Sequence[Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        raise _no_v1()
