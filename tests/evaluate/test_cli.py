"""`puma eval` and `puma merge` as a person runs them: real processes, documented exit codes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

MakeRun = Callable[..., Path]


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puma.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )


def test_eval_scores_a_run_and_prints_the_headline(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=1)
    done = _puma("eval", str(run), "--bootstrap-resamples", "300", "--permutations", "300")
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "alpha" in done.stdout
    for name in ("metrics.json", "metadata.json", "report.html"):
        assert (run / name).is_file()


def test_eval_of_a_missing_folder_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = _puma("eval", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "no such run folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_eval_rejects_an_unknown_interval_method(make_run: MakeRun, tmp_path: Path) -> None:
    done = _puma("eval", str(make_run(tmp_path, seed=2)), "--ci-method", "normal")
    assert done.returncode == 2
    assert "bca or percentile" in done.stdout + done.stderr


def test_merge_exits_1_naming_the_shard_without_predictions(
    make_run: MakeRun, tmp_path: Path
) -> None:
    make_run(tmp_path, seed=1, run_id="kept")
    lost = make_run(tmp_path, seed=2, run_id="lost")
    (lost / "predictions_full.parquet").unlink()
    done = _puma("merge", "--root", str(tmp_path), "--bootstrap-resamples", "200")
    assert done.returncode == 1
    assert "run-lost" in done.stderr
    allowed = _puma(
        "merge", "--root", str(tmp_path), "--bootstrap-resamples", "200", "--permutations", "200",
        "--allow-missing",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "skipped" in allowed.stdout and (tmp_path / "merged" / "metrics.json").is_file()


def test_both_commands_explain_themselves() -> None:
    for command in ("eval", "merge"):
        done = _puma(command, "--help")
        assert done.returncode == 0
        assert "--bootstrap-resamples" in done.stdout and "--seed" in done.stdout
