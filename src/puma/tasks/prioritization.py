"""Prioritization: two issues in, which one to do first ("A" or "B") out.

Scored as classification over the two answers (puma.tasks.labels); prompts and parsing are
puma.scenarios.prioritization. Schema v1 calls it `prioritization_jira`.
"""

from __future__ import annotations

from puma.tasks.base import register_task
from puma.tasks.labels import LabelTask


@register_task
class PrioritizationTask(LabelTask):
    name = "prioritization"
    v1_scenario = "prioritization_jira"
    v1_suite = "pm-prioritization"
