"""How our names become schema v1's: suites to scenarios, strategies, and hardware to a profile.

Schema v1 has a closed vocabulary; anything of ours without a v1 name is refused with a message
that says what would fit, never silently renamed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from puma.errors import InputFileError
from puma.scenarios.strategies import is_strategy, parse_strategy, schema_v1_strategies
from puma.tasks import task_for, task_names

# Scenario by task kind (each task declares its v1 scenario, puma.tasks): the bundled suites and
# local Jira / TAWOS suites share their task's scenario.
SCENARIO_BY_TASK = {
    name: scenario for name in task_names() if (scenario := task_for(name).v1_scenario)
}
# The reverse, for re-scoring a submission that came without its provenance sidecar.
SUITE_BY_SCENARIO = {
    scenario: suite
    for name in task_names()
    if (scenario := task_for(name).v1_scenario) and (suite := task_for(name).v1_suite)
}


def scenario_for(suite_id: str, task: str) -> str:
    try:
        return SCENARIO_BY_TASK[task]
    except KeyError:
        raise InputFileError(
            f"suite {suite_id!r} is a {task!r} suite, which schema v1 has no scenario for",
            hint=f"only {', '.join(SCENARIO_BY_TASK)} suites can be shared",
        ) from None


def strategy_for(strategy: str) -> str:
    v1 = parse_strategy(strategy).schema_v1 if is_strategy(strategy) else None
    if v1 is not None:
        return v1
    if re.fullmatch(r"few-shot-\d+", strategy):
        raise InputFileError(
            f"strategy {strategy!r} has no name in schema v1, which knows few-shot-3 and "
            "few-shot-6 only",
            hint="run again with strategy few-shot-3 or few-shot-6 to share the result",
        )
    raise InputFileError(
        f"strategy {strategy!r} has no name in schema v1",
        hint=f"schema v1 knows the strategies {', '.join(schema_v1_strategies())}",
    )


@dataclass(frozen=True)
class _Profile:
    profile_id: str
    min_ram_gb: float
    min_vram_gb: float | None  # None: no GPU needed


# PUMA 4.0's hardware profile catalogue (its config/profiles.yaml), richest first: a machine gets
# the first profile whose minimums it meets; below every minimum it is `cpu-lite`.
PROFILES = (
    _Profile("gpu-high", 32, 24),
    _Profile("gpu-mid", 16, 12),
    _Profile("gpu-entry", 16, 6),
    _Profile("cpu-standard", 16, None),
    _Profile("cpu-lite", 0, None),
)


def profile_for(ram_gb: float, vram_gb: float | None) -> str:
    """The PUMA profile id of a machine with this RAM and (largest) GPU memory."""
    for profile in PROFILES:
        if ram_gb < profile.min_ram_gb:
            continue
        if profile.min_vram_gb is not None and (vram_gb is None or vram_gb < profile.min_vram_gb):
            continue
        return profile.profile_id
    return PROFILES[-1].profile_id
