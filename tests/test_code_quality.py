"""The house rules that tools can check: ruff clean, and mypy --strict clean on src/puma."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_mypy_strict_passes_on_the_package(repo_root: Path) -> None:
    done = subprocess.run(
        [str(BIN / "mypy")], cwd=repo_root, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_check_passes(repo_root: Path) -> None:
    done = subprocess.run(
        [str(BIN / "ruff"), "check", "src", "tests", "benchmarks", "scripts"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:]
