"""A worker body that breaks the contract: it scores its own predictions (for the lint tests)."""

from __future__ import annotations

from typing import Any

from puma.stats.resample import ResamplingEngine


def run_and_score(shard: Any, environment: dict[str, Any]) -> Any:
    engine = ResamplingEngine(10, 100, 0)
    return bootstrap_accuracy(engine)


def bootstrap_accuracy(engine: Any) -> Any:
    return engine
