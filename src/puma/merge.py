"""Merging many run folders or sweep shards into one evaluation: DIR/merged/metrics.json and
report.html, with every model compared with every other on the same suite.

Each shard must hand back its predictions; a missing one fails loudly unless allowed. The same
(model, strategy, perturbation, instance, repetition) in two runs (e.g. two seeds) becomes two
repetitions of that item, so the bootstrap still resamples items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from puma.answer_quality import unusable_answer_warnings
from puma.errors import CheckFailed, InputFileError
from puma.evaluate import metrics_document
from puma.evaluate.loading import load_run, predictions_source
from puma.evaluate.rows import SuiteInfo, group_rows
from puma.evaluate.scoring import ScoringOptions, score_suites
from puma.jsonio import dump_pretty, dumps_canonical
from puma.outputs import prepare_output_folder, write_files
from puma.predictions import BASELINE
from puma.runfolder import RunFolder, find_run_folders
from puma.runfolder.manifest import Manifest
from puma.sweep.model import SHARD_RECORD
from puma.sweep.record import ShardRecord, file_digest

MERGED_DIR = "merged"


@dataclass(frozen=True)
class MergeResult:
    output: Path
    metrics_path: Path
    report_path: Path
    runs: list[str]
    skipped: list[str]
    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)  # shards that ran in different setups


def _merge_suite(known: dict[str, SuiteInfo], suite: SuiteInfo, where: str) -> None:
    other = known.setdefault(suite.id, suite)
    if (other.task, other.labels) != (suite.task, suite.labels) or (
        other.content_hash and suite.content_hash and other.content_hash != suite.content_hash
    ):
        raise InputFileError(
            f"suite {suite.id!r} differs from the same suite in another run "
            "(task, labels or content hash)",
            where=where,
            hint="merge only runs of the same suite version",
        )


def merge_runs(
    root: Path, options: ScoringOptions | None = None, *, allow_missing: bool = False
) -> MergeResult:
    """Score every run folder under root together and write root/merged/."""
    from puma.report import render_report

    options = options or ScoringOptions()
    root = Path(root)
    try:
        is_dir = root.is_dir()
    except OSError as exc:  # a name too long, a loop of links
        raise InputFileError(f"cannot open: {exc.strerror}", where=str(root)) from None
    if not is_dir:
        raise InputFileError("no such folder", where=str(root))
    output = root / MERGED_DIR
    folders = [f for f in find_run_folders(root) if output not in f.root.parents]
    if not folders:
        raise InputFileError(
            f"no run folders (folders with a {RunFolder.MANIFEST}) under this folder",
            where=str(root),
        )
    for folder in folders:  # another tool's manifest.json is bad input (2), not a missing shard
        Manifest.load(folder)
    missing = [f for f in folders if predictions_source(f) is None]
    if missing and not allow_missing:
        names = ", ".join(str(f.root) for f in missing)
        raise CheckFailed(
            f"{len(missing)} run folder(s) have no predictions: {names}",
            where=str(root),
            hint="every shard must hand back predictions_full.parquet; "
            "--allow-missing merges the others",
        )
    for folder in folders:
        if folder not in missing:
            _verify_shard(folder)
    prepare_output_folder(output)  # a read-only or full disk fails before the resampling
    suites: dict[str, SuiteInfo] = {}
    rows: list[dict[str, Any]] = []
    sources = []
    taken = _Taken()
    for folder in folders:
        if folder in missing:
            continue
        run = load_run(folder)
        for suite in run.suites.values():
            _merge_suite(suites, suite, str(folder.manifest))
        rows.extend(_renumber(run.rows, taken))
        sources.append(
            {**run.source_record(), "predictions": run.source.relative_to(root).as_posix()}
        )
    grouped = group_rows(rows, suites, str(root))
    if not grouped:
        raise InputFileError("no benchmark predictions (phase 'predict') to score", where=str(root))
    scores = score_suites(grouped, options)
    skipped = [{"path": f.root.relative_to(root).as_posix()} for f in missing]
    document = metrics_document("merged", scores, options, sources, skipped)
    merged = RunFolder(output)  # holds the evaluation's files, not a run
    metrics_path, report_path = merged.metrics, merged.report
    title = f"PUMA merged evaluation — {len(sources)} run(s)"
    html = render_report(
        document, scores.speed_samples, title=title, warnings=unusable_answer_warnings(rows)
    )
    write_files({metrics_path: dump_pretty(document), report_path: html})
    return MergeResult(
        output,
        metrics_path,
        report_path,
        [s["run_id"] for s in sources],
        [s["path"] for s in skipped],
        document,
        provenance_warnings(root, [f for f in folders if f not in missing]),
    )


def _verify_shard(folder: RunFolder) -> None:
    """A sweep shard's files must be the bytes its shard.json records (a plain run has none)."""
    record_path = folder.root / SHARD_RECORD
    if not record_path.is_file():
        return
    record = ShardRecord.load(record_path)
    for name, digest in sorted(record.files.items()):
        path = folder.root / name
        if path.is_file() and file_digest(path) != digest:
            raise CheckFailed(
                f"shard {record.shard[:12]}: {name} does not match its {SHARD_RECORD} (SHA-256)",
                where=str(path),
                hint=f"`puma sweep run FILE --only {record.shard[:12]}` runs it again",
            )


def provenance_warnings(root: Path, folders: list[RunFolder]) -> list[str]:
    """One warning per setting in which the shards differ: Python version, package versions,
    runtime build, and, among shards of the same model, the model digest. Read from each
    shard's shard.json (sweep shards), else its manifest (plain runs)."""
    seen: dict[str, dict[str, list[str]]] = {}

    def note(what: str, value: Any, folder: RunFolder) -> None:
        text = dumps_canonical(value)
        seen.setdefault(what, {}).setdefault(text, []).append(
            folder.root.relative_to(root).as_posix()
        )

    for folder in folders:
        record_path = folder.root / SHARD_RECORD
        manifest = Manifest.load(folder)
        if record_path.is_file():
            record = ShardRecord.load(record_path)
            note("Python version", record.python, folder)
            for name, version in sorted(record.packages.items()):
                note(f"package {name}", version, folder)
            note("runtime build", record.runtime, folder)
            digest: str | None = record.model_digest
        else:
            note("Python version", manifest.platform.get("python"), folder)
            note(
                "runtime build", {k: manifest.runtime.get(k) for k in ("version", "build")}, folder
            )
            digest = manifest.models[0].digest if manifest.models else None
        for model in manifest.models:
            note(f"model digest of {model.name}", digest, folder)
    warnings = []
    for what, values in seen.items():
        if len(values) > 1:
            groups = "; ".join(
                f"{json.loads(value)!s} in {', '.join(paths[:3])}"
                + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
                for value, paths in sorted(values.items())
            )
            warnings.append(f"shards differ in {what}: {groups}")
    return warnings


@dataclass
class _Taken:
    """Repetitions already taken per (suite, model, strategy, perturbation, instance), and the
    highest of them all (kept as they are added: 1,000 shards ask for it 1,000 times)."""

    reps: dict[tuple[str, str, str, str, str], set[int]] = field(default_factory=dict)
    highest: int = -1


def _renumber(rows: list[dict[str, Any]], taken: _Taken) -> list[dict[str, Any]]:
    """Rows of one run; where another run already holds the same call, move this run's
    repetitions past the ones taken (two seeds of one model are repetitions of its items)."""

    def key(r: dict[str, Any]) -> tuple[str, str, str, str, str]:
        return (
            str(r["suite_id"]),
            str(r["model"]),
            str(r.get("strategy") or "zero-shot"),
            str(r.get("perturbation") or BASELINE),
            str(r["instance_id"]),
        )

    keys = [key(r) for r in rows]
    clash = any(
        int(r.get("repetition") or 0) in taken.reps.get(k, ())
        for r, k in zip(rows, keys, strict=True)
    )
    offset = 1 + taken.highest if clash else 0
    out = []
    for r, k in zip(rows, keys, strict=True):
        repetition = int(r.get("repetition") or 0) + offset
        taken.reps.setdefault(k, set()).add(repetition)
        taken.highest = max(taken.highest, repetition)
        same = r.get("repetition") == repetition and isinstance(r.get("repetition"), int)
        out.append(r if same else {**r, "repetition": repetition})
    return out
