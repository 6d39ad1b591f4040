"""The prediction files of a run, written by the runner at run end from the ledger:

- `predictions_full.parquet`: one `FullRow` per final call, columns FULL_SCHEMA;
- `predictions.jsonl`: one `CanonicalRow` per baseline item (first repetition), the file whose
  first four columns (CANONICAL_COLUMNS) the predictions hash covers, as PUMA 4.0 defines them.

The ledger calls the predicted label `parsed_label` (what the parser made of the answer); both
prediction files call it `predicted_label`. Each name is part of its file's format (PUMA 4.0's
tooling and the predictions hash read `predicted_label`), so neither changes: `FullRow.of_event`
is the one place that maps a ledger line onto a row. JSON-valued columns of the parquet
(`slices`, `label_probs`, `runtime_timings`, `warnings`) hold their JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from puma.errors import InputFileError
from puma.jsonio import dumps_line, first_problem, iter_jsonl
from puma.outputs import write_files
from puma.predictions import BASELINE
from puma.runfolder.folder import RunFolder
from puma.runfolder.ledger import CallRecord, Number

# One row per final call: (suite_id, model, perturbation, repetition, instance_id) is unique.
FULL_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("suite_id", pa.string()),
        ("task", pa.string()),  # triage | estimation | prioritization
        ("model", pa.string()),
        ("strategy", pa.string()),
        ("phase", pa.string()),  # "predict" for benchmark items
        ("perturbation", pa.string()),  # "none" for the baseline
        ("repetition", pa.int32()),
        ("instance_id", pa.string()),
        ("gold", pa.string()),  # canonical text: "Major", "5", "A"
        ("slices", pa.string()),  # JSON object of slice field -> value, e.g. {"project":"HDFS"}
        ("prompt_hash", pa.string()),
        ("output_text", pa.string()),
        ("parse_status", pa.string()),  # ok | fuzzy | unparsed | error (the call failed)
        ("predicted_label", pa.string()),  # canonical; null when unparsed or failed
        ("predicted_value", pa.float64()),  # triage: label probability; estimation: estimate
        ("label_probs", pa.string()),  # JSON object label -> probability, or null
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("tokens_counted_locally", pa.bool_()),
        ("ttft_ms", pa.float64()),
        ("total_ms", pa.float64()),
        ("prompt_tps", pa.float64()),
        ("generation_tps", pa.float64()),
        ("attempt", pa.int32()),
        ("error", pa.string()),
        ("runtime_timings", pa.string()),  # JSON object of the runtime's own figures
        ("warnings", pa.string()),  # JSON list of strings
        ("seq", pa.int64()),  # the ledger line this row came from
    ]
)

CANONICAL_COLUMNS = ("instance_id", "predicted_label", "predicted_value", "prompt_hash")


class FullRow(BaseModel):
    """A row of predictions_full.parquet; fields in FULL_SCHEMA's order. Numbers keep their
    type (an estimate of 3 stays 3), since predictions.jsonl is written from these rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    run_id: str
    suite_id: str
    task: str
    model: str
    strategy: str
    phase: str
    perturbation: str
    repetition: int
    instance_id: str
    gold: str
    slices: str | None = None
    prompt_hash: str | None = None
    output_text: str | None = None
    parse_status: str | None = None
    predicted_label: str | None = None
    predicted_value: Number | None = None
    label_probs: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_counted_locally: bool | None = None
    ttft_ms: Number | None = None
    total_ms: Number | None = None
    prompt_tps: Number | None = None
    generation_tps: Number | None = None
    attempt: int | None = None
    error: str | None = None
    runtime_timings: str | None = None
    warnings: str | None = None
    seq: int | None = None

    @classmethod
    def of_event(
        cls, event: CallRecord, *, run_id: str, task: str, strategy: str, gold: str, slices: str
    ) -> FullRow:
        """The row of the call this ledger line decided (its last success, skip or attempt)."""
        return cls.model_construct(
            run_id=run_id,
            suite_id=event.suite_id,
            task=task,
            model=event.model,
            strategy=strategy,
            phase=event.phase,
            perturbation=event.perturbation,
            repetition=event.repetition,
            instance_id=event.instance_id,
            gold=gold,
            slices=slices,
            prompt_hash=event.prompt_hash,
            output_text=event.output_text,
            parse_status=event.parse_status,
            predicted_label=event.parsed_label,
            predicted_value=event.predicted_value,
            label_probs=None
            if event.label_probs is None
            else json.dumps(event.label_probs, sort_keys=True),
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
            tokens_counted_locally=event.tokens_counted_locally,
            ttft_ms=event.ttft_ms,
            total_ms=event.total_ms,
            prompt_tps=event.prompt_tps,
            generation_tps=event.generation_tps,
            attempt=event.attempt,
            error=event.error,
            runtime_timings=json.dumps(event.runtime_timings, sort_keys=True),
            warnings=json.dumps(event.warnings),
            seq=event.seq,
        )


class CanonicalRow(BaseModel):
    """A line of predictions.jsonl, in its byte order. suite_id and model may be absent in a
    PUMA 4.0 file (one suite, one model); PUMA writes them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    instance_id: str
    predicted_label: str | Number | None  # PUMA writes text; a PUMA 4.0 file may hold a number
    predicted_value: Number | None
    prompt_hash: str | None
    suite_id: str | None = None
    model: str | None = None

    @classmethod
    def of(cls, row: FullRow) -> CanonicalRow:
        return cls.model_construct(
            instance_id=row.instance_id,
            predicted_label=row.predicted_label,
            predicted_value=row.predicted_value,
            prompt_hash=row.prompt_hash,
            suite_id=row.suite_id,
            model=row.model,
        )


_CANONICAL_FIELDS = tuple(CanonicalRow.model_fields)


def canonical_predictions_text(rows: Iterable[FullRow]) -> str:
    """predictions.jsonl: the baseline, first repetition, by suite, model and instance."""
    canonical = sorted(
        (r for r in rows if r.perturbation == BASELINE and r.repetition == 0),
        key=lambda r: (r.suite_id, r.model, r.instance_id),
    )
    return canonical_jsonl(CanonicalRow.of(r) for r in canonical)


def canonical_jsonl(rows: Iterable[CanonicalRow]) -> str:
    """The lines of predictions.jsonl, in the order given."""
    return "".join(dumps_line(row.model_dump()) + "\n" for row in rows)


def read_full_table(
    path: Path, columns: Sequence[str] | None = None, *, required: Sequence[str] = ()
) -> pa.Table:
    """predictions_full.parquet as a table: the columns asked for that the file has (all when
    None). InputFileError when the file is missing or unreadable, or lacks a required column."""
    if not path.is_file():
        raise InputFileError(f"{path.name} is missing", where=str(path))
    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException) as exc:
        raise InputFileError(f"not a readable parquet file: {exc}", where=str(path)) from None
    missing = [c for c in required if c not in names]
    if missing:
        raise InputFileError(
            f"missing column(s) {', '.join(missing)}",
            where=str(path),
            hint="predictions_full.parquet follows puma.runfolder.predictions.FULL_SCHEMA",
        )
    wanted = None if columns is None else [c for c in columns if c in names]
    try:
        return pq.read_table(path, columns=wanted)
    except (OSError, pa.ArrowException) as exc:
        raise InputFileError(f"cannot read parquet: {exc}", where=str(path)) from None


def read_canonical(path: Path) -> Iterator[tuple[int, CanonicalRow]]:
    """(line number, row) for each line of a predictions.jsonl; an InputFileError names the
    line and the field of a row that is not one."""
    for lineno, obj in iter_jsonl(path):
        try:
            yield lineno, CanonicalRow.model_validate(obj)
        except ValidationError as exc:
            raise InputFileError(first_problem(exc), where=f"{path}:{lineno}") from None


def full_predictions_bytes(rows: Iterable[FullRow]) -> bytes:
    parquet = pa.BufferOutputStream()
    table = pa.Table.from_pylist([r.model_dump() for r in rows], schema=FULL_SCHEMA)
    pq.write_table(table, parquet)
    return bytes(parquet.getvalue().to_pybytes())


def write_predictions_table(folder: RunFolder, table: pa.Table) -> None:
    """Both prediction files from a FULL_SCHEMA table (predictions made elsewhere: `puma
    import`, where a row-by-row model would cost more than the rest of the import). The
    predicted values of such rows are floats, so predictions.jsonl reads as write_predictions
    would write it."""
    table = table.cast(FULL_SCHEMA)
    baseline = [
        r
        for r in table.select(["perturbation", "repetition", *_CANONICAL_FIELDS]).to_pylist()
        if r["perturbation"] == BASELINE and r["repetition"] == 0
    ]
    baseline.sort(key=lambda r: (r["suite_id"], r["model"], r["instance_id"]))
    text = "".join(
        dumps_line({name: r[name] for name in _CANONICAL_FIELDS}) + "\n" for r in baseline
    )
    parquet = pa.BufferOutputStream()
    pq.write_table(table, parquet)
    write_files(
        {folder.predictions_full: bytes(parquet.getvalue().to_pybytes()), folder.predictions: text}
    )


def write_predictions(folder: RunFolder, rows: list[FullRow]) -> None:
    """Write both prediction files; both or neither, so a fault (a full disk) leaves no pair
    that disagrees."""
    write_files(
        {
            folder.predictions_full: full_predictions_bytes(rows),
            folder.predictions: canonical_predictions_text(rows),
        }
    )
