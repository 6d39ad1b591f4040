"""Scenarios: per task kind, the prompt an item becomes and the prediction a model's text becomes.

Public: `build_prompt`, `parse_output`, `ParsedOutput`, `strategy_names`, `parse_strategy`,
`Strategy`, `gold_text`, `perturb`. Each task registers a `Scenario` (see `base.py`).
"""

from __future__ import annotations

from typing import Any

from puma.runtimes.base import Prompt
from puma.scenarios import estimation, prioritization, triage  # noqa: F401  (they register)
from puma.scenarios.base import Scenario, register_scenario, scenario_for
from puma.scenarios.parsing import ParsedOutput, ParseStatus
from puma.scenarios.perturbations import perturb, perturbation_names
from puma.scenarios.strategies import Strategy, parse_strategy, strategy_names
from puma.suites.model import Suite

__all__ = [
    "ParseStatus",
    "ParsedOutput",
    "Scenario",
    "Strategy",
    "build_prompt",
    "gold_text",
    "parse_output",
    "parse_strategy",
    "perturb",
    "perturbation_names",
    "register_scenario",
    "scenario_for",
    "strategy_names",
]


def build_prompt(
    suite: Suite, item: dict[str, Any], strategy: str, *, seed: int, perturbation: str = "none"
) -> Prompt:
    """The prompt for one item: completion text ending at the answer cue, chat messages, stop
    sequences and (classification) the labels to score. Same arguments, same bytes."""
    return scenario_for(suite.task).build_prompt(
        suite, item, parse_strategy(strategy), seed=seed, perturbation=perturbation
    )


def parse_output(suite: Suite, text: str, strategy: str) -> ParsedOutput:
    """What the model's text answers: canonical label (or number text), status, estimate."""
    return scenario_for(suite.task).parse(suite, text, parse_strategy(strategy))


def gold_text(suite: Suite, item: dict[str, Any]) -> str:
    """An item's gold answer as canonical text ("Major", "5", "A"), comparable to a label."""
    return scenario_for(suite.task).answer_text(suite, item)
