"""The house rules that tools can check: ruff clean, and mypy --strict clean on src/puma."""

from __future__ import annotations

import re
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


# Built from parts so that this file does not match its own patterns.
_OUTSIDE = re.compile(r"\.\./" + "shared" + r"|\.parent\s*/\s*[\"']" + "shared" + r"[\"']")


def test_nothing_in_the_repository_points_outside_it(repo_root: Path) -> None:
    """The repository stands alone: no tracked file reads or links to a folder beside the clone
    (the design brief that once lived beside the clone is now docs/design.md)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo_root, capture_output=True, check=True
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, tracked):
        path = repo_root / name.decode()
        if path.suffix not in {".py", ".md", ".sh", ".yaml", ".yml", ".toml", ".cfg", ""}:
            continue
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [
            f"{name.decode()}:{i}"
            for i, line in enumerate(text.splitlines(), 1)
            if _OUTSIDE.search(line)
        ]
    assert not offenders, f"references outside the repository: {offenders}"
