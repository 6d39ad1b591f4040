"""Issue triage: an issue report in, a priority label (Critical, Major, Minor, Trivial) out.

Scored as classification over the suite's labels (puma.tasks.labels); prompts and parsing are
puma.scenarios.triage. Schema v1 calls it `triage_jira`.
"""

from __future__ import annotations

from puma.tasks.base import register_task
from puma.tasks.labels import LabelTask


@register_task
class TriageTask(LabelTask):
    name = "triage"
    v1_scenario = "triage_jira"
    v1_suite = "pm-triage"
