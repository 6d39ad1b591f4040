"""`build_catalogue`: contributor folders in, the leaderboard site out: every run recomputed from
its ledger, broken folders listed (never fatal), redactions honoured, statistics deterministic,
and nothing a contributor wrote rendered as markup."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contributor_folders import GEMMA, M1, Folder, Model, folder, write_folder
from puma.catalogue import build_catalogue
from puma.errors import InputFileError


@pytest.fixture(scope="module")
def site(crowd: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build_catalogue(crowd, out, workers=2)
    return out


def runs_table(site: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(site / "data" / "runs.parquet").to_pylist()
    return rows


def cells_table(site: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(site / "data" / "cells.parquet").to_pylist()
    return rows


def test_every_run_gets_a_page_a_row_and_a_grade(crowd: Path, site: Path) -> None:
    folders = sorted(crowd.glob("*/*/run-*"))
    rows = runs_table(site)
    assert {r["run_id"] for r in rows} == {f.name.removeprefix("run-") for f in folders}
    assert all((site / "runs" / f"{r['run_id']}.html").is_file() for r in rows)
    assert {r["grade"] for r in rows} <= {"flagship", "standard", "archive-only"}
    demo = next(r for r in rows if r["handle"] == "demo-user")
    assert demo["grade"] == "standard" and demo["cell_id"] == "epyc-24gb/embedded-default"


def test_a_cell_reproduced_by_several_contributors_is_marked(site: Path) -> None:
    cell = [c for c in cells_table(site) if c["cell_id"] == "rtx-4090-pc/qwen2.5:7b"]
    assert cell and all(c["reproduced"] for c in cell)
    assert cell[0]["contributors"] >= 6


def test_an_outlier_run_is_flagged_not_dropped(site: Path) -> None:
    rows = [r for r in runs_table(site) if r["cell_id"] == "rtx-4090-pc/qwen2.5:7b"]
    slow = next(r for r in rows if r["handle"] == "fay-home")
    assert "generation_tps" in json.loads(str(slow["outlier_in"]))
    generation = next(
        c
        for c in cells_table(site)
        if c["cell_id"] == "rtx-4090-pc/qwen2.5:7b" and c["figure"] == "generation_tps"
    )
    assert generation["figure_runs"] == len(rows)  # still counted
    page = (site / "runs" / f"{slow['run_id']}.html").read_text()
    assert "outlier in its cell: generation_tps" in page


def test_a_cell_needs_three_runs_to_be_ranked(site: Path) -> None:
    for cell in cells_table(site):
        if cell["figure"] is not None and cell["figure_runs"] < 3:
            assert not cell["ranked"] and cell["rank_best"] is None


def test_ranks_follow_interval_overlap(site: Path) -> None:
    figures = [c for c in cells_table(site) if c["figure"] == "generation_tps" and c["ranked"]]
    for a in figures:
        above = sum(1 for b in figures if b["ci_low"] > a["ci_high"])
        assert a["rank_best"] == 1 + above


def test_the_same_folders_give_the_same_site(crowd: Path, site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_catalogue(crowd, again, workers=1)
    assert (again / "index.html").read_bytes() == (site / "index.html").read_bytes()
    assert cells_table(again) == cells_table(site)
    assert runs_table(again) == runs_table(site)


def test_broken_folders_are_listed_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    good = write_folder(root, folder("ada-lab", 1))
    no_ledger = write_folder(root, folder("bo-home", 2))
    (no_ledger / "run.jsonl").unlink()
    edited = write_folder(root, folder("cy-dev", 3))
    ledger = edited / "run.jsonl"
    ledger.write_text(ledger.read_text().replace('"parse_status":"ok"', '"parse_status":"OK"', 1))
    renamed = write_folder(root, folder("dee-ai", 4))
    renamed.rename(renamed.with_name("run-00000000-0000-4000-8000-000000000000"))
    shutil.copytree(good, root / "eli-lab" / "rtx-4090-pc" / good.name)  # the same run twice
    (root / "Not_A_Handle").mkdir()
    (root / "fay-home").mkdir()
    (root / "fay-home" / "notes.txt").write_text("a file where a device folder belongs")
    (root / "gus-dev" / "rtx-4090-pc" / "results").mkdir(parents=True)
    (root / "EXAMPLE" / "x").mkdir(parents=True)  # the harness's synthetic example: skipped
    summary = build_catalogue(root, tmp_path / "site", workers=1)
    reasons = {b.folder.split("/")[0]: b.reason for b in summary.broken}
    assert "run.jsonl" in reasons["bo-home"]
    assert "does not verify" in reasons["cy-dev"] and "run.jsonl:" in reasons["cy-dev"]
    assert "manifest.json says run" in reasons["dee-ai"]
    assert "already catalogued from ada-lab/" in reasons["eli-lab"]
    assert "not allowed" in reasons["Not_A_Handle"]
    assert "a file where a device-tag folder belongs" in reasons["fay-home"]
    assert "not a run folder" in reasons["gus-dev"]
    assert "EXAMPLE" not in reasons
    assert str(tmp_path) not in " ".join(reasons.values())  # no build-machine paths
    assert summary.runs == 1
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Folders not catalogued (7)" in index


def test_a_metadata_json_that_disagrees_with_the_ledger_is_flagged(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    path = write_folder(root, folder("ada-lab", 1))
    data = json.loads((path / "metadata.json").read_text())
    data["aggregates"][0]["quality"]["value"]["point"] = 0.99
    (path / "metadata.json").write_text(json.dumps(data))
    build_catalogue(root, tmp_path / "site", workers=1)
    [row] = runs_table(tmp_path / "site")
    flags = json.loads(str(row["flags"]))
    assert flags == [
        "metadata.json disagrees with the ledger (aggregates.0.quality.value.point); "
        "the catalogue shows the ledger's figures"
    ]
    assert row["grade"] == "standard"
    assert json.loads(str(row["quality"]))[0]["point"] != 0.99


def test_a_redacted_run_leaves_the_pages_but_keeps_its_data(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    kept = write_folder(root, folder("ada-lab", 1))
    hidden = write_folder(root, folder("bo-home", 2))
    hidden_id = hidden.name.removeprefix("run-")
    out = tmp_path / "site"
    build_catalogue(root, out, workers=1)
    assert (out / "runs" / f"{hidden_id}.html").is_file()
    (root / "overlay.yaml").write_text(
        f"- run_id: {hidden_id}\n  visibility: redacted\n  reason: contributor asked\n"
        "- run_id: 11111111-2222-4333-8444-555555555555\n  visibility: redacted\n  reason: x\n"
    )
    summary = build_catalogue(root, out, workers=1)
    assert not (out / "runs" / f"{hidden_id}.html").exists()  # the old page is gone too
    assert hidden_id not in (out / "index.html").read_text()
    assert (out / "runs" / f"{kept.name.removeprefix('run-')}.html").is_file()
    row = next(r for r in runs_table(out) if r["run_id"] == hidden_id)
    assert (row["visibility"], row["visibility_reason"]) == ("redacted", "contributor asked")
    assert summary.redacted == 1
    assert summary.overlay_unmatched == ["11111111-2222-4333-8444-555555555555"]
    [cell] = [c for c in cells_table(out) if c["figure"] == "generation_tps"]
    assert (cell["runs"], cell["redacted"]) == (1, 1)


def test_nothing_a_contributor_wrote_becomes_markup(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    evil_md = (
        "# Results <script>alert('md')</script>\n\n"
        "[click me](javascript:alert(1)) and [data](data:text/html,<script>alert(2)</script>)\n\n"
        "<img src=x onerror=alert(3)>\n\n"
        '<a href="javascript:alert(4)">raw link</a>\n\n'
        "![tracker](https://example.invalid/pixel.png)\n\n"
        "[fine](https://example.org/run)\n"
    )
    evil_model = Model("<img src=x onerror=alert(5)>", 4_000_000_000, 0.5)
    path = write_folder(root, folder("ada-lab", 1, model=evil_model, run_md=evil_md))
    build_catalogue(root, tmp_path / "site", workers=1)
    run_id = path.name.removeprefix("run-")
    for page in (tmp_path / "site" / "runs" / f"{run_id}.html", tmp_path / "site" / "index.html"):
        html = page.read_text()
        assert "<script>alert" not in html
        assert "<img" not in html  # no tag of theirs, and no image that would call home
        assert 'href="javascript:' not in html and 'href="data:' not in html
    page = (tmp_path / "site" / "runs" / f"{run_id}.html").read_text()
    assert "<h1>Results &lt;script&gt;alert('md')&lt;/script&gt;</h1>" in page
    assert "&lt;img src=x onerror=alert(5)&gt;" in page  # the model name, as text
    assert '<a rel="nofollow noopener noreferrer" href="https://example.org/run">fine</a>' in page


def test_an_output_folder_that_is_not_a_catalogue_is_never_replaced(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    write_folder(root, folder("ada-lab", 1))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(InputFileError, match="not a catalogue"):
        build_catalogue(root, precious, workers=1)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_a_missing_submissions_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such submissions folder"):
        build_catalogue(tmp_path / "nowhere", tmp_path / "site")


def test_a_cell_with_one_run_is_shown_but_not_ranked(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    write_folder(root, Folder(handle="ada-lab", device=M1, model=GEMMA, seed=1))
    summary = build_catalogue(root, tmp_path / "site", workers=1)
    assert (summary.cells, summary.ranked_cells) == (1, 0)
    assert all(not c["ranked"] and c["ci_low"] is None for c in cells_table(tmp_path / "site"))
    assert "one run · unranked" in (tmp_path / "site" / "index.html").read_text()


def test_links_in_a_submitted_folder_are_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    secret = tmp_path / "secret.txt"
    secret.write_text("the build machine's secret")
    linked = write_folder(root, folder("ada-lab", 1))
    (linked / "run.md").unlink()
    (linked / "run.md").symlink_to(secret)
    outside = write_folder(tmp_path / "elsewhere", folder("bo-home", 2))
    (root / "bo-home").symlink_to(outside.parents[1])
    summary = build_catalogue(root, tmp_path / "site", workers=1)
    reasons = {b.folder.split("/")[0]: b.reason for b in summary.broken}
    assert reasons == {
        "ada-lab": "run.md: a symbolic link (links are not followed)",
        "bo-home": "a symbolic link (links are not followed)",
    }
    site_text = " ".join(p.read_text() for p in (tmp_path / "site").rglob("*.html"))
    assert "secret" not in site_text


def test_a_huge_run_md_is_cut_on_its_page(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    path = write_folder(root, folder("ada-lab", 1, run_md="x" * 400_000))
    build_catalogue(root, tmp_path / "site", workers=1)
    page = (tmp_path / "site" / "runs" / f"{path.name.removeprefix('run-')}.html").read_text()
    assert "run.md is cut here" in page and len(page) < 300_000
