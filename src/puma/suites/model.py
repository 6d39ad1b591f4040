"""The in-memory shape of a suite: what scenarios, the runner and evaluation read.

A suite has test items and a disjoint pool of few-shot examples. Each item is a plain dict with at
least `instance_id` (stable, derived from the data, never leaking the label) and `gold`.
Task-specific fields are listed by each task kind's module (puma.tasks); `task` names that kind.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TRIAGE_LABELS: tuple[str, ...] = ("Critical", "Major", "Minor", "Trivial")
FIBONACCI_POINTS: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 21)
PAIR_LABELS: tuple[str, ...] = ("A", "B")


class Suite(BaseModel):
    """A loaded, hash-checked suite."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: str
    task: str = Field(description="the task kind: a name registered in puma.tasks")
    labels: tuple[str, ...] = Field(default=(), description="labels; empty for a task without")
    content_hash: str = Field(description="SHA-256 hex of the suite's canonical bytes")
    items: tuple[dict[str, Any], ...]
    examples: tuple[dict[str, Any], ...] = ()
    source: str = Field(description="'bundled' or the local path the data came from")
    description: str = ""

    def item_by_id(self) -> dict[str, dict[str, Any]]:
        return {item["instance_id"]: item for item in self.items}

    def gold_by_id(self) -> dict[str, Any]:
        return {item["instance_id"]: item["gold"] for item in self.items}
