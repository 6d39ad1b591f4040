"""The run's closing summary: each score beside its chance baseline, with the paired difference
and its interval, so a reader sees at once whether the model beats chance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from puma.run_summary import summarize_run
from puma.runfolder import RunFolder
from puma.runner.execute import ExecutionStats
from puma.runner.session import RunResult
from puma.suites.model import TRIAGE_LABELS
from run_records import manifest, suite_record


def _row(suite: str, task: str, iid: int, gold: str, answer: str | None) -> dict[str, Any]:
    return {
        "suite_id": suite,
        "task": task,
        "model": "m",
        "perturbation": "none",
        "repetition": 0,
        "instance_id": f"{suite}-{iid}",
        "gold": gold,
        "predicted_label": answer,
        "parse_status": "ok" if answer is not None else "unparsed",
        "error": None,
        "ttft_ms": None,
    }


def _result(rows: list[dict[str, Any]]) -> RunResult:
    suites = [
        suite_record("pm-triage", "triage", list(TRIAGE_LABELS)),
        suite_record("pm-estimation", "estimation", []),
    ]
    return RunResult(
        folder=RunFolder(Path("runs/run-x")),
        manifest=manifest("x", suites, ["m"]),
        stats=ExecutionStats(),
        rows=rows,
        skipped_done=0,
    )


def test_a_classification_score_stands_beside_the_majority_class() -> None:
    # 15 items, 9 of them "Major": always answering "Major" scores 0.6; the model scores 0.133.
    gold = ["Major"] * 9 + ["Minor"] * 4 + ["Critical"] * 2
    answers = ["Minor"] * 9 + ["Minor", "Major", "Major", "Major"] + ["Critical", "Trivial"]
    rows = [
        _row("pm-triage", "triage", i, g, a)
        for i, (g, a) in enumerate(zip(gold, answers, strict=True))
    ]
    summary = summarize_run(_result(rows), wall_s=1.0)
    (cell,) = summary.cells
    assert cell.score == pytest.approx(2 / 15)
    assert cell.chance == "majority class"
    assert cell.chance_score == pytest.approx(9 / 15)
    assert cell.difference == pytest.approx(2 / 15 - 9 / 15)
    assert cell.difference_low is not None and cell.difference_high is not None
    assert cell.difference_low <= cell.difference <= cell.difference_high
    assert cell.difference_high < 0  # clearly below chance
    assert "majority class 0.600" in cell.score_text and "Δ -0.467" in cell.score_text
    assert summary.as_dict()["cells"][0]["chance_score"] == pytest.approx(0.6)


def test_an_estimate_score_stands_beside_the_median_and_counts_out_of_scale_answers() -> None:
    gold = ["1", "2", "3", "3", "5", "8"]
    answers = ["1", "100", "3", "5", None, "8"]
    rows = [
        _row("pm-estimation", "estimation", i, g, a)
        for i, (g, a) in enumerate(zip(gold, answers, strict=True))
    ]
    summary = summarize_run(_result(rows), wall_s=1.0)
    (cell,) = summary.cells
    assert cell.metric == "MAE"
    # 100 against gold 2 is out of scale: scored as 21, the point farthest from 2 (19).
    assert cell.score == pytest.approx((0 + 19 + 0 + 2 + 16 + 0) / 6)
    assert cell.out_of_scale_rate == pytest.approx(1 / 6)
    assert cell.chance == "median estimate"
    assert cell.chance_score == pytest.approx((2 + 1 + 0 + 0 + 2 + 5) / 6)
    assert cell.difference == pytest.approx(cell.score - cell.chance_score)
