"""The metric registry: each metric declared once, with what tables and tests read from it."""

from __future__ import annotations

import numpy as np
import pytest

import puma.tasks.metrics
from puma.report.html import versus_chance
from puma.tasks import Metric, metric_for, metric_label, register_metric, task_for, task_names


def test_every_task_names_only_registered_metrics_and_leads_with_its_headline() -> None:
    for name in task_names():
        task = task_for(name)
        for metric in task.metrics + task.chance_metrics:
            assert metric_for(metric).name == metric
        assert task.headline == task.metrics[0]
        assert set(task.chance_metrics) <= set(task.metrics)


def test_labels_and_directions_are_declared_once() -> None:
    assert metric_label("mae") == "MAE" and not metric_for("mae").higher_is_better
    assert metric_label("kappa") == "Cohen's κ" and metric_for("kappa").higher_is_better
    assert metric_label("not-a-metric") == "not-a-metric"
    # The report's verdict reads the direction: a lower MAE than chance beats it.
    beats = {"ci_low": -0.5, "ci_high": -0.1}
    assert versus_chance("mae", beats) == "beats chance"
    assert versus_chance("accuracy", beats) == "below chance"


def test_a_declaration_that_cannot_be_computed_is_refused() -> None:
    ratio = lambda x: x.stats.accuracy  # noqa: E731
    with pytest.raises(ValueError, match="exactly one"):
        Metric("m", "m", higher_is_better=True)
    with pytest.raises(ValueError, match="numerator"):
        Metric("m", "m", higher_is_better=True, sums=ratio, proportion=True)
    with pytest.raises(ValueError, match="function of sums"):
        Metric("m", "m", higher_is_better=True, counts=lambda x: np.mean, paired=True)


def test_a_metric_is_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(puma.tasks.metrics, "_METRICS", dict(puma.tasks.metrics._METRICS))
    with pytest.raises(ValueError, match="twice"):
        register_metric(metric_for("accuracy"))
    with pytest.raises(KeyError, match="no metric 'bleu'"):
        metric_for("bleu")
