"""Reading a run folder for scoring: its manifest and its predictions, as rows of FULL_SCHEMA.

Reads `predictions_full.parquet`, or `predictions.jsonl` plus the suite's gold (puma.suites) when
the parquet is absent. Never needs the model or the runtime. When the folder has a ledger, the
predictions must be what it says (see puma.runner.audit) before anything is scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puma.errors import InputFileError, SuiteError
from puma.evaluate.rows import SPEED_COLUMNS, SuiteInfo
from puma.hashing import sha256_hex
from puma.predictions import BASELINE
from puma.runfolder import RunFolder
from puma.runfolder.manifest import Manifest
from puma.runfolder.predictions import read_canonical, read_full_table
from puma.runner.audit import check_run_folder

# The columns scoring reads (output_text tells an empty answer from an unparsed one, for the
# warning of puma.answer_quality; runtime_timings gives metadata.json its cold and energy counts).
SCORED_COLUMNS = (
    "run_id",
    "suite_id",
    "task",
    "model",
    "strategy",
    "phase",
    "perturbation",
    "repetition",
    "instance_id",
    "gold",
    "slices",
    "output_text",
    "parse_status",
    "predicted_label",
    "predicted_value",
    "label_probs",
    "prompt_tokens",
    "completion_tokens",
    "tokens_counted_locally",
    *SPEED_COLUMNS,
    "error",
    "runtime_timings",
)
REQUIRED_COLUMNS = ("suite_id", "model", "instance_id", "gold", "predicted_label")


@dataclass
class LoadedRun:
    folder: RunFolder
    manifest: Manifest
    rows: list[dict[str, Any]]
    source: Path  # the predictions file the rows came from
    suites: dict[str, SuiteInfo]
    ledger_head: str | None = None  # the ledger's last hash, when the folder has a ledger

    def source_record(self) -> dict[str, str]:
        """What metrics.json records of its inputs, so a reader can tell a stale one."""
        record = {
            "run_id": self.manifest.run_id,
            "predictions": self.source.name,
            "predictions_sha256": file_sha256(self.source),
        }
        if self.ledger_head is not None:
            record["ledger_head"] = self.ledger_head
        return record


def file_sha256(path: Path) -> str:
    try:
        return sha256_hex(path.read_bytes())
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None


def suite_infos(manifest: Manifest) -> dict[str, SuiteInfo]:
    return {
        s.id: SuiteInfo(s.id, s.task, tuple(s.labels), s.version, s.content_hash)
        for s in manifest.suites
    }


def predictions_source(folder: RunFolder) -> Path | None:
    """The file a run's predictions are read from, or None when it has neither."""
    if folder.predictions_full.is_file():
        return folder.predictions_full
    if folder.predictions.is_file():
        return folder.predictions
    return None


def checked_ledger_head(folder: RunFolder) -> str | None:
    """The head of the run's ledger once the ledger verifies, the run has finished and both
    prediction files are what the ledger says (CheckFailed, exit 1, otherwise). None when the
    folder has no ledger: predictions made elsewhere have nothing to be checked against."""
    if not folder.ledger.is_file():
        return None
    return check_run_folder(folder, "not scored").report.last_hash


def load_run(folder: RunFolder) -> LoadedRun:
    """Manifest and prediction rows of a run folder; InputFileError when it has no predictions."""
    manifest = Manifest.load(folder)
    suites = suite_infos(manifest)
    source = predictions_source(folder)
    if source is None:
        raise InputFileError(
            "no predictions: neither predictions_full.parquet nor predictions.jsonl",
            where=str(folder.root),
            hint="a run writes its predictions when it ends; resume it with `puma run --resume`",
        )
    head = checked_ledger_head(folder)
    if source == folder.predictions_full:
        rows = read_full_predictions(source)
    else:
        rows = _rows_from_canonical(source, manifest, suites)
    return LoadedRun(folder, manifest, rows, source, suites, head)


def read_full_predictions(path: Path) -> list[dict[str, Any]]:
    table = read_full_table(path, SCORED_COLUMNS, required=REQUIRED_COLUMNS)
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _rows_from_canonical(
    path: Path, manifest: Manifest, suites: dict[str, SuiteInfo]
) -> list[dict[str, Any]]:
    """Rows from predictions.jsonl: gold comes from the suite itself, loaded via puma.suites; the
    file carries no timings, perturbations or repetitions."""
    from puma.suites import load_suite

    slice_fields = _slice_fields(manifest)
    loaded: dict[str, Any] = {}
    rows = []
    for lineno, record in read_canonical(path):
        where = f"{path}:{lineno}"
        for name in ("suite_id", "model"):
            if getattr(record, name) is None:
                raise InputFileError(f"missing or non-text {name!r}", where=where)
        suite_id, model = str(record.suite_id), str(record.model)
        if suite_id not in suites:
            raise InputFileError(f"suite {suite_id!r} is not in the manifest", where=where)
        if suite_id not in loaded:
            loaded[suite_id] = load_suite(suite_id)  # a SuiteError names what is wrong
            declared = suites[suite_id].content_hash
            if declared and loaded[suite_id].content_hash != declared:
                raise SuiteError(
                    f"suite {suite_id!r} on this machine is not the one the run used "
                    f"(content hash {loaded[suite_id].content_hash[:12]} vs {declared[:12]})",
                    where=str(RunFolder(path.parent).manifest),
                    hint="install the PUMA version that ran it, or re-run the suite",
                )
        items = loaded[suite_id].item_by_id()
        item = items.get(record.instance_id)
        if item is None:
            raise InputFileError(
                f"instance {record.instance_id!r} is not in suite {suite_id!r}", where=where
            )
        slices = {
            f: str(item[f]) for f in slice_fields.get(suite_id, []) if item.get(f) is not None
        }
        label = record.predicted_label
        rows.append(
            {
                "run_id": manifest.run_id,
                "suite_id": suite_id,
                "task": suites[suite_id].task,
                "model": model,
                "strategy": manifest.strategy,
                "phase": "predict",
                "perturbation": BASELINE,
                "repetition": 0,
                "instance_id": record.instance_id,
                "gold": str(item["gold"]),
                "slices": slices or None,
                "parse_status": "ok" if label is not None else "unparsed",
                "predicted_label": None if label is None else str(label),
                "predicted_value": record.predicted_value,
                "label_probs": None,
                "error": None,
            }
        )
    return rows


def _slice_fields(manifest: Manifest) -> dict[str, list[str]]:
    """Slice fields per suite id, from the resolved spec's suites[].slices."""
    out: dict[str, list[str]] = {}
    for entry in manifest.spec.get("suites", []) or []:
        if isinstance(entry, dict) and entry.get("slices"):
            out[str(entry.get("id"))] = [str(f) for f in entry["slices"]]
    return out
