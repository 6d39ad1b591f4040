"""report.html is one self-contained file whose plots really render in a browser.

Set PUMA_UPDATE_SCREENSHOT=1 to refresh docs/img/report.png (shown in the README) from the run.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from puma.evaluate import ScoringOptions, evaluate_run

REPO = Path(__file__).resolve().parents[2]


def _build_run() -> Callable[..., Path]:
    # The synthetic run builder lives with the evaluation tests; load it from there rather than
    # keep a second copy (pytest's importlib mode gives test folders no package to import from).
    spec = importlib.util.spec_from_file_location(
        "evaluate_fixtures", REPO / "tests" / "evaluate" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder: Callable[..., Path] = module.build_run
    return builder


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = _build_run()(
        tmp_path_factory.mktemp("report"),
        seed=21,
        n_items=150,
        perturbations=("typos", "gender-male", "gender-female"),
    )
    evaluate_run(run, ScoringOptions(resamples=2000, permutations=2000))
    return run / "report.html"


def test_the_report_is_one_self_contained_file(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html  # nothing runs, nothing is fetched
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 6
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_the_report_shows_headline_intervals_and_every_section(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for heading in ("Headline", "Model differences", "Confusion matrices", "Calibration",
                    "Speed", "Robustness", "Fairness gaps", "Slices"):  # fmt: skip
        assert f"{heading}" in html, heading
    assert re.search(r"<td class=\"num\">0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]</td>", html)
    for model in ("alpha", "beta", "gamma"):
        assert model in html


def test_every_plot_renders_in_chromium_without_console_errors(
    report: Path, chromium: Callable[[Path], object]
) -> None:
    page = chromium(report)
    assert page.title.startswith("PUMA evaluation")  # type: ignore[attr-defined]
    images = page.images  # type: ignore[attr-defined]
    assert len(images) >= 6
    for image in images:
        assert image["complete"], image["alt"]
        assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image["alt"]
    assert page.console_errors == []  # type: ignore[attr-defined]
    # The page asks for nothing beyond itself and its inline images.
    for url in page.requests:  # type: ignore[attr-defined]
        assert url.startswith(("file://", "data:")), url
    shot = page.screenshot  # type: ignore[attr-defined]
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
    if os.environ.get("PUMA_UPDATE_SCREENSHOT"):
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        (REPO / "docs" / "img" / "report.png").write_bytes(shot)


def test_without_matplotlib_the_report_keeps_its_tables(
    report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from puma.evaluate import read_metrics
    from puma.report import plots, render_report

    monkeypatch.setattr(plots, "available", lambda: False)
    document = read_metrics(report.parent / "metrics.json").model_dump()
    html = render_report(document, {}, title="no plots")
    assert "<img" not in html
    assert "puma-bench[report]" in html
    assert "Headline" in html and "[0." in html


def test_each_headline_score_stands_beside_its_chance_baseline(report: Path) -> None:
    """A reader sees at once whether a model beats chance: the headline carries the majority
    class's score, the paired difference with its interval and a verdict."""
    html = report.read_text(encoding="utf-8")
    for column in ("accuracy of majority class", "Δ vs chance", "verdict", "Against chance"):
        assert column in html, column
    assert "uniform random" in html
    assert re.search(r"<td class=\"num\">-?0\.\d{3} \[-?0\.\d{3}, -?0\.\d{3}\]</td>", html)
    assert "beats chance" in html  # alpha (skill 0.85) beats always answering "Major"


def test_recalibration_is_shown_as_out_of_fold_with_its_spread_over_fold_seeds(
    report: Path,
) -> None:
    html = report.read_text(encoding="utf-8")
    assert "Brier (multi-class)" in html
    assert "ECE temperature (out of fold)" in html
    assert "out-of-fold estimates" in html
    assert "spread over 5 fold splits" in html
    assert "fitted temperature" in html


def test_a_report_from_an_older_metrics_file_reads_the_old_brier_name(report: Path) -> None:
    """metrics.json written before the rename call the multi-class Brier "brier"."""
    import json

    from puma.report import render_report

    document = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    calibration = next(
        c
        for c in document["cells"]
        if c["metrics"].get("calibration") and c["cell"]["perturbation"] == "none"
    )
    value = calibration["metrics"]["calibration"].pop("brier_multiclass")
    calibration["metrics"]["calibration"]["brier"] = value
    html = render_report(document, {}, title="old names")
    assert f"{value['point']:.3f} [{value['ci_low']:.3f}, {value['ci_high']:.3f}]" in html


def test_a_temperature_at_its_bound_is_flagged_in_the_report(report: Path) -> None:
    import json

    from puma.report import render_report

    document = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    calibration = next(
        c
        for c in document["cells"]
        if c["metrics"].get("calibration") and c["cell"]["perturbation"] == "none"
    )
    temperature = calibration["metrics"]["calibration"]["recalibration"]["methods"]["temperature"]
    temperature.update({"temperature": 100.0, "at_bound": True})
    html = render_report(document, {}, title="bound")
    assert "100.00 (at its bound)" in html


def test_a_verdict_against_chance_needs_an_interval_with_width() -> None:
    from puma.report.html import versus_chance

    assert versus_chance("accuracy", {"ci_low": 0.05, "ci_high": 0.3}) == "beats chance"
    assert versus_chance("accuracy", {"ci_low": -0.3, "ci_high": -0.05}) == "below chance"
    assert versus_chance("mae", {"ci_low": -2.0, "ci_high": -0.5}) == "beats chance"
    assert versus_chance("accuracy", {"ci_low": -0.1, "ci_high": 0.2}) == (
        "not distinguishable from chance"
    )
    # Every resample alike (a model wrong on all 3 items against uniform's 1/4): no evidence.
    assert versus_chance("accuracy", {"ci_low": -0.25, "ci_high": -0.25}).startswith("cannot tell")
