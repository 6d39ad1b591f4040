"""Issue triage: an issue report in, a priority label (Critical, Major, Minor, Trivial) out.

Item fields: project, component, reporter, title, description; gold is one of the suite's labels.
The prompt is templates/triage.j2 (puma.scenarios); scored as classification over the labels
(puma.tasks.labels). Schema v1 calls it `triage_jira`.
"""

from __future__ import annotations

from puma.scenarios.base import LabelScenario
from puma.suites.model import TRIAGE_LABELS, Suite
from puma.tasks.base import register_task
from puma.tasks.labels import LabelTask


class TriageScenario(LabelScenario):
    template = "triage.j2"
    shows_reporter = True
    cue_words = ("priority", "severity", "label", "classification")

    def labels(self, suite: Suite) -> tuple[str, ...]:
        return suite.labels or TRIAGE_LABELS


@register_task
class TriageTask(LabelTask):
    name = "triage"
    scenario_class = TriageScenario
    v1_scenario = "triage_jira"
    v1_suite = "pm-triage"
