"""metadata.json: plain aggregates per (cell_id, phase) of a run's calls, for the catalogue.

A cell is a device and a model (cell_id = "<device_tag>/<model>"); a phase is what the runner
was doing (benchmark items are "predict"). Reads prediction rows, no resampling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from puma.evaluate.rows import SPEED_COLUMNS
from puma.runfolder.metrics import METADATA_SCHEMA, MetadataDocument
from puma.stats.intervals import clean_float


def cell_id(device_tag: str, model: str) -> str:
    """The catalogue's cell: one device running one model."""
    return f"{device_tag}/{model}"


def _figures(values: list[float | None]) -> dict[str, float | int | None]:
    data = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if data.size == 0:
        return {
            "n": 0,
            "mean": None,
            "p50": None,
            "p90": None,
            "p99": None,
            "min": None,
            "max": None,
        }
    p50, p90, p99 = np.quantile(data, [0.5, 0.9, 0.99])
    return {
        "n": int(data.size),
        "mean": clean_float(float(data.mean())),
        "p50": clean_float(float(p50)),
        "p90": clean_float(float(p90)),
        "p99": clean_float(float(p99)),
        "min": clean_float(float(data.min())),
        "max": clean_float(float(data.max())),
    }


def build_metadata(
    rows: Sequence[dict[str, Any]],
    *,
    run_id: str,
    device_tag: str,
    submitter: str | None,
    suites: Sequence[str],
) -> dict[str, Any]:
    """Aggregates per (cell_id, phase): calls, errors, token totals and timing figures (over
    successful calls only)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((str(row["model"]), str(row.get("phase") or "predict")), []).append(row)
    aggregates = []
    for model, phase in sorted(groups):
        members = groups[(model, phase)]
        ok = [r for r in members if r.get("error") is None]
        errors = len(members) - len(ok)
        aggregates.append(
            {
                "cell_id": cell_id(device_tag, model),
                "device_tag": device_tag,
                "model": model,
                "phase": phase,
                "n_calls": len(members),
                "n_errors": errors,
                "error_rate": clean_float(errors / len(members)) if members else None,
                "prompt_tokens": int(sum(r.get("prompt_tokens") or 0 for r in members)),
                "completion_tokens": int(sum(r.get("completion_tokens") or 0 for r in members)),
                "tokens_counted_locally": any(
                    bool(r.get("tokens_counted_locally")) for r in members
                ),
                "timings": {c: _figures([r.get(c) for r in ok]) for c in SPEED_COLUMNS},
            }
        )
    document = {
        "schema_version": METADATA_SCHEMA,
        "run_id": run_id,
        "device_tag": device_tag,
        "submitter": submitter,
        "models": sorted({str(r["model"]) for r in rows}),
        "suites": sorted(suites),
        "aggregates": aggregates,
    }
    MetadataDocument.model_validate(document)
    return document
