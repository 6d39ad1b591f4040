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
