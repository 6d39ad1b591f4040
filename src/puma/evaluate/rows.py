"""Prediction rows grouped into cells and turned into arrays over a suite's item universe.

A cell is one (suite, model, strategy, perturbation); its rows may hold several repetitions of an
item. Reads rows shaped like puma.runfolder.predictions.FULL_SCHEMA (dicts), writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from puma.errors import InputFileError
from puma.predictions import BASELINE
from puma.tasks import Task, task_for
from puma.tasks.base import json_object_cell

SPEED_COLUMNS = ("ttft_ms", "total_ms", "prompt_tps", "generation_tps")


@dataclass(frozen=True)
class SuiteInfo:
    """What scoring needs to know of a suite: its task kind and its label set (empty for a task
    without labels)."""

    id: str
    task: str
    labels: tuple[str, ...] = ()
    version: str | None = None
    content_hash: str | None = None

    @property
    def kind(self) -> Task:
        return task_for(self.task, where=f"suite {self.id}")


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
    gold: np.ndarray  # as the task encodes it (puma.tasks.Encoded): label index or value
    pred: np.ndarray  # label index, -1 unparsed, -2 outside the labels; or value, NaN unparsed
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


def _slices(text: Any, where: str) -> dict[str, str]:
    data = json_object_cell(text, "slices", where) or {}
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
    suite = replace(suite, labels=suite.kind.label_set(suite.labels, [r["gold"] for r in rows]))
    universe = sorted({str(r["instance_id"]) for r in rows})
    position = {iid: i for i, iid in enumerate(universe)}
    slice_values: dict[str, list[str | None]] = {}
    grouped: dict[CellKey, list[dict[str, Any]]] = {}
    # An item's slices repeat on every row of it (every model, seed, repetition): parse each
    # distinct text once (a 100-seed sweep has 100 rows of each per model).
    parsed: dict[Any, dict[str, str]] = {}
    by_fields: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        fields = (
            str(row.get("task") or suite.task),
            str(row["model"]),
            str(row.get("strategy") or "zero-shot"),
            str(row.get("perturbation") or BASELINE),
        )
        by_fields.setdefault(fields, []).append(row)
        text = row.get("slices")
        slices = parsed.get(text) if isinstance(text, str | None) else None
        if slices is None:
            slices = _slices(text, source)
            if isinstance(text, str | None):
                parsed[text] = slices
        for name, value in slices.items():
            column = slice_values.setdefault(name, [None] * len(universe))
            column[position[str(row["instance_id"])]] = value
    for (task, model, strategy, perturbation), members in by_fields.items():
        key = CellKey(suite.id, task, model, strategy, perturbation)
        grouped.setdefault(key, []).extend(members)
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
        cells[key] = _cell_rows(key, cell_rows, suite, position, source)
    return SuiteRows(suite, universe, cells, slice_values)


def _finite(values: list[Any]) -> np.ndarray:
    """finite_float of each value, at once (None and inf become NaN)."""
    array = np.array(values, dtype=np.float64)  # None -> NaN
    array[~np.isfinite(array)] = np.nan
    return array


def _cell_rows(
    key: CellKey,
    rows: list[dict[str, Any]],
    suite: SuiteInfo,
    position: dict[str, int],
    source: str,
) -> CellRows:
    item = np.array([position[str(r["instance_id"])] for r in rows], dtype=np.int64)
    repetition = np.array([int(r.get("repetition") or 0) for r in rows], dtype=np.int64)
    answer = [None if r.get("predicted_label") is None else str(r["predicted_label"]) for r in rows]
    error = np.array([r.get("error") is not None for r in rows], dtype=bool)
    speed = {c: _finite([r.get(c) for r in rows]) for c in SPEED_COLUMNS}
    where = f"{source} ({key.model}, {suite.id})"
    encoded = suite.kind.encode(rows, suite.labels, where)
    return CellRows(
        key,
        item,
        repetition,
        encoded.gold,
        encoded.pred,
        answer,
        encoded.confidence,
        encoded.probs,
        error,
        speed,
    )
