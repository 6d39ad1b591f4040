"""The metrics a submission declares, computed from its predictions and the gold answers.

`share-results` declares what `score_predictions` gives and `verify-hash --rescore` recomputes it
the same way, so the two can only disagree when the predictions or the numbers were changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from puma.tasks import task_for

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
    metrics, extra = task_for(task).v1_scores(labels, gold, rows)
    # v1's metrics object names every metric; the ones this task does not fill are null.
    return Scored(metrics={name: metrics.get(name) for name in V1_METRICS}, extra=extra)


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
