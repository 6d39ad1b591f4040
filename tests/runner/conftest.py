"""Fixtures for runner tests: small specs on the real embedded model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SMALL_SPEC = """\
name: small
runtime:
  kind: embedded
suites:
  - id: {suite}
    limit: {limit}
strategy: {strategy}
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 2048
output: {output}
"""


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a small embedded spec into tmp_path; returns its path."""

    def write(
        suite: str = "pm-triage",
        limit: int = 4,
        strategy: str = "few-shot-1",
        name: str = "spec.yaml",
        extra: str = "",
    ) -> Path:
        path = tmp_path / name
        path.write_text(
            SMALL_SPEC.format(suite=suite, limit=limit, strategy=strategy, output=tmp_path / "runs")
            + extra
        )
        return path

    return write


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run folder per session, as a user makes it: the demo spec on the embedded model
    (3 items), then `puma eval`. Tests copy it (`copy_run`) before they change anything."""
    import subprocess
    import sys

    repo_root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("demo") / "runs"

    def puma(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "puma.cli.app", *args],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr

    puma("run", "specs/runs/demo_publication.yaml", "--limit", "3", "--out", str(out), "--quiet")
    (run,) = out.glob("run-*")
    puma("eval", str(run))
    return run


@pytest.fixture
def copy_run(demo_run: Path, tmp_path: Path) -> Callable[[], Path]:
    """A fresh copy of the session's demo run folder, under this test's tmp_path."""
    import shutil

    counter = iter(range(100))

    def copy() -> Path:
        target = tmp_path / f"copy-{next(counter)}" / demo_run.name
        shutil.copytree(demo_run, target)
        return target

    return copy
