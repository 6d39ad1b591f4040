"""Run end: turn the ledger into `predictions_full.parquet` and `predictions.jsonl`.

For each planned call the last successful attempt wins; a call with no success is kept as a row
with its error, and a skipped call as a row with its reason (an unanswered item is a wrong
answer, never a dropped one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from puma.jsonio import dumps_line
from puma.outputs import write_files
from puma.predictions import BASELINE, FULL_SCHEMA
from puma.runfolder import RunFolder
from puma.runner.plan import CallKey, PlannedCall

SKIPPED_STATUS = "skipped"  # parse_status of a call not made: its prompt did not fit the context


def final_events(events: list[dict[str, Any]]) -> dict[CallKey, dict[str, Any]]:
    """The deciding ledger line of each call: its last success or skip, else its last attempt."""
    chosen: dict[CallKey, dict[str, Any]] = {}
    for event in events:
        if event.get("type") not in ("call", "skipped"):
            continue
        key = CallKey.of(event)
        previous = chosen.get(key)
        if previous is None or event["error"] is None or previous["error"] is not None:
            chosen[key] = event
    return chosen


def is_skipped(row: dict[str, Any]) -> bool:
    """A prediction row of a call that was not made (its prompt did not fit the context)."""
    return bool(row["parse_status"] == SKIPPED_STATUS)


def is_failed(row: dict[str, Any]) -> bool:
    """A prediction row of a call that failed after every retry."""
    return row["error"] is not None and not is_skipped(row)


def completed_keys(events: list[dict[str, Any]]) -> set[CallKey]:
    """Calls a resume must not repeat: answered, or skipped (the same prompt cannot fit)."""
    return {
        key
        for key, event in final_events(events).items()
        if event["error"] is None or event["type"] == "skipped"
    }


@dataclass(frozen=True)
class RowPlan:
    """What a prediction row takes from the plan rather than the ledger: the ledger records
    neither the gold answer nor the slice values."""

    key: CallKey
    task: str
    gold: str
    slices: str  # JSON object of slice values

    @classmethod
    def of(cls, planned: PlannedCall) -> RowPlan:
        return cls(planned.key, planned.suite.task, planned.gold, planned.slices)


def prediction_rows(
    run_id: str, strategy: str, plan: Iterable[RowPlan], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of predictions_full.parquet, in key order: every other column is the deciding
    ledger line's. The runner writes them; share-results and eval re-derive them to check."""
    decided = final_events(events)
    rows = []
    for planned in sorted(plan, key=lambda p: p.key.sort_key()):
        event = decided.get(planned.key)
        if event is None:  # never attempted (cannot happen after a completed execution)
            continue
        rows.append(
            {
                "run_id": run_id,
                "suite_id": planned.key.suite_id,
                "task": planned.task,
                "model": planned.key.model,
                "strategy": strategy,
                "phase": event["phase"],
                "perturbation": planned.key.perturbation,
                "repetition": planned.key.repetition,
                "instance_id": planned.key.instance_id,
                "gold": planned.gold,
                "slices": planned.slices,
                "prompt_hash": event["prompt_hash"],
                "output_text": event["output_text"],
                "parse_status": event["parse_status"],
                "predicted_label": event["parsed_label"],
                "predicted_value": event["predicted_value"],
                "label_probs": None
                if event["label_probs"] is None
                else json.dumps(event["label_probs"], sort_keys=True),
                "prompt_tokens": event["prompt_tokens"],
                "completion_tokens": event["completion_tokens"],
                "tokens_counted_locally": event["tokens_counted_locally"],
                "ttft_ms": event["ttft_ms"],
                "total_ms": event["total_ms"],
                "prompt_tps": event["prompt_tps"],
                "generation_tps": event["generation_tps"],
                "attempt": event["attempt"],
                "error": event["error"],
                "runtime_timings": json.dumps(event["runtime_timings"], sort_keys=True),
                "warnings": json.dumps(event["warnings"]),
                "seq": event["seq"],
            }
        )
    return rows


def canonical_predictions_text(rows: list[dict[str, Any]]) -> str:
    """predictions.jsonl: the baseline, first repetition, by suite, model and instance."""
    canonical = sorted(
        (r for r in rows if r["perturbation"] == BASELINE and r["repetition"] == 0),
        key=lambda r: (r["suite_id"], r["model"], r["instance_id"]),
    )
    lines = [
        dumps_line(
            {
                "instance_id": r["instance_id"],
                "predicted_label": r["predicted_label"],
                "predicted_value": r["predicted_value"],
                "prompt_hash": r["prompt_hash"],
                "suite_id": r["suite_id"],
                "model": r["model"],
            }
        )
        for r in canonical
    ]
    return "".join(line + "\n" for line in lines)


def write_predictions(
    folder: RunFolder,
    run_id: str,
    strategy: str,
    plan: list[PlannedCall],
    events: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Write both prediction files for every planned call; returns the full rows."""
    rows = prediction_rows(run_id, strategy, (RowPlan.of(p) for p in plan), events)
    parquet = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=FULL_SCHEMA), parquet)
    # Both files or neither: a fault (a full disk) leaves no pair that disagrees.
    write_files(
        {
            folder.predictions_full: parquet.getvalue().to_pybytes(),
            folder.predictions: canonical_predictions_text(rows),
        }
    )
    return rows
