"""The metrics a submission declares, computed from its predictions and the gold answers.

`share-results` declares what `score_predictions` gives and `verify-hash --rescore` recomputes it
the same way, so the two can only disagree when the predictions or the numbers were changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from puma.predictions import canonical_number
from puma.stats.point import classification_scores, regression_scores
from puma.suites.model import FIBONACCI_POINTS

# Declared and recomputed numbers must agree to this (absolute); counts must agree exactly. We
# write full float precision, so this only absorbs a last-bit difference between numpy builds.
TOLERANCE = 1e-6
V1_METRICS = ("f1_macro", "accuracy", "ece", "mae", "mdae", "f1_per_class", "confusion_matrix")


@dataclass(frozen=True)
class Scored:
    metrics: dict[str, Any]  # the schema v1 `metrics` object (nulls where a metric does not apply)
    extra: dict[str, Any]  # what v1 has no room for: n, parse_failure_rate, mdmre, ...


def unknown_instances(
    rows: Iterable[Mapping[str, Any]], gold_by_id: Mapping[str, Any]
) -> list[str]:
    return [str(row["instance_id"]) for row in rows if row["instance_id"] not in gold_by_id]


def score_predictions(
    task: str,
    labels: Sequence[str],
    gold_by_id: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> Scored:
    """Score canonical prediction rows (instance_id, predicted_label, predicted_value) against
    gold. Every row's instance must have a gold answer (check with `unknown_instances`)."""
    gold = [gold_by_id[row["instance_id"]] for row in rows]
    if task == "estimation":
        estimates = [_estimate(row) for row in rows]
        gold_numbers = [float(canonical_number(g) or 0.0) for g in gold]
        scores = regression_scores(gold_numbers, estimates, FIBONACCI_POINTS)
        metrics: dict[str, Any] = {
            "f1_macro": None,
            "accuracy": None,
            "ece": None,
            "mae": scores["mae"],
            "mdae": scores["mdae"],
            "f1_per_class": None,
            "confusion_matrix": None,
        }
        extra = {k: scores[k] for k in ("n", "parse_failure_rate", "mdmre", "within_one_step")}
        return Scored(metrics=metrics, extra=extra)
    predicted = [row["predicted_label"] for row in rows]
    confidence = [_probability(row["predicted_value"]) for row in rows]
    with_confidence = any(c is not None for c in confidence)
    scores = classification_scores(
        [str(g) for g in gold],
        predicted,
        labels,
        confidence=confidence if with_confidence else None,
    )
    metrics = {
        "f1_macro": scores["f1_macro"],
        "accuracy": scores["accuracy"],
        "ece": scores.get("ece"),
        "mae": None,
        "mdae": None,
        "f1_per_class": scores["f1_per_class"],
        "confusion_matrix": scores["confusion_matrix"],
    }
    return Scored(metrics=metrics, extra={k: scores[k] for k in ("n", "parse_failure_rate")})


def _estimate(row: Mapping[str, Any]) -> float | None:
    value = canonical_number(row.get("predicted_value"))
    if value is None:
        value = canonical_number(row.get("predicted_label"))
    return None if value is None else float(value)


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def metric_differences(declared: Mapping[str, Any], computed: Mapping[str, Any]) -> list[str]:
    """Each declared metric that the predictions do not give (within TOLERANCE). A metric
    declared as null claims nothing and is not checked."""
    problems = []
    for name in V1_METRICS:
        claimed, actual = declared.get(name), computed.get(name)
        if claimed is None:
            continue
        if actual is None:
            problems.append(f"{name}: declared {_show(claimed)}, but it does not apply here")
        elif not _same(claimed, actual):
            problems.append(
                f"{name}: declared {_show(claimed)}, the predictions give {_show(actual)}"
            )
    return problems


def _same(claimed: Any, actual: Any) -> bool:
    if isinstance(actual, dict):
        return (
            isinstance(claimed, dict)
            and set(claimed) == set(actual)
            and all(_same(claimed[k], actual[k]) for k in actual)
        )
    if isinstance(actual, list):
        return bool(claimed == actual)
    if isinstance(claimed, bool) or not isinstance(claimed, int | float):
        return False
    return abs(float(claimed) - float(actual)) <= TOLERANCE


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
