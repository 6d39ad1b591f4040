"""Is a run folder what its ledger says? The ledger's chain and seal, and both prediction files
re-derived from the ledger with the runner's own code (`prediction_rows`) and compared.

Reads manifest.json, run.jsonl, predictions_full.parquet and predictions.jsonl; writes nothing.
Used by `run --resume`, `ledger verify`, `eval` and `share-results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puma.errors import CheckFailed, InputFileError
from puma.runfolder import RunFolder
from puma.runfolder.ledger import LedgerEvent, LedgerVerdict, judge_ledger, read_ledger
from puma.runfolder.manifest import Manifest
from puma.runfolder.predictions import (
    FULL_SCHEMA,
    FullRow,
    canonical_predictions_text,
    read_full_table,
)
from puma.runner.finalize import RowPlan, final_events, prediction_rows
from puma.runner.plan import CallKey


def verify_run_ledger(folder: RunFolder) -> LedgerVerdict:
    """The run's ledger judged against the seal its manifest records."""
    if folder.ledger.is_dir():
        raise InputFileError(
            "run.jsonl (the ledger) is a folder, not a file", where=str(folder.ledger)
        )
    if not folder.ledger.is_file():
        raise InputFileError("run.jsonl (the ledger) is missing", where=str(folder.ledger))
    return judge_ledger(folder.ledger, Manifest.load(folder).ledger_seal)


def raise_if_broken(verdict: LedgerVerdict, folder: RunFolder, doing: str) -> None:
    """CheckFailed (exit 1) naming the first bad line, when the chain or the seal says no."""
    if verdict.ok:
        return
    where = f"{folder.ledger}:{verdict.line}" if verdict.line else str(folder.ledger)
    raise CheckFailed(
        f"{doing}: {verdict.message}",
        where=where,
        hint=f"`puma ledger verify {folder.root}` shows it; restore run.jsonl and manifest.json "
        "from a copy, or start a new run",
    )


def require_finished(verdict: LedgerVerdict, folder: RunFolder, doing: str) -> None:
    """InputFileError (exit 2) for a run that has not finished: resume it (that seals it)."""
    raise_if_broken(verdict, folder, doing)
    if not verdict.finished:
        raise InputFileError(
            f"{doing}: the run has not finished: {verdict.message}",
            where=str(folder.ledger),
            hint=f"finish it with `puma run --resume {folder.root}`",
        )


@dataclass(frozen=True)
class Mismatch:
    path: Path
    line: int | None  # predictions.jsonl line; None for the parquet
    what: str


def check_run_folder(folder: RunFolder, doing: str) -> LedgerVerdict:
    """The verdict on a run whose ledger verifies, which has finished, and whose two prediction
    files are what the ledger gives; CheckFailed (exit 1) or InputFileError (exit 2) otherwise.
    `doing` starts each message ("not scored", "not packaged")."""
    verdict = verify_run_ledger(folder)
    require_finished(verdict, folder, doing)
    check_predictions(folder)
    return verdict


def check_predictions(folder: RunFolder) -> None:
    """CheckFailed naming the first difference unless predictions_full.parquet and
    predictions.jsonl are exactly what the ledger gives. Call on a finished, unbroken ledger."""
    manifest = Manifest.load(folder)
    events = read_ledger(folder.ledger).events
    actual = _read_parquet_rows(folder.predictions_full)
    expected = _derive(manifest, events, actual)
    mismatch = _parquet_mismatch(folder.predictions_full, expected, actual)
    if mismatch is None:
        mismatch = _jsonl_mismatch(folder.predictions, canonical_predictions_text(expected))
    if mismatch is None:
        return
    where = f"{mismatch.path}:{mismatch.line}" if mismatch.line else str(mismatch.path)
    raise CheckFailed(
        f"{mismatch.path.name} is not what the ledger says: {mismatch.what}",
        where=where,
        hint=f"the file was edited or replaced after the run wrote it; `puma run --resume "
        f"{folder.root}` writes both prediction files again from the ledger",
    )


def _read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa

    table = read_full_table(path)
    if table.schema.names != FULL_SCHEMA.names:
        raise CheckFailed(
            "its columns are not those the runner writes (puma.runfolder.predictions.FULL_SCHEMA)",
            where=str(path),
        )
    try:
        table = table.cast(FULL_SCHEMA)
    except (pa.ArrowException, ValueError) as exc:
        raise CheckFailed(f"a column has the wrong type: {exc}", where=str(path)) from None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _key(row: dict[str, Any]) -> CallKey:
    return CallKey.of(row)


def _derive(
    manifest: Manifest, events: list[LedgerEvent], actual: list[dict[str, Any]]
) -> list[FullRow]:
    """The rows the runner would write. The gold and slices are not in the ledger: they are taken
    from the parquet itself (`verify-hash --rescore` checks gold against the suite)."""
    tasks = {s.id: s.task for s in manifest.suites}
    by_key = {_key(row): row for row in actual}
    plan = []
    for key in final_events(events):
        if key.suite_id not in tasks:
            continue  # a speed phase's call: its figures are in speed.json, not the predictions
        row = by_key.get(key)
        plan.append(
            RowPlan(
                key,
                tasks.get(key.suite_id, ""),
                "" if row is None else row["gold"],
                "" if row is None else row["slices"],
            )
        )
    return prediction_rows(manifest.run_id, manifest.strategy, plan, events)


def _parquet_mismatch(
    path: Path, derived: list[FullRow], actual: list[dict[str, Any]]
) -> Mismatch | None:
    import pyarrow as pa

    # Through the parquet schema and back, so both sides hold the same Python types.
    dumped = [row.model_dump() for row in derived]
    expected = pa.Table.from_pylist(dumped, schema=FULL_SCHEMA).to_pylist()
    got = {_key(row): row for row in actual}
    if len(got) != len(actual):
        return Mismatch(path, None, "a call appears in two rows")
    for row in expected:
        key = _key(row)
        other = got.pop(key, None)
        if other is None:
            return Mismatch(
                path, None, f"no row for {_describe(key)} (ledger line {row['seq'] + 1})"
            )
        for column in FULL_SCHEMA.names:
            if other[column] != row[column]:
                return Mismatch(
                    path,
                    None,
                    f"{_describe(key)}: {column} is {other[column]!r}, the ledger says "
                    f"{row[column]!r} (line {row['seq'] + 1})",
                )
    if got:
        return Mismatch(path, None, f"row {_describe(next(iter(got)))} has no call in the ledger")
    return None


def _jsonl_mismatch(path: Path, expected: str) -> Mismatch | None:
    if not path.is_file():
        raise InputFileError("predictions.jsonl is missing", where=str(path))
    try:
        actual = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None
    if actual == expected.encode("utf-8"):
        return None
    want = expected.encode("utf-8").splitlines(keepends=True)
    have = actual.splitlines(keepends=True)
    for lineno, (a, b) in enumerate(zip(have, want, strict=False), start=1):
        if a != b:
            shown = a.decode("utf-8", "replace").rstrip("\n")[:200]
            given = b.decode("utf-8").rstrip("\n")
            return Mismatch(path, lineno, f"the line reads {shown}, the ledger gives {given}")
    return Mismatch(
        path, None, f"{len(have)} lines, the ledger gives {len(want)} (lines removed or added)"
    )


def _describe(key: CallKey) -> str:
    text = f"{key.suite_id} / {key.model} / {key.instance_id}"
    if key.perturbation != "none" or key.repetition:
        text += f" ({key.perturbation}, repetition {key.repetition})"
    return text
