"""Logs of another tool -> a PUMA run folder (manifest.json and both prediction files), scored by
`puma eval` like any run, and the points PUMA computes beside the figures the tool reported.

One suite per task and per-sample score: `<task>/<score>`. A score whose values are all 0/1 is
an `imported-binary` suite, any other number an `imported-mean` suite, lm-eval's (gold,
prediction) pairs an `imported-label` suite `<task>/labels` (puma.tasks.imported). A tool figure
that is no mean of its samples and no corpus metric PUMA knows is carried over as reported,
marked not re-derived. Nothing is run; the same logs give the same bytes.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from puma import __version__
from puma.errors import InputFileError
from puma.evaluate import ScoringOptions, evaluate_run
from puma.hashing import sha256_hex, sha256_json
from puma.importers.base import ToolLog, ToolMetric, ToolSample, read_logs
from puma.importers.inspect_log import score_value
from puma.outputs import prepare_output_folder
from puma.predictions import BASELINE
from puma.runfolder import RunFolder
from puma.runfolder.manifest import (
    LogRecord,
    Manifest,
    ModelRecord,
    ReportedValue,
    SourceRecord,
    SuiteRecord,
)
from puma.runfolder.predictions import FULL_SCHEMA, write_predictions_table

STRATEGY = "as-logged"  # the prompts are the tool's; PUMA records no strategy of its own
_NAMESPACE = uuid.UUID("6f7e5a8e-3b1c-4c55-9f39-2b0c5e8d1a47")
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Comparison:
    """A figure the tool reported beside PUMA's point from the same samples."""

    suite_id: str
    model: str
    metric: str  # the tool's name
    reported: float | None
    puma_metric: str | None
    puma: float | None
    status: str  # "equal" | "differs" | "not re-derived"
    note: str | None


@dataclass(frozen=True)
class ImportResult:
    folder: RunFolder
    tool: str
    models: list[str]
    suites: list[str]
    rows: int
    comparisons: list[Comparison]
    document: dict[str, Any] | None  # metrics.json's content, when the run was scored


@dataclass
class _Suite:
    id: str
    task: str  # the tool's task
    kind: str  # a PUMA task kind of puma.tasks.imported
    labels: list[str]
    rows: list[dict[str, Any]]  # FULL_SCHEMA columns (the others are null)


def import_logs(
    tool: str,
    paths: Iterable[Path],
    out: Path,
    *,
    evaluate: bool = True,
    options: ScoringOptions | None = None,
    plots: bool = True,
) -> ImportResult:
    """Read every log at `paths`, write the run folder `out` (new, or an empty folder) and, with
    `evaluate`, score it (metrics.json, report.html) and compare PUMA's points with the tool's."""
    logs = read_logs(tool, paths)
    _refuse_overlaps(logs)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputFileError(
            "the output folder exists and is not empty", where=str(out), hint="name a new folder"
        )
    run_id = str(uuid.uuid5(_NAMESPACE, ",".join(sorted(log.sha256 for log in logs))))
    suites = _suites(logs, run_id)
    reported = _reported_values(logs, suites)
    manifest = _manifest(run_id, logs, suites, reported)
    prepare_output_folder(out)
    folder = RunFolder(out)
    rows = [row for suite in suites.values() for row in suite.rows]
    write_predictions_table(folder, pa.Table.from_pylist(rows, schema=FULL_SCHEMA))
    manifest.save(folder)  # last: a folder with a manifest is a whole run folder
    document = (
        evaluate_run(out, options or ScoringOptions(), plots=plots).document if evaluate else None
    )
    comparisons = compare(reported, document["cells"] if document else [], suites)
    return ImportResult(
        folder=folder,
        tool=logs[0].tool,
        models=sorted({log.model for log in logs}),
        suites=sorted(suites),
        rows=len(rows),
        comparisons=comparisons,
        document=document,
    )


def _refuse_overlaps(logs: Sequence[ToolLog]) -> None:
    seen: dict[tuple[str, str], Path] = {}
    for log in logs:
        for task in log.tasks:
            first = seen.setdefault((log.model, task), log.path)
            if first != log.path:
                raise InputFileError(
                    f"model {log.model!r} on task {task!r} is also in {first}: two logs of one "
                    "model and task would mix their samples",
                    where=str(log.path),
                    hint="import them into separate run folders, and `puma merge` those",
                )


# Suites -----------------------------------------------------------------------------------------


def _suite_id(tool_task: str, score: str) -> str:
    metric, _, filter_name = score.partition(",")
    return f"{tool_task}/{metric}" if filter_name in ("", "none") else f"{tool_task}/{score}"


def _label_suite_id(tool_task: str, score: str) -> str:
    _, _, filter_name = score.partition(",")
    return (
        f"{tool_task}/labels"
        if filter_name in ("", "none")
        else f"{tool_task}/labels,{filter_name}"
    )


def _pair(value: Any) -> tuple[str, str] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        gold, pred = value
        if all(isinstance(v, int | str) and not isinstance(v, bool) for v in (gold, pred)):
            return str(gold), str(pred)
    return None


def _suites(logs: Sequence[ToolLog], run_id: str) -> dict[str, _Suite]:
    """Every (task, score) of every log as a suite; the kind decided over all models' samples."""
    values: dict[tuple[str, str], list[tuple[ToolLog, ToolSample, Any]]] = {}
    for log in logs:
        for sample in log.samples:
            for score, value in sample.scores.items():
                values.setdefault((sample.task, score), []).append((log, sample, value))
    suites: dict[str, _Suite] = {}
    for (task, score), entries in sorted(values.items(), key=lambda kv: kv[0]):
        pairs = [_pair(v) for _, _, v in entries]
        if all(p is not None for p in pairs):
            suite_id = _label_suite_id(task, score)
            if suite_id in suites:
                continue  # mcc and f1 of one filter hold the same pairs: one label suite
            labels = sorted({x for p in pairs if p is not None for x in p})
            suite = _Suite(suite_id, task, "imported-label", labels, [])
            for (log, sample, _), pair in zip(entries, pairs, strict=True):
                assert pair is not None
                suite.rows.append(_row(run_id, suite, log, sample, gold=pair[0], label=pair[1]))
        else:
            numbers = [score_value(v) for _, _, v in entries]
            given = [n for n in numbers if n is not None]
            if not given:
                continue  # no number to average (text scores): carried over as reported
            binary = all(n in (0.0, 1.0) for n in given)
            suite = _Suite(
                _suite_id(task, score),
                task,
                "imported-binary" if binary else "imported-mean",
                [],
                [],
            )
            for (log, sample, _), number in zip(entries, numbers, strict=True):
                suite.rows.append(_row(run_id, suite, log, sample, value=number))
        _check_unique(suite)
        suite.rows.sort(key=lambda r: (r["model"], r["instance_id"], r["repetition"]))
        suites[suite.id] = suite
    return suites


def _row(
    run_id: str,
    suite: _Suite,
    log: ToolLog,
    sample: ToolSample,
    *,
    value: float | None = None,
    gold: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """A prediction row as FULL_SCHEMA columns: plain values, no model per row (a log the size
    of MMLU for 20 models is 280,000 rows)."""
    scored = label is not None or value is not None
    return {
        "run_id": run_id,
        "suite_id": suite.id,
        "task": suite.kind,
        "model": log.model,
        "strategy": STRATEGY,
        "phase": "predict",
        "perturbation": BASELINE,
        "repetition": sample.epoch,
        "instance_id": sample.item,
        "gold": gold if gold is not None else (sample.target or ""),
        "prompt_hash": sample.prompt_hash[:16] if sample.prompt_hash else None,
        "output_text": sample.answer,
        "parse_status": "ok" if scored else "unparsed",
        "predicted_label": label if label is not None else sample.answer,
        "predicted_value": value,
    }


def _check_unique(suite: _Suite) -> None:
    seen: set[tuple[str, str, int]] = set()
    for row in suite.rows:
        key = (row["model"], row["instance_id"], row["repetition"])
        if key in seen:
            raise InputFileError(
                f"sample {key[1]!r} (epoch {key[2] + 1}) of {key[0]!r} "
                f"appears twice in task {suite.task!r}",
                hint="a log holds each sample and epoch once; was a file concatenated?",
            )
        seen.add(key)


def _content_hash(suite: _Suite) -> str:
    """The items and targets of a suite: two imports of one task merge only when they agree."""
    items = sorted({(r["instance_id"], r["gold"]) for r in suite.rows})
    return sha256_json([suite.kind, items])


# Reported figures -------------------------------------------------------------------------------


def _puma_metric(metric: ToolMetric, suite: _Suite | None) -> tuple[str | None, str | None]:
    """The PUMA metric that re-derives a tool figure from the samples, or why none does."""
    if suite is None:
        return None, "no per-sample values to re-derive it from"
    if metric.aggregation == "mean" and suite.kind == "imported-binary":
        return "score_rate", metric.note
    if metric.aggregation == "mean" and suite.kind == "imported-mean":
        return "score_mean", metric.note
    if metric.aggregation == "mcc" and suite.kind == "imported-label":
        return "mcc", None
    if metric.aggregation == "f1" and suite.kind == "imported-label":
        if suite.labels == ["0", "1"]:
            return "per_class/1/f1", "lm-eval's f1 is the F1 of class 1 (binary)"
        return None, "lm-eval's f1 is binary; PUMA reports macro-F1 (f1_macro) instead"
    return None, f"a {metric.aggregation!r} aggregate PUMA does not recompute; carried over"


def _reported_values(logs: Sequence[ToolLog], suites: dict[str, _Suite]) -> list[ReportedValue]:
    out = []
    for log in logs:
        for metric in log.reported:
            suite = suites.get(_suite_id(metric.task, metric.score)) or suites.get(
                _label_suite_id(metric.task, metric.score)
            )
            puma_metric, note = _puma_metric(metric, suite)
            out.append(
                ReportedValue(
                    suite_id=suite.id if suite else _suite_id(metric.task, metric.score),
                    model=log.model,
                    metric=metric.name,
                    value=metric.value,
                    puma_metric=puma_metric,
                    note=note,
                )
            )
    return sorted(out, key=lambda r: (r.suite_id, r.model, r.metric))


def compare(
    reported: Sequence[ReportedValue], cells: Sequence[dict[str, Any]], suites: dict[str, _Suite]
) -> list[Comparison]:
    """Each reported figure beside PUMA's point for the same suite and model (cells of
    metrics.json; none when the run was not scored)."""
    points: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in cells:
        key = cell["cell"]
        if key["slice"] is None and key["perturbation"] == BASELINE:
            points[(key["suite_id"], key["model"])] = cell["metrics"]
    out = []
    for r in reported:
        if r.puma_metric is None:
            out.append(
                Comparison(
                    r.suite_id, r.model, r.metric, r.value, None, None, "not re-derived", r.note
                )
            )
            continue
        metrics = points.get((r.suite_id, r.model))
        puma = None if metrics is None else _point(metrics, r.puma_metric)
        status, note = "not scored", r.note
        if metrics is not None:
            same = (
                puma is not None
                and r.value is not None
                and math.isclose(puma, r.value, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
            )
            status = "equal" if same else "differs"
            if not same:
                note = note or _why_different(suites[r.suite_id], r.model)
        out.append(
            Comparison(r.suite_id, r.model, r.metric, r.value, r.puma_metric, puma, status, note)
        )
    return out


def _point(metrics: dict[str, Any], path: str) -> float | None:
    node: Any = metrics
    for part in path.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    value = node.get("point") if isinstance(node, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _why_different(suite: _Suite, model: str) -> str:
    rows = [r for r in suite.rows if r["model"] == model]
    unscored = sum(1 for r in rows if r["parse_status"] != "ok")
    if unscored:
        return (
            f"{unscored} sample(s) the tool left unscored count as 0 in PUMA; "
            "the tool leaves them out"
        )
    epochs: dict[str, int] = {}
    for r in rows:
        epochs[r["instance_id"]] = epochs.get(r["instance_id"], 0) + 1
    if len(set(epochs.values())) > 1:
        return (
            "samples have different numbers of epochs: PUMA weighs every epoch, the tool "
            "averages per sample first"
        )
    return "PUMA's point from the samples is not the tool's figure (see docs/commands/import.md)"


# Manifest ---------------------------------------------------------------------------------------


def _manifest(
    run_id: str,
    logs: Sequence[ToolLog],
    suites: dict[str, _Suite],
    reported: list[ReportedValue],
) -> Manifest:
    tool = logs[0].tool
    records = [
        LogRecord(
            file=log.path.name,
            sha256=log.sha256,
            tool_version=log.tool_version,
            model=log.model,
            tasks=log.tasks,
            companions={p.name: digest for p, digest in log.extra_files},
        )
        for log in logs
    ]
    spec = {"import": {"tool": tool, "logs": [r.model_dump() for r in records]}}
    models = sorted({log.model for log in logs})
    created = sorted(log.created for log in logs if log.created)
    seeds = {log.seed for log in logs if log.seed is not None}
    return Manifest(
        run_id=run_id,
        tool={"name": "puma", "version": __version__},
        spec=spec,
        spec_hash=sha256_json(spec),
        spec_path=None,
        suites=[
            SuiteRecord(
                id=s.id,
                version=f"imported:{sha256_hex(s.id)[:8]}",
                task=s.kind,
                labels=s.labels,
                content_hash=_content_hash(s),
                n_items=len({r["instance_id"] for r in s.rows}),
                selection={"source": "log", "tool_task": s.task},
                source=tool,
            )
            for s in sorted(suites.values(), key=lambda s: s.id)
        ],
        runtime={"kind": "imported", "tool": tool},
        models=[ModelRecord(name=m) for m in models],
        strategy=STRATEGY,
        generation={log.model: log.generation for log in logs if log.generation},
        seed=seeds.pop() if len(seeds) == 1 else 0,
        perturbations=[BASELINE],
        repetitions=1 + max((r["repetition"] for s in suites.values() for r in s.rows), default=0),
        concurrency=1,
        canonical={},
        overrides={},
        phases=["predict"],
        submitter="",
        device_tag="",
        hostname="",
        platform={},
        started_at=created[0] if created else "",
        completed_at=created[-1] if created else None,
        source=SourceRecord(tool=tool, logs=records, reported=reported),
    )
