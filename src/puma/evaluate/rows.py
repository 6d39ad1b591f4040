"""Prediction rows grouped into cells and turned into arrays over a suite's item universe.

A cell is one (suite, model, strategy, perturbation); its rows may hold several repetitions of an
item. Reads rows shaped like puma.runfolder.predictions.FULL_SCHEMA (dicts), writes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from puma.errors import InputFileError
from puma.predictions import BASELINE, canonical_number
from puma.suites.model import FIBONACCI_POINTS

SPEED_COLUMNS = ("ttft_ms", "total_ms", "prompt_tps", "generation_tps")


@dataclass(frozen=True)
class SuiteInfo:
    """What scoring needs to know of a suite: its task and its label set (or estimation scale)."""

    id: str
    task: str
    labels: tuple[str, ...] = ()
    version: str | None = None
    content_hash: str | None = None

    @property
    def is_classification(self) -> bool:
        return self.task != "estimation"

    @property
    def scale(self) -> tuple[float, ...]:
        return tuple(float(p) for p in FIBONACCI_POINTS)


@dataclass(frozen=True, order=True)
class CellKey:
    suite_id: str
    task: str
    model: str
    strategy: str
    perturbation: str

    def as_dict(self, slice_: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "suite_id": self.suite_id,
            "task": self.task,
            "model": self.model,
            "strategy": self.strategy,
            "perturbation": self.perturbation,
            "slice": slice_,
        }


@dataclass
class CellRows:
    """Column arrays of one cell's rows; `item` indexes the suite's universe."""

    key: CellKey
    item: np.ndarray
    repetition: np.ndarray
    gold: np.ndarray  # classification: label index; estimation: value
    pred: np.ndarray  # classification: index, -1 unparsed, -2 outside the labels; else value/NaN
    answer: list[str | None]  # the canonical predicted label, for consistency
    confidence: np.ndarray
    probs: np.ndarray | None  # (rows, labels), NaN rows where the row has no label_probs
    error: np.ndarray
    speed: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.item)

    def subset(self, rows: np.ndarray) -> CellRows:
        return CellRows(
            key=self.key,
            item=self.item[rows],
            repetition=self.repetition[rows],
            gold=self.gold[rows],
            pred=self.pred[rows],
            answer=[self.answer[i] for i in np.flatnonzero(rows)],
            confidence=self.confidence[rows],
            probs=None if self.probs is None else self.probs[rows],
            error=self.error[rows],
            speed={k: v[rows] for k, v in self.speed.items()},
        )

    def mask(self, n_items: int) -> np.ndarray:
        out = np.zeros(n_items, dtype=bool)
        out[self.item] = True
        return out

    def first_repetition(self) -> CellRows:
        return self.subset(self.repetition == 0)

    @property
    def correct(self) -> np.ndarray:
        """Per row: the answer is right (classification: the label; estimation: within one
        scale step, the estimation counterpart of a right answer)."""
        if self.pred.dtype.kind == "f":
            raise TypeError("use EstimationStats for estimation correctness")
        return (self.pred >= 0) & (self.pred == self.gold)


@dataclass
class SuiteRows:
    """All cells of one suite, over one universe of instance ids (sorted)."""

    suite: SuiteInfo
    universe: list[str]
    cells: dict[CellKey, CellRows]
    slice_values: dict[str, list[str | None]]  # field -> value per universe item

    @property
    def n(self) -> int:
        return len(self.universe)


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


def _json_object(text: Any, column: str, where: str) -> dict[str, Any] | None:
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


def _probs(text: Any, labels: Sequence[str], where: str) -> np.ndarray | None:
    data = _json_object(text, "label_probs", where)
    if data is None:
        return None
    vector = np.array([max(_float(data.get(label, 0.0)), 0.0) for label in labels])
    vector = np.nan_to_num(vector, nan=0.0)
    total = vector.sum()
    return vector / total if total > 0 else None


def _slices(text: Any, where: str) -> dict[str, str]:
    data = _json_object(text, "slices", where) or {}
    return {str(k): str(v) for k, v in data.items() if v is not None}


def group_rows(
    rows: Sequence[dict[str, Any]], suites: dict[str, SuiteInfo], source: str
) -> list[SuiteRows]:
    """Group benchmark rows (phase "predict") by suite and cell. Duplicate (cell, repetition,
    instance) rows are an error: the run's contract makes them unique."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if (row.get("phase") or "predict") != "predict":
            continue
        by_suite.setdefault(str(row["suite_id"]), []).append(row)
    out = []
    for suite_id in sorted(by_suite):
        suite = suites.get(suite_id)
        if suite is None:
            raise InputFileError(
                f"rows of suite {suite_id!r} but the manifest does not list that suite",
                where=source,
            )
        out.append(_suite_rows(suite, by_suite[suite_id], source))
    return out


def _suite_rows(suite: SuiteInfo, rows: list[dict[str, Any]], source: str) -> SuiteRows:
    if suite.is_classification and not suite.labels:
        # A manifest without labels: the gold values seen are the label set.
        suite = replace(suite, labels=tuple(sorted({str(r["gold"]) for r in rows})))
    universe = sorted({str(r["instance_id"]) for r in rows})
    position = {iid: i for i, iid in enumerate(universe)}
    slice_values: dict[str, list[str | None]] = {}
    label_index = {label: i for i, label in enumerate(suite.labels)}
    grouped: dict[CellKey, list[dict[str, Any]]] = {}
    for row in rows:
        key = CellKey(
            suite_id=suite.id,
            task=str(row.get("task") or suite.task),
            model=str(row["model"]),
            strategy=str(row.get("strategy") or "zero-shot"),
            perturbation=str(row.get("perturbation") or BASELINE),
        )
        grouped.setdefault(key, []).append(row)
        for name, value in _slices(row.get("slices"), source).items():
            column = slice_values.setdefault(name, [None] * len(universe))
            column[position[str(row["instance_id"])]] = value
    cells = {}
    for key in sorted(grouped):
        cell_rows = sorted(
            grouped[key], key=lambda r: (str(r["instance_id"]), int(r.get("repetition") or 0))
        )
        seen: set[tuple[str, int]] = set()
        for r in cell_rows:
            ident = (str(r["instance_id"]), int(r.get("repetition") or 0))
            if ident in seen:
                raise InputFileError(
                    f"two rows for instance {ident[0]!r} repetition {ident[1]} of model "
                    f"{key.model!r} ({key.perturbation}, {key.strategy})",
                    where=source,
                    hint="each (model, perturbation, repetition, instance) is one final call",
                )
            seen.add(ident)
        cells[key] = _cell_rows(key, cell_rows, suite, position, label_index, source)
    return SuiteRows(suite, universe, cells, slice_values)


def _cell_rows(
    key: CellKey,
    rows: list[dict[str, Any]],
    suite: SuiteInfo,
    position: dict[str, int],
    label_index: dict[str, int],
    source: str,
) -> CellRows:
    n = len(rows)
    item = np.array([position[str(r["instance_id"])] for r in rows], dtype=np.int64)
    repetition = np.array([int(r.get("repetition") or 0) for r in rows], dtype=np.int64)
    answer = [None if r.get("predicted_label") is None else str(r["predicted_label"]) for r in rows]
    error = np.array([r.get("error") is not None for r in rows], dtype=bool)
    speed = {c: np.array([_float(r.get(c)) for r in rows]) for c in SPEED_COLUMNS}
    where = f"{source} ({key.model}, {suite.id})"
    probs: np.ndarray | None = None
    if suite.is_classification:
        gold = np.empty(n, dtype=np.int64)
        pred = np.empty(n, dtype=np.int64)
        confidence = np.zeros(n)
        for i, r in enumerate(rows):
            g = r.get("gold")
            if g not in label_index:
                raise InputFileError(
                    f"gold label {g!r} of instance {r['instance_id']!r} is not one of "
                    f"{', '.join(suite.labels)}",
                    where=where,
                )
            gold[i] = label_index[g]
            p = answer[i]
            pred[i] = -1 if p is None else label_index.get(p, -2)
        vectors = [_probs(r.get("label_probs"), suite.labels, where) for r in rows]
        if any(v is not None for v in vectors):
            probs = np.full((n, len(suite.labels)), np.nan)
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
    else:
        gold_values = [canonical_number(r.get("gold")) for r in rows]
        if any(g is None for g in gold_values):
            bad = next(r for r, g in zip(rows, gold_values, strict=True) if g is None)
            raise InputFileError(
                f"gold {bad.get('gold')!r} of instance {bad['instance_id']!r} is not a number",
                where=where,
            )
        gold = np.array(gold_values, dtype=np.float64)
        pred = np.full(n, np.nan)
        for i, r in enumerate(rows):
            if answer[i] is None:
                continue
            value = r.get("predicted_value")
            number = canonical_number(value) if value is not None else None
            if number is None:
                number = canonical_number(answer[i])
            pred[i] = math.nan if number is None else float(number)
        confidence = np.zeros(n)
    return CellRows(key, item, repetition, gold, pred, answer, confidence, probs, error, speed)
