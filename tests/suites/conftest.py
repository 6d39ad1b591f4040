"""Suite test fixtures: a writable copy of the bundled data, and the local fixture files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from puma.suites.bundled import DATA_DIR

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of every bundled suite folder (tamper with it freely)."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target
