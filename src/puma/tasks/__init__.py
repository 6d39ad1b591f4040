"""Task kinds: a registry of `Task`s, one module each (triage, estimation, prioritization).

Public: `Task`, `register_task`, `task_for`, `task_names`; the prompt and parsing of a suite's
task (`build_prompt`, `parse_output`, `gold_text`); the metric registry (`Metric`,
`register_metric`, `metric_for`, `metric_label`). Every module of this package is imported here,
so a new task kind is its module alone: it registers itself on import (docs/tasks.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from puma.runtimes.base import Prompt
from puma.scenarios.parsing import ParsedOutput
from puma.scenarios.strategies import parse_strategy
from puma.suites.model import Suite
from puma.tasks.base import (
    Chance,
    Encoded,
    MetricSink,
    PointSummary,
    Task,
    register_task,
    task_for,
    task_names,
)
from puma.tasks.metrics import Metric, MetricInput, metric_for, metric_label, register_metric

__all__ = [
    "Chance",
    "Encoded",
    "Metric",
    "MetricInput",
    "MetricSink",
    "PointSummary",
    "Task",
    "build_prompt",
    "gold_text",
    "metric_for",
    "metric_label",
    "parse_output",
    "register_metric",
    "register_task",
    "task_for",
    "task_names",
]


def _import_task_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_task_modules()


def build_prompt(
    suite: Suite, item: dict[str, Any], strategy: str, *, seed: int, perturbation: str = "none"
) -> Prompt:
    """The prompt for one item: completion text ending at the answer cue, chat messages, stop
    sequences and (label tasks) the labels to score. Same arguments, same bytes."""
    return task_for(suite.task).scenario.build_prompt(
        suite, item, parse_strategy(strategy), seed=seed, perturbation=perturbation
    )


def parse_output(suite: Suite, text: str, strategy: str) -> ParsedOutput:
    """What the model's text answers: canonical label (or number text), status, estimate."""
    return task_for(suite.task).scenario.parse(suite, text, parse_strategy(strategy))


def gold_text(suite: Suite, item: dict[str, Any]) -> str:
    """An item's gold answer as canonical text ("Major", "5", "A"), comparable to a label (a code
    task's hidden tests)."""
    return task_for(suite.task).scenario.gold_text(suite, item)
