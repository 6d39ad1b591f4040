"""Run end: turn the ledger into `predictions_full.parquet` and `predictions.jsonl`.

For each planned call the last successful attempt wins; a call with no success is kept as a row
with its error, and a skipped call as a row with its reason (an unanswered item is a wrong
answer, never a dropped one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from puma.runfolder import RunFolder
from puma.runfolder.ledger import CallRecord, LedgerEvent, SkippedEvent
from puma.runfolder.predictions import FullRow, write_predictions
from puma.runner.plan import CallKey, PlannedCall

SKIPPED_STATUS = "skipped"  # parse_status of a call not made: its prompt did not fit the context


def call_key(event: CallRecord) -> CallKey:
    return CallKey(
        event.suite_id, event.model, event.perturbation, event.repetition, event.instance_id
    )


def final_events(events: Iterable[LedgerEvent]) -> dict[CallKey, CallRecord]:
    """The deciding ledger line of each call: its last success or skip, else its last attempt."""
    chosen: dict[CallKey, CallRecord] = {}
    for event in events:
        if not isinstance(event, CallRecord):
            continue
        key = call_key(event)
        previous = chosen.get(key)
        if previous is None or event.error is None or previous.error is not None:
            chosen[key] = event
    return chosen


def is_skipped(row: dict[str, Any]) -> bool:
    """A prediction row of a call that was not made (its prompt did not fit the context)."""
    return bool(row["parse_status"] == SKIPPED_STATUS)


def is_failed(row: dict[str, Any]) -> bool:
    """A prediction row of a call that failed after every retry."""
    return row["error"] is not None and not is_skipped(row)


def completed_keys(events: Iterable[LedgerEvent]) -> set[CallKey]:
    """Calls a resume must not repeat: answered, or skipped (the same prompt cannot fit)."""
    return {
        key
        for key, event in final_events(events).items()
        if event.error is None or isinstance(event, SkippedEvent)
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
    run_id: str, strategy: str, plan: Iterable[RowPlan], events: Iterable[LedgerEvent]
) -> list[FullRow]:
    """The rows of predictions_full.parquet, in key order: every other column is the deciding
    ledger line's. The runner writes them; share-results and eval re-derive them to check."""
    decided = final_events(events)
    rows = []
    for planned in sorted(plan, key=lambda p: p.key.sort_key()):
        event = decided.get(planned.key)
        if event is None:  # never attempted (cannot happen after a completed execution)
            continue
        rows.append(
            FullRow.of_event(
                event,
                run_id=run_id,
                task=planned.task,
                strategy=strategy,
                gold=planned.gold,
                slices=planned.slices,
            )
        )
    return rows


def write_run_predictions(
    folder: RunFolder,
    run_id: str,
    strategy: str,
    plan: list[PlannedCall],
    events: list[LedgerEvent],
) -> list[dict[str, Any]]:
    """Write both prediction files for every planned call; returns the full rows."""
    rows = prediction_rows(run_id, strategy, (RowPlan.of(p) for p in plan), events)
    write_predictions(folder, rows)
    return [row.model_dump() for row in rows]
