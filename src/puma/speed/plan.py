"""What a run with `--phases` does beyond its suites: which speed phases, at which profile and
context, with which deviations from the canonical settings; and running them at the end of the
run's calls (the runner's session calls `plan_speed` at start and `run_planned` after the
suites' calls, on the same runtime, ledger and energy meter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from puma.runfolder import RunFolder
from puma.runfolder.ledger import CallEvent, LedgerWriter
from puma.runfolder.manifest import Deviation
from puma.runfolder.speed import SpeedReport
from puma.runtimes.base import GenerationOptions, Runtime
from puma.spec import SpecFile
from puma.speed.canonical import (
    CanonicalSettings,
    ProfileName,
    canonical_deviations,
    canonical_hash,
    canonical_settings,
    choose_profile,
    fit_context,
)
from puma.speed.data import speed_data, speed_data_hash
from puma.speed.endpoint import Endpoint
from puma.speed.phases import PhaseSelection
from puma.speed.run import PhaseContext, method_record, run_speed_phases


@dataclass(frozen=True)
class SpeedPlan:
    selection: PhaseSelection
    settings: CanonicalSettings
    profile_name: ProfileName
    context_max: int
    deviations: list[Deviation]

    def manifest_record(self) -> dict[str, Any]:
        """manifest.json's `speed`: the canonical file, the profile and each phase's data."""
        return {
            "canonical_hash": canonical_hash(),
            "profile": self.profile_name,
            "context_max": self.context_max,
            "phases": [p.name for p in self.selection.speed],
            "quality_phases": list(self.selection.quality),
            "passed_over": [{"phase": n, "reason": r} for n, r in self.selection.passed_over],
            "data": {"file": "speed-phases.json", "sha256": speed_data_hash()},
        }


def hardware_class(hardware: Any) -> str | None:
    """The probe's hardware class; from its GPU list for a probe that has none."""
    declared = getattr(hardware, "hardware_class", None)
    if isinstance(declared, str):
        return declared
    gpus = getattr(hardware, "gpus", None)
    return None if gpus is None else ("cpu-only" if not gpus else "discrete-gpu")


def plan_speed(
    spec: SpecFile,
    selection: PhaseSelection,
    profile: str,
    hardware: Any,
    endpoint: Endpoint,
    available_bytes: int | None,
) -> SpeedPlan:
    settings = canonical_settings()
    deviations = canonical_deviations(spec, selection.names, selection.all)
    profile_name, profile_deviation = choose_profile(
        profile, hardware_class(hardware), endpoint.where
    )
    if profile_deviation is not None:
        deviations.append(profile_deviation)
    wanted = settings.profiles[profile_name].context_max
    # The context phases' KV cache lives here only when the model runs here.
    free = available_bytes if endpoint.where != "remote" else None
    context_max, context_deviation = (wanted, None)
    if any(p.name.startswith("context-edge") for p in selection.speed):
        context_max, context_deviation = fit_context(wanted, free)
    if context_deviation is not None:
        deviations.append(context_deviation)
    return SpeedPlan(selection, settings, profile_name, context_max, deviations)


def available_memory() -> int | None:
    import psutil

    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):
        return None


async def run_planned(
    plan: SpeedPlan,
    spec: SpecFile,
    runtime: Runtime,
    ledger: LedgerWriter,
    folder: RunFolder,
    endpoint_where: str,
    load_ms: dict[str, float],
    on_call: Callable[[CallEvent], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> SpeedReport:
    """Run the plan's speed phases (those speed.json does not already hold as done)."""
    g = spec.generation
    ctx = PhaseContext(
        runtime=runtime,
        ledger=ledger,
        models=list(spec.runtime.model_names),
        chat=spec.runtime.uses_chat,
        base=GenerationOptions(
            temperature=g.temperature, top_p=g.top_p, top_k=g.top_k, seed=g.seed, num_ctx=g.num_ctx
        ),
        settings=plan.settings,
        profile_name=plan.profile_name,
        profile=plan.settings.profiles[plan.profile_name],
        data=speed_data(),
        context_max=plan.context_max,
        load_ms=load_ms,
        on_call=on_call,
    )
    if folder.speed.is_file():
        report = SpeedReport.load(folder)
        ctx.cold.extend(report.cold)
        ctx.first_calls_done.update(c.model for c in report.cold)
    else:
        report = SpeedReport(
            run_id=folder.run_id,
            profile=plan.profile_name,
            canonical_hash=canonical_hash(),
            method=method_record(plan.settings, plan.profile_name),
            endpoint=endpoint_where,
        )
    return await run_speed_phases(ctx, plan.selection.speed, folder, report, on_warning)
