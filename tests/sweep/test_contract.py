"""The contract: a shard only predicts. `puma sweep lint` refuses a worker that computes
metrics, bootstraps, paired tests or calibration fits, and the real worker's import graph holds
no statistics package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sweep_files import sweep_document
from typer.testing import CliRunner

from puma.cli.app import app
from puma.sweep.lint import lint_sweep

WORKERS = Path(__file__).parent / "workers"


def test_every_sweep_file_of_the_repository_only_predicts(repo_root: Path) -> None:
    files = sorted((repo_root / "specs" / "sweeps").glob("*.yaml"))
    assert files
    for path in files:
        assert lint_sweep(path) == [], path


def _sweep_with_entry(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "sweep.yaml"
    document = sweep_document(tmp_path, worker={"entry": entry})
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(WORKERS))


@pytest.mark.usefixtures("on_path")
def test_a_worker_that_imports_statistics_and_bootstraps_is_refused(tmp_path: Path) -> None:
    problems = [
        str(p) for p in lint_sweep(_sweep_with_entry(tmp_path, "stats_in_worker:run_and_score"))
    ]
    source = WORKERS / "stats_in_worker.py"
    assert any(
        p.startswith(f"{source}:7: the worker imports puma.stats.resample") for p in problems
    ), problems
    assert any(
        p.startswith(f"{source}:12: the worker calls bootstrap_accuracy()") for p in problems
    )


@pytest.mark.usefixtures("on_path")
def test_a_worker_that_fits_a_calibration_is_refused_by_the_command(tmp_path: Path) -> None:
    path = _sweep_with_entry(tmp_path, "calls_calibration:run_and_calibrate")
    result = CliRunner().invoke(app, ["sweep", "lint", str(path)])
    assert result.exit_code == 1
    assert "the worker calls fit_calibration()" in result.output


def test_the_real_worker_passes_lint_and_a_missing_entry_is_named(tmp_path: Path) -> None:
    assert lint_sweep(_sweep_with_entry(tmp_path, "puma.sweep.worker:run_shard")) == []
    problems = lint_sweep(_sweep_with_entry(tmp_path, "puma.sweep.worker:no_such_function"))
    assert [p.message for p in problems] == ["no function 'no_such_function' (worker.entry)"]


def test_lint_follows_imports_through_the_projects_modules(tmp_path: Path) -> None:
    # puma.merge loads the evaluation (and with it the statistics) when it loads.
    problems = lint_sweep(_sweep_with_entry(tmp_path, "puma.merge:merge_runs"))
    assert any("the worker imports puma.evaluate" in p.message for p in problems)


def test_the_worker_entry_point_imports_no_statistics(repo_root: Path) -> None:
    """In a fresh interpreter: import the worker and everything it loads to run a shard (the
    runner, the runtimes, the task kinds, prompt building), then look at sys.modules."""
    code = """
import json, sys
import puma.sweep.worker
import puma.runner.session, puma.runtimes.embedded, puma.tasks, puma.scenarios
from puma.runner.plan import build_plan
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root
    )
    modules = json.loads(done.stdout)
    assert "puma.runner.session" in modules and "puma.tasks.triage" in modules
    forbidden = [
        m
        for m in modules
        if m.split(".")[:2] in (["puma", "stats"], ["puma", "evaluate"])
        or m in ("puma.merge", "scipy.stats")
    ]
    assert forbidden == []
