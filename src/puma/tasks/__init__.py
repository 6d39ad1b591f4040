"""Task kinds: a registry of `Task`s, one module each (triage, estimation, prioritization).

Public: `Task`, `register_task`, `task_for`, `task_names`, and the metric registry
(`Metric`, `register_metric`, `metric_for`, `metric_label`). Every module of this package is
imported here, so a new task kind is its module alone: it registers itself on import.
"""

from __future__ import annotations

import importlib
import pkgutil

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
    "metric_for",
    "metric_label",
    "register_metric",
    "register_task",
    "task_for",
    "task_names",
]


def _import_task_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_task_modules()
