"""The leaderboard as a person uses it, in a real browser (Debian's chromium via Playwright):
open it from disk, sort by a column, filter by hardware class, open a run page. Saves a
screenshot; with PUMA_UPDATE_SCREENSHOT=1 it replaces docs/img/leaderboard.png."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contributor_folders import (
    GEMMA,
    I7_CPU,
    LLAMA_3B,
    M2_PRO,
    QWEN_7B,
    RTX_4090,
    RYZEN_CPU,
    add_demo_run,
    folder,
    varied,
    write_folder,
)
from puma.catalogue import build_catalogue

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).parents[2] / "docs" / "img" / "leaderboard.png"
EVIL_MD = (
    "# Hi <script>alert('md')</script>\n\n[click](javascript:alert(1))\n\n"
    "<img src=x onerror=alert(2)>\n"
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser") / "submissions"
    root.mkdir()
    # Twelve cells of about four runs each, so most are ranked.
    devices, models = (RTX_4090, M2_PRO, RYZEN_CPU, I7_CPU), (GEMMA, LLAMA_3B, QWEN_7B)
    for spec in varied(48, seed=11, devices=devices, models=models):
        write_folder(root, spec)
    add_demo_run(root)
    write_folder(root, folder("hal-ai", 77, run_md=EVIL_MD))
    out = root.parent / "site"
    build_catalogue(root, out, workers=1)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


def column_values(page: Any, label: str) -> list[str]:
    headers = page.locator("#leaderboard thead th").all_inner_texts()
    index = next(i for i, text in enumerate(headers) if text.startswith(label))
    return [
        str(v)
        for v in page.eval_on_selector_all(
            "#leaderboard tbody tr:not([hidden])",
            f"rows => rows.map(r => r.cells[{index}].getAttribute('data-sort'))",
        )
    ]


def test_sort_filter_and_open_a_run(site: Path, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto((site / "index.html").as_uri())
    total = page.locator("#leaderboard tbody tr").count()
    assert page.locator("#shown-count").inner_text() == f"{total} of {total} cells shown"

    page.get_by_role("button", name="generation (tokens/s)").click()
    speeds = [float(v) for v in column_values(page, "generation") if v]
    assert speeds == sorted(speeds, reverse=True) and len(speeds) > 3
    page.get_by_role("button", name="generation (tokens/s)").click()
    speeds = [float(v) for v in column_values(page, "generation") if v]
    assert speeds == sorted(speeds)

    page.get_by_role("button", name="pm-triage accuracy").click()
    page.select_option("#filter-class", "cpu-only")
    shown = page.locator("#leaderboard tbody tr:not([hidden])")
    classes = shown.evaluate_all("rows => rows.map(r => r.getAttribute('data-class'))")
    assert classes and all("cpu-only" in c.split() for c in classes)
    assert page.locator("#shown-count").inner_text() == f"{len(classes)} of {total} cells shown"
    quality = [float(v) for v in column_values(page, "pm-triage accuracy") if v]
    assert quality == sorted(quality, reverse=True)

    first = shown.first
    first.locator("summary").click()
    link = first.locator("details a").first
    run_id = link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert page.locator("body > h1").inner_text().startswith(f"Run {run_id}")
    assert page.locator("#grade").inner_text() in ("flagship", "standard", "archive-only")
    assert page.locator("article.run-md").count() == 1
    page.go_back()
    page.select_option("#filter-class", "")
    assert page.locator("#shown-count").inner_text() == f"{total} of {total} cells shown"
    page.get_by_role("button", name="pm-triage accuracy").click()
    page.set_viewport_size({"width": 1500, "height": 1000})
    page.screenshot(path=str(tmp_path / "leaderboard.png"))
    if os.environ.get("PUMA_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "leaderboard.png", SCREENSHOT)
    assert problems == []


def test_planted_script_in_run_md_never_runs(site: Path, browser: Any) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    evil = next(p for p in (site / "runs").glob("*.html") if "Hi &lt;script&gt;" in p.read_text())
    page.goto(evil.as_uri())
    assert "<script>alert('md')</script>" in page.locator("article.run-md h1").inner_text()
    assert page.locator("article.run-md a").count() == 0  # the javascript: link is text
    assert page.locator("article.run-md img").count() == 0
    page.get_by_text("[click](javascript:alert(1))").click()
    assert dialogs == []
