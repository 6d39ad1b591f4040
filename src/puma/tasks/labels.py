"""What every task that answers with one of a fixed set of labels shares (triage, prioritization):
label indices, classification counts, majority-class and uniform chance, per-class figures and a
confusion matrix, calibration from label probabilities. A label task subclasses `LabelTask`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from puma.errors import InputFileError
from puma.tasks.base import (
    Chance,
    Encoded,
    MetricSink,
    PointSummary,
    Task,
    finite_float,
    json_object_cell,
)

# The statistics load where a task scores: a sweep worker that only predicts never imports them.
if TYPE_CHECKING:
    from puma.stats.metrics import ClassificationStats


class LabelTask(Task):
    metrics: ClassVar[tuple[str, ...]] = ("accuracy", "f1_macro", "kappa", "parse_failure_rate")
    chance_metrics: ClassVar[tuple[str, ...]] = ("accuracy", "f1_macro")
    headline_chance: ClassVar[str] = "majority_class"
    chance_names: ClassVar[Mapping[str, str]] = {
        "majority_class": "majority class",
        "uniform_random": "uniform random",
    }
    chance_description: ClassVar[str] = "always answering the most frequent gold class"
    calibrated: ClassVar[bool] = True

    def label_set(self, declared: Sequence[str], golds: Sequence[Any]) -> tuple[str, ...]:
        # A manifest without labels: the gold values seen are the label set.
        return tuple(declared) or tuple(sorted({str(g) for g in golds}))

    def sufficient_stats(self, labels: Sequence[str]) -> ClassificationStats:
        from puma.stats.metrics import ClassificationStats

        return ClassificationStats(labels)

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        n = len(rows)
        label_index = {label: i for i, label in enumerate(labels)}
        gold = np.empty(n, dtype=np.int64)
        pred = np.empty(n, dtype=np.int64)
        confidence = np.zeros(n)
        for i, r in enumerate(rows):
            g = r.get("gold")
            if g not in label_index:
                raise InputFileError(
                    f"gold label {g!r} of instance {r['instance_id']!r} is not one of "
                    f"{', '.join(labels)}",
                    where=where,
                )
            gold[i] = label_index[g]
            p = r.get("predicted_label")
            pred[i] = -1 if p is None else label_index.get(str(p), -2)
        vectors = [_probs(r.get("label_probs"), labels, where) for r in rows]
        probs: np.ndarray | None = None
        if any(v is not None for v in vectors):
            probs = np.full((n, len(labels)), np.nan)
            for i, v in enumerate(vectors):
                if v is not None:
                    probs[i] = v
        for i, r in enumerate(rows):
            # The probability of the predicted label; an unparsed answer has confidence 0.
            if pred[i] < 0:
                continue
            value = r.get("predicted_value")
            if value is not None and math.isfinite(float(value)):
                confidence[i] = float(value)
            elif probs is not None and not np.isnan(probs[i, pred[i]]):
                confidence[i] = probs[i, pred[i]]
        return Encoded(gold, pred, confidence, probs)

    def outcome(self, stats: Any, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return np.asarray((pred >= 0) & (pred == gold))

    def chance(
        self,
        stats: ClassificationStats,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        """The majority gold class of these items, and a uniform random choice among the labels
        (scored by its expected counts)."""
        from puma.stats.metrics import item_sums

        majority = int(np.argmax(stats.gold_counts(columns[mask]).sum(axis=0)))  # first of ties
        return {
            "majority_class": Chance(
                stats.labels[majority],
                stats.columns(item, gold, np.full(len(gold), majority), n),
            ),
            "uniform_random": Chance(None, item_sums(item, stats.uniform_rows(gold), n)),
        }

    def sections(
        self,
        sink: MetricSink,
        stats: ClassificationStats,
        columns: np.ndarray,
        mask: np.ndarray,
        gold: np.ndarray,
        answer: Sequence[str | None],
    ) -> dict[str, Any]:
        from puma.stats.intervals import Proportion
        from puma.stats.metrics import ratio_se
        from puma.stats.point import confusion_matrix

        m = columns[mask]
        per_class: dict[str, Any] = {}
        for i, label in enumerate(stats.labels):
            tp = stats.true_positives(m, i)
            predicted = stats.predicted_counts(m, i)
            gold_count = stats.gold_counts(m, i)
            per_class[label] = {
                "precision": sink.sum_metric(
                    columns,
                    mask,
                    stats.precision(i),
                    ratio_se(tp, predicted),
                    Proportion(tp, predicted),
                ),
                "recall": sink.sum_metric(
                    columns,
                    mask,
                    stats.recall(i),
                    ratio_se(tp, gold_count),
                    Proportion(tp, gold_count),
                ),
                "f1": sink.sum_metric(columns, mask, stats.f1(i)),
            }
        gold_text = [stats.labels[g] for g in gold]
        return {
            "per_class": per_class,
            "confusion_matrix": {
                "labels": list(stats.labels),
                "matrix": confusion_matrix(gold_text, answer, stats.labels),
            },
        }

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        from puma.stats.point import classification_scores

        scores = classification_scores(gold, predicted, labels)
        counts = {label: list(gold).count(label) for label in labels}
        majority = max(labels, key=lambda label: counts[label])
        return PointSummary(
            score=float(scores["accuracy"]),  # type: ignore[arg-type]
            parse_failure_rate=float(scores["parse_failure_rate"]),  # type: ignore[arg-type]
            model_rows=np.array([g == p for g, p in zip(gold, predicted, strict=True)], float),
            chance_rows=np.array([g == majority for g in gold], dtype=float),
        )

    def v1_scores(
        self,
        labels: Sequence[str],
        gold: Sequence[Any],
        rows: Sequence[Mapping[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        from puma.stats.point import classification_scores

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
            "f1_per_class": scores["f1_per_class"],
            "confusion_matrix": scores["confusion_matrix"],
        }
        return metrics, {k: scores[k] for k in ("n", "parse_failure_rate")}


def _probs(text: Any, labels: Sequence[str], where: str) -> np.ndarray | None:
    data = json_object_cell(text, "label_probs", where)
    if data is None:
        return None
    vector = np.array([max(finite_float(data.get(label, 0.0)), 0.0) for label in labels])
    vector = np.nan_to_num(vector, nan=0.0)
    total = vector.sum()
    return vector / total if total > 0 else None


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
