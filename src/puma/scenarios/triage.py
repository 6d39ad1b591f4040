"""Issue triage: an issue report in, a priority label (Critical, Major, Minor, Trivial) out.

Item fields: project, component, reporter, title, description; gold is one of the suite's labels.
"""

from __future__ import annotations

from puma.scenarios.base import LabelScenario, register_scenario
from puma.suites.model import TRIAGE_LABELS, Suite, TaskKind


@register_scenario(TaskKind.TRIAGE)
class TriageScenario(LabelScenario):
    template = "triage.j2"
    shows_reporter = True
    cue_words = ("priority", "severity", "label", "classification")

    def labels(self, suite: Suite) -> tuple[str, ...]:
        return suite.labels or TRIAGE_LABELS
