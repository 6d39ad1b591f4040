"""Effort estimation: a user story in, story points out (the Fibonacci scale 1, 2, 3, 5, 8, 13, 21).

Item fields: project, title, description; gold is an integer on the scale. A plausible number off
the scale (1 to 100) is kept as said, marked fuzzy; it is never snapped to the scale.
"""

from __future__ import annotations

from typing import Any

from puma.predictions import canonical_number, canonical_number_text
from puma.scenarios.base import Scenario, register_scenario
from puma.scenarios.parsing import (
    ParsedOutput,
    ParseStatus,
    plausible_estimate,
    tolerant_number,
    trim_answer,
)
from puma.suites.model import FIBONACCI_POINTS, Suite, TaskKind


@register_scenario(TaskKind.ESTIMATION)
class EstimationScenario(Scenario):
    template = "estimation.j2"
    cue_words = ("story points", "story point", "points", "estimate", "sp")

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {"points": FIBONACCI_POINTS}

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        text = canonical_number_text(example["gold"])
        return text if text is not None else str(example["gold"])

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        number = canonical_number(trim_answer(answer))
        if number is None:
            return None
        return _estimate(number, strict=True)

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        label = tolerant_number(text)
        number = canonical_number(label)
        return None if number is None else _estimate(number, strict=False)


def _estimate(number: int | float, *, strict: bool) -> ParsedOutput | None:
    """Only a number alone and on the scale is "ok"; off the scale it is kept but "fuzzy"."""
    if not plausible_estimate(float(number)):
        return None
    status: ParseStatus = "ok" if strict and number in FIBONACCI_POINTS else "fuzzy"
    return ParsedOutput(label=str(number), value=float(number), status=status)
