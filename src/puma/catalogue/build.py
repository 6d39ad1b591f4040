"""`build_catalogue`: a submissions folder in, a static leaderboard site out.

Three passes, none holding the runs in memory: (1) worker processes read and grade each
contributor folder and write its run page, and the graded runs are appended to a spill file
beside the site; (2) the spill streams into build_leaderboard, which keeps a few numbers per
run; (3) it streams again into data/runs.parquet, and the pages of the few runs the leaderboard
flags as outliers are written again with the flag. The site is built in a staging folder and
moved into place at the end, so a page of a run redacted since the last build never survives.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from puma.catalogue.leaderboard import Leaderboard, build_leaderboard
from puma.catalogue.overlay import OverlayEntry, read_overlay
from puma.catalogue.runs import CatalogueRun
from puma.catalogue.scan import BrokenFolder, iter_run_folders, read_run_folder
from puma.catalogue.site import render_index, render_run_page
from puma.errors import InputFileError
from puma.jsonio import dumps_canonical
from puma.outputs import writing

MARKER = ".puma-catalogue"  # says a folder is a catalogue this command may replace
_SPILL = ".runs.jsonl"
_BATCH = 1000  # rows per parquet row group
MAX_RUN_MD = 256 * 1024


@dataclass(frozen=True)
class CatalogueSummary:
    out_dir: Path
    runs: int  # graded runs, redacted included
    grades: dict[str, int]
    redacted: int
    broken: list[BrokenFolder] = field(default_factory=list)
    cells: int = 0
    ranked_cells: int = 0
    overlay_unmatched: list[str] = field(default_factory=list)  # overlay run ids not found


def build_catalogue(
    submissions_dir: Path, out_dir: Path, *, workers: int | None = None
) -> CatalogueSummary:
    """Read every contributor folder under `submissions_dir` and write the site to `out_dir`
    (index.html, runs/<run-id>.html, data/runs.parquet, data/cells.parquet). A broken folder is
    listed with its reason, never fatal; a malformed overlay.yaml is (InputFileError)."""
    root = Path(submissions_dir)
    if not root.is_dir():
        raise InputFileError("no such submissions folder", where=str(root))
    out = Path(out_dir).absolute()  # `--out .` has a name to build beside
    _check_replaceable(out)
    overlay = read_overlay(root)
    staging = out.with_name(f".{out.name}.building")
    with writing(staging, "create the catalogue's staging folder"):
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "runs").mkdir(parents=True)
        (staging / "data").mkdir()
    spill = staging / _SPILL
    broken: list[BrokenFolder] = []
    seen: dict[str, str] = {}
    rewrite: set[str] = set()  # pages a duplicate run id may have overwritten
    grades: Counter[str] = Counter()
    redacted = 0
    with writing(spill, "write the catalogue's run list"), spill.open("w", encoding="utf-8") as f:
        for item in _graded(root, staging / "runs", overlay, workers):
            if isinstance(item, BrokenFolder):
                broken.append(item)
                continue
            if item.run_id in seen:
                rewrite.add(item.run_id)
                broken.append(
                    BrokenFolder(
                        folder=item.folder,
                        reason=f"run {item.run_id} is already catalogued from {seen[item.run_id]}",
                    )
                )
                continue
            seen[item.run_id] = item.folder
            grades[item.grade] += 1
            redacted += not item.shown
            f.write(item.model_dump_json() + "\n")
    board = build_leaderboard(_spilled(spill))
    _write_runs(root, staging, spill, board, rewrite)
    _write_cells(staging / "data" / "cells.parquet", board)
    with writing(staging / "index.html", "write the leaderboard"):
        (staging / "index.html").write_text(render_index(board, broken), encoding="utf-8")
        (staging / MARKER).write_text("built by `puma catalogue build`\n", encoding="utf-8")
        spill.unlink()
    _replace(staging, out)
    return CatalogueSummary(
        out_dir=out,
        runs=len(seen),
        grades={g: grades[g] for g in ("flagship", "standard", "archive-only")},
        redacted=redacted,
        broken=broken,
        cells=len(board.cells),
        ranked_cells=sum(any(e.ranked for e in c.estimates.values()) for c in board.cells),
        overlay_unmatched=sorted(set(overlay) - set(seen)),
    )


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputFileError("--out is a file, not a folder", where=str(out))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise InputFileError(
            "the output folder holds files that are not a catalogue; nothing was replaced",
            where=str(out),
            hint="give an empty or new folder, or one a previous `puma catalogue build` wrote",
        )


def _replace(staging: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old")
    with writing(out, "move the catalogue into place"):
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)


# Pass 1: grading ---------------------------------------------------------------------------------


# Set in each worker (and in this process when there is none) by _start_worker.
_JOB: dict[str, Any] = {}


def _graded(
    root: Path, pages: Path, overlay: dict[str, OverlayEntry], workers: int | None
) -> Iterator[CatalogueRun | BrokenFolder]:
    count = workers if workers is not None else min(os.cpu_count() or 1, 8)
    folders = iter_run_folders(root)
    if count <= 1:
        _start_worker(root, pages, overlay)
        yield from (_grade_one(item) for item in folders)
        return
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(count, _start_worker, (root, pages, overlay)) as pool:
        yield from pool.imap(_grade_one, folders, chunksize=16)


def _start_worker(root: Path, pages: Path, overlay: dict[str, OverlayEntry]) -> None:
    _JOB.update(root=root, pages=pages, overlay=overlay)


def _grade_one(item: tuple[str, str, Path] | BrokenFolder) -> CatalogueRun | BrokenFolder:
    """Grade one folder and write its page (without outlier flags: the leaderboard that knows
    them is built after every run is graded)."""
    if isinstance(item, BrokenFolder):
        return item
    root: Path = _JOB["root"]
    handle, tag, folder = item
    run = read_run_folder(root, handle, tag, folder)
    if isinstance(run, BrokenFolder):
        return run
    entry = _JOB["overlay"].get(run.run_id)
    if entry is not None:
        run = run.model_copy(
            update={"visibility": entry.visibility, "visibility_reason": entry.reason}
        )
    if run.shown:
        _write_page(_JOB["pages"], root, run, [])
    return run


def _write_page(pages: Path, root: Path, run: CatalogueRun, outliers: list[str]) -> None:
    path = pages / f"{run.run_id}.html"
    with writing(path, "write a run page"):
        path.write_text(render_run_page(run, _run_md(root, run), outliers=outliers), "utf-8")


def _spilled(path: Path) -> Iterator[CatalogueRun]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield CatalogueRun.model_validate_json(line)


# Pass 3: run pages and runs.parquet --------------------------------------------------------------

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("handle", pa.string()),
        ("device_tag", pa.string()),
        ("cell_id", pa.string()),
        ("model", pa.string()),
        ("folder", pa.string()),
        ("hardware_class", pa.string()),
        ("hardware_probed", pa.bool_()),
        ("cpu", pa.string()),
        ("gpus", pa.string()),  # JSON list
        ("grade", pa.string()),
        ("reasons", pa.string()),  # JSON list
        ("flags", pa.string()),  # JSON list
        ("visibility", pa.string()),
        ("visibility_reason", pa.string()),
        ("ledger_state", pa.string()),
        ("tool_version", pa.string()),
        ("runtime", pa.string()),
        ("completed_at", pa.string()),
        ("quality", pa.string()),  # JSON list of {phase, metric, point, ci_low, ci_high, n_items}
        ("generation_tps", pa.float64()),
        ("prompt_tps", pa.float64()),
        ("ttft_ms", pa.float64()),
        ("tpot_ms", pa.float64()),
        ("joules_per_token", pa.float64()),
        ("plausibility", pa.string()),
        ("bound_tps", pa.float64()),
        ("bandwidth_gbs", pa.float64()),
        ("outlier_in", pa.string()),  # JSON list of leaderboard column keys
        ("deviations", pa.string()),  # JSON list
    ]
)


def _write_runs(
    root: Path, staging: Path, spill: Path, board: Leaderboard, rewrite: set[str]
) -> None:
    """data/runs.parquet, and the pages of flagged (or duplicated) runs written again."""
    outliers = board.outlier_index()
    path = staging / "data" / "runs.parquet"
    with writing(path, "write data/runs.parquet"):
        writer = pq.ParquetWriter(path, RUNS_SCHEMA)
        batch: list[dict[str, Any]] = []
        for run in _spilled(spill):
            flagged = outliers.get(run.run_id, [])
            if run.shown and (flagged or run.run_id in rewrite):
                _write_page(staging / "runs", root, run, flagged)
            batch.extend(_run_rows(run, flagged))
            if len(batch) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=RUNS_SCHEMA))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=RUNS_SCHEMA))
        writer.close()


def _run_md(root: Path, run: CatalogueRun) -> str | None:
    """run.md as text, cut at MAX_RUN_MD bytes (a page is for reading, not for a data dump)."""
    path = root / run.folder / "run.md"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_RUN_MD + 1)
    except OSError:
        return None
    text = raw[:MAX_RUN_MD].decode("utf-8", errors="replace")
    if len(raw) > MAX_RUN_MD:
        text += f"\n\n*(run.md is cut here: the page shows its first {MAX_RUN_MD // 1024} KiB.)*\n"
    return text


def _run_rows(run: CatalogueRun, outliers: list[str]) -> Iterable[dict[str, Any]]:
    common = {
        "run_id": run.run_id,
        "handle": run.handle,
        "device_tag": run.device_tag,
        "folder": run.folder,
        "hardware_class": run.hardware.hardware_class,
        "hardware_probed": run.hardware.probed,
        "cpu": run.hardware.cpu,
        "gpus": dumps_canonical(run.hardware.gpus),
        "grade": run.grade,
        "reasons": dumps_canonical(run.reasons),
        "flags": dumps_canonical(run.flags),
        "visibility": run.visibility,
        "visibility_reason": run.visibility_reason,
        "ledger_state": run.ledger_state,
        "tool_version": run.tool_version,
        "runtime": run.runtime,
        "completed_at": run.completed_at,
        "outlier_in": dumps_canonical(outliers),
        "deviations": dumps_canonical(run.deviations),
    }
    if not run.cells:
        yield common
        return
    for cell in run.cells:
        yield {
            **common,
            "cell_id": cell.cell_id,
            "model": cell.model,
            "quality": dumps_canonical([q.model_dump(mode="json") for q in cell.quality]),
            "generation_tps": cell.generation_tps,
            "prompt_tps": cell.prompt_tps,
            "ttft_ms": cell.ttft_ms,
            "tpot_ms": cell.tpot_ms,
            "joules_per_token": cell.joules_per_token,
            "plausibility": cell.plausibility.status,
            "bound_tps": cell.plausibility.bound_tps,
            "bandwidth_gbs": cell.plausibility.bandwidth_gbs,
        }


CELLS_SCHEMA = pa.schema(
    [
        ("cell_id", pa.string()),
        ("device_tag", pa.string()),
        ("model", pa.string()),
        ("hardware_classes", pa.string()),  # JSON list
        ("runs", pa.int64()),
        ("contributors", pa.int64()),
        ("items", pa.int64()),
        ("reproduced", pa.bool_()),
        ("archive_only", pa.int64()),
        ("redacted", pa.int64()),
        ("implausible", pa.int64()),
        ("bound_tps", pa.float64()),
        ("figure", pa.string()),  # a leaderboard column key; null for a cell without figures
        ("label", pa.string()),
        ("unit", pa.string()),
        ("higher_is_better", pa.bool_()),
        ("median", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("p25", pa.float64()),
        ("p75", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("figure_runs", pa.int64()),
        ("figure_contributors", pa.int64()),
        ("ranked", pa.bool_()),
        ("rank_best", pa.int64()),
        ("rank_worst", pa.int64()),
        ("tie", pa.bool_()),
    ]
)


def _write_cells(path: Path, board: Leaderboard) -> None:
    rows: list[dict[str, Any]] = []
    for cell in board.cells:
        common = {
            "cell_id": cell.cell_id,
            "device_tag": cell.device_tag,
            "model": cell.model,
            "hardware_classes": dumps_canonical(cell.hardware_classes),
            "runs": cell.runs,
            "contributors": cell.contributors,
            "items": cell.items,
            "reproduced": cell.reproduced,
            "archive_only": cell.archive_only,
            "redacted": cell.redacted,
            "implausible": cell.implausible,
            "bound_tps": cell.bound_tps,
        }
        if not cell.estimates:
            rows.append(common)
        for column in board.columns:
            e = cell.estimates.get(column.key)
            if e is None:
                continue
            rows.append(
                {
                    **common,
                    "figure": column.key,
                    "label": column.label,
                    "unit": column.unit,
                    "higher_is_better": column.higher_is_better,
                    "median": e.median,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p25": e.p25,
                    "p75": e.p75,
                    "min": e.min,
                    "max": e.max,
                    "figure_runs": e.runs,
                    "figure_contributors": e.contributors,
                    "ranked": e.ranked,
                    "rank_best": e.rank_best,
                    "rank_worst": e.rank_worst,
                    "tie": e.tie,
                }
            )
    with writing(path, "write data/cells.parquet"):
        pq.write_table(pa.Table.from_pylist(rows, schema=CELLS_SCHEMA), path)
