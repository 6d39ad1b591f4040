"""A suite whose answers mostly carry no label gets a loud warning: in the run summary, in
`puma eval`'s output, in report.html and from `share-results` (threshold: 20 % of the answers).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from puma.answer_quality import (
    UNUSABLE_SHARE_WARNING,
    unusable_answer_warnings,
    unusable_answers,
)

PUMA = [sys.executable, "-m", "puma.cli.app"]


def row(label: str | None, text: str = "x", **extra: Any) -> dict[str, Any]:
    return {
        "suite_id": "pm-triage",
        "model": "m",
        "predicted_label": label,
        "output_text": text,
        "parse_status": "ok" if label else "unparsed",
        "error": None,
        **extra,
    }


def test_the_threshold_is_one_answer_in_five() -> None:
    assert UNUSABLE_SHARE_WARNING == 0.20
    one_in_five = [row("Major")] * 4 + [row(None, "\n")]
    one_in_six = [row("Major")] * 5 + [row(None, "\n")]

    assert len(unusable_answer_warnings(one_in_five)) == 1
    assert unusable_answer_warnings(one_in_six) == []


def test_empty_and_unparsed_answers_are_told_apart_and_failed_calls_left_out() -> None:
    rows = [
        row(None, ""),
        row(None, " \n"),
        row(None, "I think it is urgent"),
        row("Major"),
        row(None, None, error="server gone", parse_status="error"),
        row(None, None, parse_status="skipped"),
    ]

    (found,) = unusable_answers(rows)

    assert (found.answered, found.empty, found.unparsed) == (4, 2, 1)
    (warning,) = unusable_answer_warnings(rows)
    assert "pm-triage · m: 3 of 4 answers (75%) have no label (2 empty, 1 unparsed)" in warning


def test_each_suite_and_model_is_judged_on_its_own() -> None:
    rows = [row(None, "", model="a")] + [row("Major", model="b")] * 3

    (warning,) = unusable_answer_warnings(rows)

    assert warning.startswith("pm-triage · a:")


SPEC = """\
name: empty-answers
runtime:
  kind: embedded
suites:
  - id: pm-prioritization
    limit: 2
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 1
output: {output}
"""


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def empty_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    # One token is all this model has room for, and its first token here is "\n": every
    # answer is blank, the failure seen with the "\n" stop before PUMA held stops back.
    folder = tmp_path_factory.mktemp("empty-answers")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(output=folder / "runs"))
    done = _puma("run", str(spec), "--json")
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout)["run_dir"]), done


def test_run_summary_warns_and_its_json_carries_the_warning(
    empty_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = empty_run
    summary = json.loads(done.stdout)  # stdout stays one JSON object
    (warning,) = summary["warnings"]
    assert "2 of 2 answers (100%) have no label (2 empty)" in warning
    assert "WARNING" in done.stderr and "pm-prioritization · embedded-default" in done.stderr


def test_eval_prints_the_warning_and_the_report_shows_it_first(
    empty_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = empty_run
    done = _puma("eval", str(run_dir), "--bootstrap-resamples", "100", "--permutations", "0")

    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and "2 of 2 answers (100%)" in done.stderr
    html = (run_dir / "report.html").read_text()
    assert html.index("many answers have no label") < html.index("<h2>Suite pm-prioritization")


def test_share_results_packages_but_prints_the_warning(
    empty_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    run_dir, _ = empty_run
    done = _puma("share-results", str(run_dir), "--dry-run", "--yes", "--out", str(tmp_path))

    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and "2 of 2 answers (100%)" in done.stderr
