"""Predictions-only evaluation: a run folder's predictions -> metrics.json, metadata.json and
report.html, deterministically from a seed, without the model or the runtime.

Public: `evaluate_run`, `ScoringOptions`, `read_metrics`, `read_metadata`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puma.errors import InputFileError
from puma.evaluate.loading import LoadedRun, load_run
from puma.evaluate.metadata import build_metadata
from puma.evaluate.rows import group_rows
from puma.evaluate.schema import (
    METRICS_SCHEMA,
    MetricsDocument,
    read_metadata,
    read_metrics,
)
from puma.evaluate.scoring import Scores, ScoringOptions, score_suites
from puma.jsonio import dump_pretty
from puma.outputs import prepare_output_folder, write_files
from puma.runfolder import RunFolder

__all__ = ["EvaluationResult", "ScoringOptions", "evaluate_run", "read_metadata", "read_metrics"]


@dataclass(frozen=True)
class EvaluationResult:
    metrics_path: Path
    metadata_path: Path | None
    report_path: Path
    document: dict[str, Any]


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


def evaluate_run(run_dir: Path, options: ScoringOptions | None = None) -> EvaluationResult:
    """Score one run folder and write its metrics.json, metadata.json and report.html."""
    from puma.report import render_report

    options = options or ScoringOptions()
    folder = RunFolder.open(Path(run_dir))
    prepare_output_folder(folder.root)  # a read-only run folder fails before the resampling
    run = load_run(folder)
    scores = score_run(run, options)
    sources = [{"run_id": run.manifest.run_id, "predictions": run.source.name}]
    document = metrics_document(run.manifest.run_id, scores, options, sources)
    metadata = build_metadata(
        run.rows,
        run_id=run.manifest.run_id,
        device_tag=run.manifest.device_tag,
        submitter=run.manifest.submitter,
        suites=list(run.suites),
    )
    html = render_report(
        document, scores.speed_samples, title=f"PUMA evaluation — run {run.manifest.run_id}"
    )
    # The three files are one result: a fault leaves the previous three, never a mix.
    write_files(
        {
            folder.metrics: dump_pretty(document),
            folder.metadata: dump_pretty(metadata),
            folder.report: html,
        }
    )
    return EvaluationResult(folder.metrics, folder.metadata, folder.report, document)
