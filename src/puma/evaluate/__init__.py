"""Predictions-only evaluation: a run folder's predictions -> metrics.json, metadata.json and
report.html, deterministically from a seed, without the model or the runtime.

Public: `evaluate_run`, `ScoringOptions`, `read_metrics`, `read_metadata`, `checked_cells`.
metrics.json records the SHA-256 of the predictions file it was computed from and the ledger's
head, so a stale one (an eval killed before its first write, or predictions changed since) is
told apart from a current one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puma.answer_quality import unusable_answer_warnings
from puma.errors import CheckFailed, InputFileError
from puma.evaluate.loading import LoadedRun, file_sha256, load_run
from puma.evaluate.metadata import metadata_of_run
from puma.evaluate.rows import group_rows
from puma.evaluate.scoring import Scores, ScoringOptions, score_suites
from puma.jsonio import dump_pretty, dumps_canonical
from puma.outputs import prepare_output_folder, write_files
from puma.runfolder import RunFolder
from puma.runfolder.metadata import metadata_bytes, read_metadata
from puma.runfolder.metrics import METRICS_SCHEMA, MetricsDocument, read_metrics

__all__ = [
    "EvaluationResult",
    "ScoringOptions",
    "checked_cells",
    "evaluate_run",
    "read_metadata",
    "read_metrics",
]


@dataclass(frozen=True)
class EvaluationResult:
    metrics_path: Path
    metadata_path: Path | None
    report_path: Path
    document: dict[str, Any]
    warnings: tuple[str, ...] = ()  # suites with many answers without a label (answer_quality)


def metrics_document(
    run_id: str,
    scores: Scores,
    options: ScoringOptions,
    sources: list[dict[str, str]],
    skipped: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The metrics-1.0 document, validated against its schema before anyone writes it."""
    document = {
        "schema_version": METRICS_SCHEMA,
        "run_id": run_id,
        "seed": options.seed,
        "resamples": options.resamples,
        "permutations": options.permutations,
        "level": options.level,
        "interval_method": options.method,
        "sources": sources,
        "cells": scores.cells,
        "comparisons": scores.comparisons,
        "robustness": scores.robustness,
        "fairness": scores.fairness,
        "skipped": skipped or [],
    }
    MetricsDocument.model_validate(document)
    return document


def score_run(run: LoadedRun, options: ScoringOptions) -> Scores:
    suites = group_rows(run.rows, run.suites, str(run.source))
    if not suites:
        raise InputFileError(
            "no benchmark predictions (phase 'predict') to score", where=str(run.source)
        )
    return score_suites(suites, options)


def evaluate_run(
    run_dir: Path, options: ScoringOptions | None = None, *, plots: bool = True
) -> EvaluationResult:
    """Score one run folder and write its metrics.json, metadata.json and report.html (with
    figures unless `plots` is off)."""
    from puma.report import render_report

    options = options or ScoringOptions()
    folder = RunFolder.open(Path(run_dir))
    prepare_output_folder(folder.root)  # a read-only run folder fails before the resampling
    run = load_run(folder)
    scores = score_run(run, options)
    sources = [run.source_record()]
    document = metrics_document(run.manifest.run_id, scores, options, sources)
    metadata = metadata_of_run(folder, run.manifest, run.rows, run.suites)
    warnings = tuple(unusable_answer_warnings(run.rows))
    html = render_report(
        document,
        scores.speed_samples,
        title=f"PUMA evaluation — run {run.manifest.run_id}",
        warnings=warnings,
        plots_wanted=plots,
    )
    # The three files are one result: a fault leaves the previous three, never a mix.
    write_files(
        {
            folder.metrics: dump_pretty(document),
            folder.metadata: metadata_bytes(metadata),
            folder.report: html,
        }
    )
    return EvaluationResult(folder.metrics, folder.metadata, folder.report, document, warnings)


def checked_cells(folder: RunFolder, suite_id: str, model: str) -> list[dict[str, Any]]:
    """The cells of metrics.json for one suite and model, once metrics.json is shown to be what
    the run's predictions give: computed from the predictions file now in the folder (its SHA-256
    and the ledger head it records), and the same numbers when scored again with its own seed and
    options. CheckFailed (exit 1) names what differs; the remedy is `puma eval RUN_DIR`."""
    document = read_metrics(folder.metrics)
    where = str(folder.metrics)
    again = f"run `puma eval {folder.root}` again"
    source = next((s for s in document.sources if s.get("run_id") == document.run_id), None)
    if source is None or "predictions_sha256" not in source:
        raise CheckFailed(
            "metrics.json does not record the predictions it was computed from "
            "(written by an older PUMA), so it may be stale",
            where=where,
            hint=again,
        )
    run = load_run(folder)
    same_file = source.get("predictions") == run.source.name
    if not same_file or source["predictions_sha256"] != file_sha256(run.source):
        raise CheckFailed(
            f"metrics.json is stale: it was computed from another {source.get('predictions')} "
            "than the one in the run folder (an eval interrupted before it wrote, or the "
            "predictions changed since)",
            where=where,
            hint=again,
        )
    if source.get("ledger_head") != run.ledger_head:
        raise CheckFailed(
            "metrics.json is stale: it was computed when the ledger ended at another line "
            "(the run was resumed since)",
            where=where,
            hint=again,
        )
    options = ScoringOptions(
        resamples=document.resamples,
        seed=document.seed,
        level=document.level,
        method=document.interval_method,  # type: ignore[arg-type]
        permutations=document.permutations,
    )
    scores = score_run(run, options)
    recorded = [c.model_dump(mode="json") for c in document.cells]
    if _cells_of(recorded, suite_id, model) != _cells_of(scores.cells, suite_id, model):
        raise CheckFailed(
            f"metrics.json is not what the predictions give: its cells for {suite_id} / {model} "
            "differ from the same scoring run again with its seed and options (edited, or "
            "computed by another PUMA version)",
            where=where,
            hint=f"{again}; if it was edited, the edit is what differs",
        )
    return _cells_of(recorded, suite_id, model)


def _cells_of(cells: list[Any], suite_id: str, model: str) -> list[dict[str, Any]]:
    """The cells of one suite and model, as JSON gives them back (so floats compare exactly)."""
    chosen = [c for c in cells if c["cell"]["suite_id"] == suite_id and c["cell"]["model"] == model]
    result: list[dict[str, Any]] = json.loads(dumps_canonical(chosen))
    return result
