"""Fixtures of the sweep tests; the sweep files themselves are written by sweep_files.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

# The shard functions are imported by name in spawned workers: their folder is on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

from sweep_files import WriteSweep, sweep_document


@pytest.fixture
def write_sweep(tmp_path: Path) -> WriteSweep:
    def write(name: str = "sweep.yaml", **options: Any) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(sweep_document(tmp_path, **options)), encoding="utf-8")
        return path

    return write
