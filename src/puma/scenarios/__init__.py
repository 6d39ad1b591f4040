"""Scenarios: the machinery that turns an item into a prompt and a model's text into a prediction.

Public: `Scenario`, `ParsedOutput`, `ParseStatus`, `strategy_names`, `parse_strategy`, `Strategy`,
`perturb`, `perturbation_names`. Each task kind defines its `Scenario` subclass in its own module
(puma.tasks); `puma.tasks.build_prompt`, `parse_output` and `gold_text` pick the suite's.
"""

from __future__ import annotations

from puma.scenarios.base import Scenario
from puma.scenarios.parsing import ParsedOutput, ParseStatus
from puma.scenarios.perturbations import perturb, perturbation_names
from puma.scenarios.strategies import Strategy, parse_strategy, strategy_names

__all__ = [
    "ParseStatus",
    "ParsedOutput",
    "Scenario",
    "Strategy",
    "parse_strategy",
    "perturb",
    "perturbation_names",
    "strategy_names",
]
