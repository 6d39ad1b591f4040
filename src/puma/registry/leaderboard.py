"""The leaderboard as a pure function of the log: anyone holding a copy rebuilds the same one.

`leaderboard_from_log` replays the entries (accept adds a run, withdraw removes it) and returns
the accepted runs in log order. `catalogue_leaderboard` grades the accepted contributor folders
with the catalogue's own code (each folder's stored files laid out as
`<handle>/<device-tag>/run-<uuid>/` and read by `puma.catalogue.read_contributor_folder`), so the
live pages are the static site's; `plain_leaderboard` ranks the packages (schema v1) by their
declared-and-re-verified headline metric, one row per run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from puma.catalogue import (
    BrokenFolder,
    CatalogueRun,
    Leaderboard,
    build_leaderboard,
    read_contributor_folder,
)
from puma.registry.intake import FOLDER, PACKAGE

# Per scenario: the headline metric and whether lower is better. Estimation is judged by its
# error, the label tasks by F1 (then accuracy where F1 was not declared).
_HEADLINE = {
    "effort_tawos": (("mae", True), ("mdae", True)),
}
_DEFAULT_HEADLINE = (("f1_macro", False), ("accuracy", False), ("mae", True))


@dataclass(frozen=True)
class AcceptedRun:
    submission_id: str
    kind: str  # "package" | "contributor-folder"
    seq: int  # the log entry that accepted it
    at: str
    record: dict[str, Any]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    submission_id: str
    kind: str
    board: str  # what rows are compared within: the scenario/suite, or the contributor's cell
    who: str
    model: str
    hardware: str
    metric: str | None
    value: float | None
    lower_is_better: bool
    n: int | None


def leaderboard_from_log(entries: list[dict[str, Any]]) -> list[AcceptedRun]:
    """The runs accepted and not withdrawn, in the order they were accepted. Reads only the
    log; `verify_log` should pass on `entries` first."""
    runs: dict[str, AcceptedRun] = {}
    for entry in entries:
        sid = entry["submission_id"]
        if entry["action"] == "accept":
            runs[sid] = AcceptedRun(sid, entry["kind"], entry["seq"], entry["at"], entry["record"])
        elif entry["action"] == "withdraw":
            runs.pop(sid, None)
    return sorted(runs.values(), key=lambda run: run.seq)


@dataclass(frozen=True)
class CatalogueView:
    """The catalogue's leaderboard of the log's accepted contributor folders."""

    board: Leaderboard
    runs: dict[str, CatalogueRun] = field(default_factory=dict)  # by submission id (= run id)
    broken: list[BrokenFolder] = field(default_factory=list)


def catalogue_leaderboard(
    entries: list[dict[str, Any]],
    files: Callable[[str], Mapping[str, bytes]],
    graded: dict[str, CatalogueRun | BrokenFolder] | None = None,
) -> CatalogueView:
    """Grade every contributor folder the log accepted (and did not withdraw), from its stored
    files (`files(submission_id)`), exactly as `puma catalogue build` grades a folder on disk.

    `graded` keeps each folder's grading by submission id between calls: a stored folder never
    changes (an id is accepted once), so a new log entry grades only the folders not graded
    yet; folders no longer accepted are dropped from it."""
    cache: dict[str, CatalogueRun | BrokenFolder] = {} if graded is None else graded
    folders = [run for run in leaderboard_from_log(entries) if run.kind == FOLDER]
    for gone in set(cache) - {run.submission_id for run in folders}:
        del cache[gone]
    missing = [run for run in folders if run.submission_id not in cache]
    if missing:
        with tempfile.TemporaryDirectory(prefix="puma-registry-catalogue-") as tmp:
            for run in missing:
                record = run.record
                folder = Path(tmp, str(record["handle"]), str(record["device_tag"]), record["run"])
                folder.mkdir(parents=True)
                for name, content in files(run.submission_id).items():
                    (folder / Path(name).name).write_bytes(content)
                cache[run.submission_id] = read_contributor_folder(folder)
    runs: dict[str, CatalogueRun] = {}
    broken: list[BrokenFolder] = []
    for run in folders:
        result = cache[run.submission_id]
        if isinstance(result, BrokenFolder):
            broken.append(result)
        else:
            runs[run.submission_id] = result
    return CatalogueView(build_leaderboard(runs.values()), runs, broken)


def plain_leaderboard(runs: list[AcceptedRun]) -> list[LeaderboardRow]:
    """One row per run, grouped by board, best first within each board; equal values share a
    rank (a tie is shown as a tie)."""
    rows = [_row(run) for run in runs]
    rows.sort(key=_order)
    ranked: list[LeaderboardRow] = []
    for row in rows:
        previous = ranked[-1] if ranked else None
        if previous is None or previous.board != row.board:
            rank = 1
        elif previous.value == row.value:
            rank = previous.rank
        else:
            rank = sum(1 for r in ranked if r.board == row.board) + 1
        ranked.append(replace(row, rank=rank))
    return ranked


def _order(row: LeaderboardRow) -> tuple[str, int, float, int]:
    if row.value is None:
        return (row.board, 1, 0.0, 0)
    return (row.board, 0, row.value if row.lower_is_better else -row.value, 0)


def _row(run: AcceptedRun) -> LeaderboardRow:
    record = run.record
    if run.kind == PACKAGE:
        metrics = record.get("metrics", {})
        for name, lower in _HEADLINE.get(record.get("scenario", ""), _DEFAULT_HEADLINE):
            if isinstance(metrics.get(name), int | float):
                metric, value, lower_is_better = name, float(metrics[name]), lower
                break
        else:
            metric, value, lower_is_better = None, None, False
        return LeaderboardRow(
            0,
            run.submission_id,
            run.kind,
            f"{record.get('scenario')} ({record.get('suite_id')})",
            str(record.get("submitter")),
            str(record.get("model")),
            str(record.get("hardware_profile")),
            metric,
            value,
            lower_is_better,
            record.get("n_instances"),
        )
    assert run.kind == FOLDER, run.kind
    return LeaderboardRow(
        0,
        run.submission_id,
        run.kind,
        "contributor runs (graded by the catalogue)",
        str(record.get("handle")),
        _folder_model(record.get("metadata")),
        str(record.get("device_tag")),
        None,
        None,
        False,
        None,
    )


def _folder_model(metadata: Any) -> str:
    """The model(s) named in a folder's metadata-1.0 cells (`<device-tag>/<model>`), as far as
    the plain table can tell without the catalogue."""
    cells = metadata.get("aggregates") if isinstance(metadata, dict) else None
    if isinstance(cells, list):
        models = sorted(
            {str(c.get("cell_id", "")).partition("/")[2] for c in cells if isinstance(c, dict)}
        )
        if models and models != [""]:
            return ", ".join(models)
    return "?"
