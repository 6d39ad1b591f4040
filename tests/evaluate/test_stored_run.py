"""Behaviour is unchanged: a stored real run folder (tests/fixtures/demo-run, made by `puma run`
on the embedded model and scored by `puma eval`) gives the same metrics.json and metadata.json
bytes when it is scored again by the current code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

STORED = Path(__file__).resolve().parents[1] / "fixtures" / "demo-run"


@pytest.fixture
def stored_run(tmp_path: Path) -> Path:
    run = tmp_path / STORED.name
    shutil.copytree(STORED, run)
    for name in ("metrics.json", "metadata.json"):
        (run / name).unlink()
    return run


def test_eval_of_the_stored_demo_run_writes_the_stored_bytes(stored_run: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "puma.cli.app", "eval", str(stored_run)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in ("metrics.json", "metadata.json"):
        assert (stored_run / name).read_bytes() == (STORED / name).read_bytes(), name


def test_the_stored_demo_run_ledger_verifies(stored_run: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "puma.cli.app", "ledger", "verify", str(stored_run)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
