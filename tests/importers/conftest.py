"""Fixtures of the importer tests: the small real logs in fixtures/ (written by tool_runs.py from
real runs of lm-evaluation-harness and Inspect against a real llama.cpp server), copied into a
temporary folder so a test may damage its copy."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    target = tmp_path / "logs"
    shutil.copytree(HERE / "fixtures", target)
    return target
