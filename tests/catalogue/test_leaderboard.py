"""build_leaderboard: a pure function of graded runs (the registry computes the same one from its
log), independent of their order; only shown flagship and standard runs count."""

from __future__ import annotations

import random
from pathlib import Path

from puma.catalogue import CatalogueRun, build_leaderboard, render_index
from puma.catalogue.scan import iter_run_folders, read_run_folder


def graded(root: Path) -> list[CatalogueRun]:
    runs = []
    for item in iter_run_folders(root):
        assert isinstance(item, tuple)
        run = read_run_folder(root, *item)
        assert isinstance(run, CatalogueRun)
        runs.append(run)
    return runs


def test_the_order_of_the_runs_does_not_matter(crowd: Path) -> None:
    runs = graded(crowd)
    shuffled = runs[:]
    random.Random(4).shuffle(shuffled)
    board = build_leaderboard(runs)
    assert build_leaderboard(shuffled) == board
    assert render_index(build_leaderboard(iter(shuffled))) == render_index(board)


def test_archive_only_and_redacted_runs_are_listed_but_never_counted(crowd: Path) -> None:
    runs = graded(crowd)
    target = next(r for r in runs if r.cells[0].cell_id == "rtx-4090-pc/qwen2.5:7b")
    before = next(c for c in build_leaderboard(runs).cells if c.cell_id == target.cells[0].cell_id)
    archived = target.model_copy(update={"grade": "archive-only"})
    hidden = target.model_copy(update={"visibility": "redacted", "visibility_reason": "asked"})
    for changed, field in ((archived, "archive_only"), (hidden, "redacted")):
        others = [changed if r.run_id == target.run_id else r for r in runs]
        cell = next(c for c in build_leaderboard(others).cells if c.cell_id == before.cell_id)
        assert cell.runs == before.runs - 1
        assert getattr(cell, field) == 1
        listed = [link.run_id for link in cell.run_links]
        assert (target.run_id in listed) == (field == "archive_only")
