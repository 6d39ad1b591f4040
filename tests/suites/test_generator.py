"""scripts/make_suites.py is deterministic and the committed data is exactly what it generates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from puma.suites.bundled import DATA_DIR, ITEMS_NAME

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_suites.py"


def generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_committed_data_matches_a_fresh_generation(tmp_path: Path) -> None:
    result = generate(tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = tree_bytes(tmp_path)
    assert len(fresh) == 15  # three suites x five files
    assert fresh == tree_bytes(DATA_DIR), "regenerate with: python scripts/make_suites.py"


def test_two_generations_give_identical_bytes(tmp_path: Path) -> None:
    assert generate(tmp_path / "one").returncode == 0
    assert generate(tmp_path / "two").returncode == 0
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")


def test_check_mode_reports_a_modified_file_and_exits_1(tmp_path: Path) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    assert generate(tmp_path / "data", "--check").returncode == 0
    target = tmp_path / "data" / "pm-triage" / ITEMS_NAME
    target.write_bytes(target.read_bytes() + b"\n")
    result = generate(tmp_path / "data", "--check")
    assert result.returncode == 1
    assert str(target) in result.stderr
