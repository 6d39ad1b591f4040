"""Pairwise prioritisation: two issues (a, b) in, the one to work on first ("A" or "B") out.

Item fields: a, b (each a triage-shaped issue without gold); gold "A" or "B". The prompt is
templates/prioritization.j2 (puma.scenarios); scored as classification over the two answers
(puma.tasks.labels). Schema v1 calls it `prioritization_jira`.

Single letters are also English words ("a fix"), so a lower-case letter counts only where nothing
else can be meant: after "issue", after an answer cue at the end of a clause, or alone.
"""

from __future__ import annotations

import re
from typing import Any

from puma.scenarios.base import LabelScenario
from puma.scenarios.parsing import Mention
from puma.scenarios.perturbations import perturb_issue
from puma.suites.model import PAIR_LABELS, Suite
from puma.tasks.base import register_task
from puma.tasks.labels import LabelTask

_CLAUSE_END = r"(?=\s*(?:[.,;:!?)\]]|$))"
_NAMED = re.compile(r"\b(?:issue|option|choice|ticket|bug|story)\s+([ab])\b", re.I)
_AFTER_CUE = re.compile(
    r"\b(?:first|answer|choice|pick|choose|select|prioriti[sz]e|go\s+with)\b"
    r"\s*(?:is|would\s+be|should\s+be|:|=|-)?\s*\(?"
    rf"(?:(?-i:([AB]))\b|([ab]){_CLAUSE_END})",
    re.I | re.M,
)
_BARE = re.compile(rf"(?<![\w'])([AB])(?![\w']){_CLAUSE_END}", re.M)
# "B is more urgent": an article is followed by a noun, never by one of these verbs.
_SUBJECT = re.compile(
    r"(?<![\w'])([AB])\s+(?:is|should|has|must|needs|comes|goes|wins|takes|matters)\b"
)
_LIST_MARKER = re.compile(r"^[ \t]*([AB])[.)][ \t]+\S", re.M)  # "A) Fix the crash" is a list


class PrioritizationScenario(LabelScenario):
    template = "prioritization.j2"
    shows_reporter = True
    cue_words = ("first", "choice", "pick")

    def labels(self, suite: Suite) -> tuple[str, ...]:
        return suite.labels or PAIR_LABELS

    def mentions(self, suite: Suite, text: str) -> list[Mention]:
        markers = {match.start(1) for match in _LIST_MARKER.finditer(text)}
        by_start: dict[int, Mention] = {}
        for pattern in (_NAMED, _AFTER_CUE, _BARE, _SUBJECT):
            for match in pattern.finditer(text):
                group = next(g for g in range(1, (match.lastindex or 0) + 1) if match.group(g))
                start = match.start(group)
                if start not in markers:
                    by_start[start] = Mention(match.group(group).upper(), start, match.end(group))
        return list(by_start.values())

    def perturbed(self, item: dict[str, Any], perturbation: str, *, seed: int) -> dict[str, Any]:
        out = dict(item)
        for side in ("a", "b"):
            out[side] = perturb_issue(
                perturbation,
                item[side],
                seed=seed,
                instance_id=f"{item['instance_id']}/{side}",
                shows_reporter=self.shows_reporter,
            )
        return out


@register_task
class PrioritizationTask(LabelTask):
    name = "prioritization"
    scenario_class = PrioritizationScenario
    v1_scenario = "prioritization_jira"
    v1_suite = "pm-prioritization"
