"""The phase registry: every phase `puma run --phases` can select, one declaration each.

A quality phase is a bundled suite of the same id, run by the runner like any suite (its task
kind scores it); a speed phase is a coroutine in this package that makes its own calls through
the runtime and writes them to the ledger. `select_phases` turns `--phases a,b|all` into what
the run does, and refuses an unknown name by listing what exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from puma.errors import SpecError

if TYPE_CHECKING:
    from puma.runfolder.speed import PhaseResult
    from puma.speed.run import PhaseContext

PhaseKind = Literal["quality", "speed"]
SpeedPhaseFn = Callable[["PhaseContext"], Awaitable["PhaseResult"]]
ALL = "all"


@dataclass(frozen=True)
class Phase:
    """One phase: its name (the ledger's suite_id), its kind, what it needs, one line for
    people; a speed phase's coroutine and the fewest models it can run with."""

    name: str
    kind: PhaseKind
    needs: str
    summary: str
    run: SpeedPhaseFn | None = field(default=None, compare=False)
    min_models: int = 1


_PHASES: dict[str, Phase] = {}


def register_phase(phase: Phase) -> Phase:
    if phase.name in _PHASES:
        raise ValueError(f"phase {phase.name!r} is registered twice")
    if (phase.kind == "speed") != (phase.run is not None):
        raise ValueError(f"phase {phase.name!r}: a speed phase, and only one, has a coroutine")
    _PHASES[phase.name] = phase
    return phase


# The speed phases' modules, in the order `all` runs them: the headline first, while the
# machine is as cool as it will be, the longest (the context edge) last.
SPEED_MODULES = ("throughput", "parallel", "context_edge")


def _load_speed_phases() -> None:
    # The speed phases register themselves on import; imported here so that the registry is
    # whole whoever asks first.
    for module in SPEED_MODULES:
        importlib.import_module(f"puma.speed.{module}")


register_phase(
    Phase(
        "small-model-eval",
        "quality",
        needs="the bundled suite small-model-eval",
        summary="short general questions with checkable answers",
    )
)
register_phase(
    Phase(
        "python-tasks",
        "quality",
        needs="the bundled suite python-tasks",
        summary="small programming tasks with hidden unit tests, scored after the run",
    )
)


def all_phases() -> list[Phase]:
    """Every declared phase: quality first, then the speed phases module by module
    (SPEED_MODULES), each module's in declaration order."""
    _load_speed_phases()
    order = {name: i for i, name in enumerate(SPEED_MODULES)}

    def position(phase: Phase) -> tuple[bool, int]:
        module = phase.run.__module__.rsplit(".", 1)[-1] if phase.run else ""
        return phase.kind != "quality", order.get(module, len(order))

    return sorted(_PHASES.values(), key=position)


def phase_for(name: str) -> Phase | None:
    _load_speed_phases()
    return _PHASES.get(name)


def quality_available(phase: Phase) -> bool:
    """A quality phase can run when its suite is bundled with this PUMA."""
    from puma.suites.bundled import bundled_ids

    return phase.name in bundled_ids()


@dataclass(frozen=True)
class PhaseSelection:
    """What `--phases` asked for: quality suites to add, speed phases to run (in the order
    given), and the phases `all` passed over, each with why."""

    quality: list[str]
    speed: list[Phase]
    all: bool
    passed_over: list[tuple[str, str]]

    @property
    def names(self) -> list[str]:
        return [*self.quality, *(p.name for p in self.speed)]


def select_phases(text: str, n_models: int) -> PhaseSelection:
    """Parse `--phases` (comma-separated names, or `all`). An unknown or unusable name named
    explicitly is a SpecError listing what exists; `all` passes over what cannot run here
    (a quality suite not bundled, a mixed-model phase with one model) and says why."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpecError("--phases names no phase", where="--phases", hint=_known_hint())
    everything = ALL in names
    if everything and len(names) > 1:
        raise SpecError(
            "--phases all cannot be combined with other names", where="--phases", hint=_known_hint()
        )
    chosen = all_phases() if everything else [_known(n) for n in dict.fromkeys(names)]
    quality, speed, passed_over = [], [], []
    for phase in chosen:
        problem = _cannot_run(phase, n_models)
        if problem is not None:
            if not everything:
                raise SpecError(
                    f"phase {phase.name!r} {problem}", where="--phases", hint=_hint(phase)
                )
            passed_over.append((phase.name, problem))
        elif phase.kind == "quality":
            quality.append(phase.name)
        else:
            speed.append(phase)
    return PhaseSelection(quality, speed, everything, passed_over)


def _cannot_run(phase: Phase, n_models: int) -> str | None:
    if phase.kind == "quality" and not quality_available(phase):
        return "cannot run: its suite is not bundled with this PUMA"
    if n_models < phase.min_models:
        return f"needs at least {phase.min_models} models and the spec names {n_models}"
    return None


def _hint(phase: Phase) -> str:
    if phase.min_models > 1:
        return (
            "name the models in the spec (runtime.models: [a, b]); on the embedded runtime two "
            "paths to GGUF files (the same file twice loads it twice)"
        )
    return _known_hint()


def _known(name: str) -> Phase:
    phase = phase_for(name)
    if phase is None:
        raise SpecError(f"unknown phase {name!r}", where="--phases", hint=_known_hint())
    return phase


def _known_hint() -> str:
    parts = []
    for phase in all_phases():
        missing = phase.kind == "quality" and not quality_available(phase)
        parts.append(f"{phase.name}{' (suite not bundled)' if missing else ''}")
    return f"known phases: {', '.join(parts)}, or all"
