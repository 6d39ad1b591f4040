"""Effort estimation: a user story in, story points on the Fibonacci scale (1 to 21) out.

Item fields: project, title, description; gold is an integer on the scale. The prompt is
templates/estimation.j2 (puma.scenarios). A plausible number off the scale (1 to 100) is kept as
said, marked fuzzy; it is never snapped to the scale. Errors, steps and the out-of-scale rule are
puma.stats.metrics.EstimationStats on this scale; the chance predictor says the median gold
estimate for every item. Schema v1 calls it `effort_tawos`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from puma.errors import InputFileError
from puma.predictions import canonical_number, canonical_number_text
from puma.scenarios.base import Scenario
from puma.scenarios.parsing import (
    ParsedOutput,
    ParseStatus,
    plausible_estimate,
    tolerant_number,
    trim_answer,
)
from puma.suites.model import FIBONACCI_POINTS, Suite
from puma.tasks.base import Chance, Encoded, PointSummary, Task, register_task

# The statistics load where a task scores: a sweep worker that only predicts never imports them.
if TYPE_CHECKING:
    from puma.stats.metrics import EstimationStats

SCALE: tuple[float, ...] = tuple(float(p) for p in FIBONACCI_POINTS)


class EstimationScenario(Scenario):
    template = "estimation.j2"
    cue_words = ("story points", "story point", "points", "estimate", "sp")

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {"points": FIBONACCI_POINTS}

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        text = canonical_number_text(example["gold"])
        return text if text is not None else str(example["gold"])

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        number = canonical_number(trim_answer(answer))
        if number is None:
            return None
        return _estimate(number, strict=True)

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        label = tolerant_number(text)
        number = canonical_number(label)
        return None if number is None else _estimate(number, strict=False)


def _estimate(number: int | float, *, strict: bool) -> ParsedOutput | None:
    """Only a number alone and on the scale is "ok"; off the scale it is kept but "fuzzy"."""
    if not plausible_estimate(float(number)):
        return None
    status: ParseStatus = "ok" if strict and number in FIBONACCI_POINTS else "fuzzy"
    return ParsedOutput(label=str(number), value=float(number), status=status)


@register_task
class EstimationTask(Task):
    name = "estimation"
    scenario_class = EstimationScenario
    metrics: ClassVar[tuple[str, ...]] = (
        "mae",
        "mdae",
        "mdmre",
        "within_one_step",
        "spearman",
        "parse_failure_rate",
        "out_of_scale_rate",
    )
    chance_metrics: ClassVar[tuple[str, ...]] = ("mae", "within_one_step")
    headline_chance: ClassVar[str] = "constant_median"
    chance_names: ClassVar[Mapping[str, str]] = {"constant_median": "median estimate"}
    chance_description: ClassVar[str] = "the median gold estimate said for every item"
    v1_scenario = "effort_tawos"
    v1_suite = "pm-estimation"

    def sufficient_stats(self, labels: Sequence[str]) -> EstimationStats:
        from puma.stats.metrics import EstimationStats

        return EstimationStats(SCALE)

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        gold_values = [canonical_number(r.get("gold")) for r in rows]
        if any(g is None for g in gold_values):
            bad = next(r for r, g in zip(rows, gold_values, strict=True) if g is None)
            raise InputFileError(
                f"gold {bad.get('gold')!r} of instance {bad['instance_id']!r} is not a number",
                where=where,
            )
        pred = np.full(len(rows), np.nan)
        for i, r in enumerate(rows):
            answer = r.get("predicted_label")
            if answer is None:
                continue
            value = r.get("predicted_value")
            number = canonical_number(value) if value is not None else None
            if number is None:
                number = canonical_number(str(answer))
            pred[i] = math.nan if number is None else float(number)
        return Encoded(np.array(gold_values, dtype=np.float64), pred, np.zeros(len(rows)))

    def outcome(self, stats: EstimationStats, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        # Within one scale step: the estimation counterpart of a right answer.
        return stats.within(stats.row_columns(gold, pred)) > 0

    def chance(
        self,
        stats: EstimationStats,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        """The median gold estimate of these items, said for every item."""
        first = np.unique(item, return_index=True)[1]
        median = float(np.median(gold[first]))
        constant = np.full(len(gold), median)
        return {"constant_median": Chance(median, stats.columns(item, gold, constant, n))}

    def predicted_value(
        self, label: str | None, value: float | None, probs: Mapping[str, float] | None
    ) -> float | None:
        # As canonical_number gives it (an int when integral): the ledger's bytes depend on it.
        return canonical_number(value)

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        from puma.stats.metrics import EstimationStats
        from puma.stats.point import regression_scores

        gold_values = np.array([float(g) for g in gold])
        estimates = [canonical_number(p) if p is not None else None for p in predicted]
        scores = regression_scores(gold_values.tolist(), estimates, FIBONACCI_POINTS)
        values = np.array([np.nan if e is None else float(e) for e in estimates])
        stats = EstimationStats(FIBONACCI_POINTS)
        median = float(np.median(gold_values))
        return PointSummary(
            score=float(scores["mae"]),  # type: ignore[arg-type]
            parse_failure_rate=float(scores["parse_failure_rate"]),  # type: ignore[arg-type]
            model_rows=stats.absolute_error(stats.row_columns(gold_values, values)),
            chance_rows=np.abs(gold_values - median),
            out_of_scale_rate=float(scores["out_of_scale_rate"]),  # type: ignore[arg-type]
        )

    def v1_scores(
        self,
        labels: Sequence[str],
        gold: Sequence[Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        from puma.stats.point import regression_scores

        estimates = [_row_estimate(row) for row in rows]
        gold_numbers = [float(canonical_number(g) or 0.0) for g in gold]
        scores = regression_scores(gold_numbers, estimates, FIBONACCI_POINTS)
        metrics = {"mae": scores["mae"], "mdae": scores["mdae"]}
        extra = {k: scores[k] for k in ("n", "parse_failure_rate", "mdmre", "within_one_step")}
        return metrics, extra


def _row_estimate(row: Mapping[str, Any]) -> float | None:
    value = canonical_number(row.get("predicted_value"))
    if value is None:
        value = canonical_number(row.get("predicted_label"))
    return None if value is None else float(value)
