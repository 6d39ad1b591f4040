"""A run session: plan the calls, open the runtime, make the calls, write the files.

`run_async` begins a run; `resume_async` continues one from its ledger, making only the calls
that have no successful line yet. `start_run` and `resume_run` are their synchronous twins, which
also work inside a running event loop (a notebook). All return a RunResult; nothing here renders
output.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from puma.errors import (
    ExitCode,
    InputFileError,
    Interrupted,
    OutputWriteError,
    PumaError,
    SpecError,
)
from puma.event_loop import run_sync
from puma.hardware import auto_device_tag, probe_hardware
from puma.jsonio import first_problem
from puma.outputs import prepare_output_folder
from puma.runfolder import RUN_PREFIX, RunFolder
from puma.runfolder.emissions import Emissions
from puma.runfolder.ledger import (
    FooterEvent,
    LedgerEvent,
    LedgerWriter,
    MetaEvent,
    ResumeEvent,
    read_ledger,
)
from puma.runfolder.manifest import Deviation, Manifest, ModelRecord, SuiteRecord
from puma.runner.audit import raise_if_broken, verify_run_ledger
from puma.runner.execute import (
    CallOutcome,
    ExecutionStats,
    WarningCallback,
    concurrency_deviation,
    execute_calls,
)
from puma.runner.finalize import completed_keys, is_failed, is_skipped, write_run_predictions
from puma.runner.manifest import (
    platform_record,
    short_hostname,
    tool_record,
    utc_now,
)
from puma.runner.plan import PlannedCall, build_plan
from puma.runtimes import create_runtime
from puma.runtimes.base import Runtime
from puma.spec import SpecFile, SuiteSpec
from puma.speed.canonical import PROFILE_CHOICES, canonical_settings
from puma.speed.endpoint import classify_endpoint
from puma.speed.phases import PhaseSelection, phase_for, select_phases
from puma.speed.plan import SpeedPlan, available_memory, plan_speed, run_planned
from puma.suites import Suite
from puma.suites.select import resolve_suite, selection_record
from puma.sustainability import EnergyMeter

PlanCallback = Callable[[int, int], None]  # (calls to make now, calls already done)
OutcomeCallback = Callable[[CallOutcome], None]


@dataclass
class RunResult:
    folder: RunFolder
    manifest: Manifest
    stats: ExecutionStats
    rows: list[dict[str, Any]]
    skipped_done: int  # calls a resume found already completed

    @property
    def failed_calls(self) -> int:
        return sum(1 for row in self.rows if is_failed(row))

    @property
    def skipped_calls(self) -> int:
        return sum(1 for row in self.rows if is_skipped(row))

    @property
    def exit_code(self) -> ExitCode:
        """3 when any planned call has no answer, failed or skipped; 0 otherwise."""
        unanswered = self.failed_calls + self.skipped_calls
        return ExitCode.COMPLETED_WITH_FAILURES if unanswered else ExitCode.OK


def apply_overrides(
    spec: SpecFile, overrides: dict[str, Any], quality_phases: list[str] | None = None
) -> SpecFile:
    """The spec with command-line overrides (model, limit, output) applied, and the suites of
    the quality phases `--phases` selected added after the spec's own."""
    runtime, suites, top = spec.runtime, list(spec.suites), {}
    if overrides.get("model"):
        runtime = runtime.model_copy(update={"model": overrides["model"], "models": None})
    present = {s.id for s in suites}
    suites += [SuiteSpec(id=name) for name in quality_phases or [] if name not in present]
    if overrides.get("limit"):
        suites = [s.model_copy(update={"limit": overrides["limit"]}) for s in suites]
    if overrides.get("output"):
        top["output"] = str(overrides["output"])
    return SpecFile.model_validate(
        {
            **spec.model_dump(),
            **top,
            "runtime": runtime.model_dump(),
            "suites": [s.model_dump() for s in suites],
        }
    )


def _new_run(
    spec: SpecFile, overrides: dict[str, Any] | None, run_id: str | None = None
) -> tuple[SpecFile, dict[str, Any], str, RunFolder]:
    """The effective spec, the overrides given, and the folder of a new run, once its output
    folder is shown to be writable (before any model loads). An unknown phase in `--phases`
    stops here too. A sweep shard passes its identity as `run_id`, so the same shard has the
    same run folder wherever it runs."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    effective = apply_overrides(spec, given)
    profile = given.get("speed_profile")
    if profile is not None and profile not in PROFILE_CHOICES:
        raise SpecError(
            f"unknown speed profile {profile!r}",
            where="--speed-profile",
            hint=f"one of {', '.join(PROFILE_CHOICES)}",
        )
    if given.get("phases"):
        selection = select_phases(given["phases"], len(effective.runtime.model_names))
        effective = apply_overrides(spec, given, selection.quality)
    prepare_output_folder(Path(effective.output))
    run_id = run_id or str(uuid.uuid4())
    return effective, given, run_id, RunFolder(Path(effective.output) / f"{RUN_PREFIX}{run_id}")


async def run_async(
    spec: SpecFile,
    spec_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    on_plan: PlanCallback | None = None,
    on_outcome: OutcomeCallback | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """A new run. `on_warning` hears, once each, the adaptations PUMA makes to the runtime
    (they are recorded in the manifest's deviations too)."""
    effective, given, run_id, folder = _new_run(spec, overrides)
    with _explain_stop(folder):
        return await _start(
            spec, effective, spec_path, given, run_id, on_plan, on_outcome, on_warning
        )


async def resume_async(
    run_dir: Path,
    on_plan: PlanCallback | None = None,
    on_outcome: OutcomeCallback | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Continue a run from its ledger (see `check_resumable`)."""
    folder = check_resumable(run_dir)
    prepare_output_folder(folder.root)  # before the model loads
    with _explain_stop(folder):
        return await _resume(folder, on_plan, on_outcome, on_warning)


def start_run(
    spec: SpecFile,
    spec_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    on_plan: PlanCallback | None = None,
    on_outcome: OutcomeCallback | None = None,
    on_warning: WarningCallback | None = None,
    run_id: str | None = None,
) -> RunResult:
    """`run_async`, waited for. Ctrl-C reaches this thread, not the coroutine, so the message
    that says what was kept is made here."""
    effective, given, run_id, folder = _new_run(spec, overrides, run_id)
    with _explain_stop(folder):
        return run_sync(
            _start(spec, effective, spec_path, given, run_id, on_plan, on_outcome, on_warning)
        )


def resume_run(
    run_dir: Path,
    on_plan: PlanCallback | None = None,
    on_outcome: OutcomeCallback | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """`resume_async`, waited for (see `start_run` for Ctrl-C)."""
    folder = check_resumable(run_dir)
    prepare_output_folder(folder.root)  # before the model loads
    with _explain_stop(folder):
        return run_sync(_resume(folder, on_plan, on_outcome, on_warning))


def check_resumable(run_dir: Path) -> RunFolder:
    """The run folder, once its ledger verifies (chain, and seal when it has one): continuing an
    altered chain would carry a forged line into the predictions. A half-written last line is
    what a crash leaves; resuming cuts it off. CheckFailed (exit 1) names the first bad line."""
    folder = RunFolder.open(run_dir)
    if not folder.ledger.is_file():
        raise InputFileError(
            "the run has no ledger (run.jsonl) to resume from", where=str(folder.root)
        )
    raise_if_broken(verify_run_ledger(folder), folder, "cannot resume")
    return folder


@contextlib.contextmanager
def _explain_stop(folder: RunFolder) -> Iterator[None]:
    """A run stopped by Ctrl-C or a write fault (a full disk) says what its ledger kept and
    how to go on."""
    try:
        yield
    except KeyboardInterrupt:
        kept = _kept(folder)
        if kept is None:
            raise Interrupted("interrupted before the first call; nothing was kept") from None
        raise Interrupted(
            f"interrupted: {kept}; resume with: puma run --resume {folder.root}"
        ) from None
    except OutputWriteError as exc:
        if folder.root.is_dir():
            kept = _kept(folder)
            then = (
                "then start the run again (no call was made)"
                if kept is None
                else f"then resume: puma run --resume {folder.root} ({kept})"
            )
            exc.hint = f"{exc.hint}; {then}"
        raise


def _kept(folder: RunFolder) -> str | None:
    """What the ledger of a stopped run keeps, e.g. "run.jsonl keeps 2 of 3 calls";
    None when no ledger was begun, and then the folder (a manifest at most) is removed, so no
    run that cannot be resumed is left looking like one."""
    if not folder.ledger.is_file():
        shutil.rmtree(folder.root, ignore_errors=True)
        return None
    try:
        events = read_ledger(folder.ledger, repair_tail=True).events
    except PumaError:
        return f"every completed call is in {folder.ledger}"
    meta = events[0]
    of = f" of {meta.planned_calls}" if isinstance(meta, MetaEvent) else ""
    # The planned calls are the suites'; a speed phase's calls are counted in speed.json.
    kept = [k for k in completed_keys(events) if not _is_speed_phase(k.suite_id)]
    return f"{folder.ledger.name} keeps {len(kept)}{of} calls"


def _is_speed_phase(suite_id: str) -> bool:
    phase = phase_for(suite_id)
    return phase is not None and phase.kind == "speed"


def _start_meter() -> EnergyMeter:
    """Energy is measured from before the model loads until the last call ends."""
    meter = EnergyMeter()
    meter.start()
    return meter


async def _open_runtime(
    spec: SpecFile, meter: EnergyMeter
) -> tuple[Runtime, dict[str, Any], list[ModelRecord], dict[str, float]]:
    """The runtime, checked: reachable and holding every model (and how long each model's
    check took: the embedded runtime loads it then). On failure nothing is left running (the
    runtime is closed and the energy meter stopped)."""
    runtime = create_runtime(spec.runtime, spec.timeout_s)
    load_ms: dict[str, float] = {}
    try:
        info = await runtime.info()
        models = []
        for name in spec.runtime.model_names:
            began = time.perf_counter()
            model = await runtime.ensure_model(name)
            load_ms[name] = (time.perf_counter() - began) * 1000.0
            models.append(
                ModelRecord(
                    name=name,
                    digest=model.digest,
                    size_bytes=model.size_bytes,
                    details=model.details,
                )
            )
    except BaseException:
        await runtime.aclose()
        meter.stop()
        raise
    record = {
        "kind": spec.runtime.kind,
        "url": info.url,
        "version": info.version,
        "build": info.build,
    }
    return runtime, record, models, load_ms


async def _start(
    canonical: SpecFile,
    spec: SpecFile,
    spec_path: Path | None,
    overrides: dict[str, Any],
    run_id: str,
    on_plan: PlanCallback | None,
    on_outcome: OutcomeCallback | None,
    on_warning: WarningCallback | None,
) -> RunResult:
    suites = _resolve_suites(spec, spec_path)
    plan = build_plan(spec, suites, spec.runtime.model_names)
    meter = _start_meter()
    runtime, runtime_record, models, load_ms = await _open_runtime(spec, meter)
    try:
        hardware = probe_hardware(runtime_build=runtime_record["build"])
        endpoint = classify_endpoint(runtime_record["url"])
        speed_plan = None
        if overrides.get("phases"):
            selection = select_phases(overrides["phases"], len(spec.runtime.model_names))
            speed_plan = plan_speed(
                spec,
                selection,
                overrides.get("speed_profile") or "auto",
                hardware,
                endpoint,
                available_memory(),
            )
        folder = RunFolder.create(Path(spec.output), run_id)
        manifest = Manifest(
            run_id=folder.run_id,
            tool=tool_record(),
            spec=spec.model_dump(mode="json"),
            spec_hash=spec.content_hash(),
            spec_path=str(spec_path) if spec_path else None,
            suites=[
                _suite_record(s, s_spec) for s, s_spec in zip(suites, spec.suites, strict=True)
            ],
            runtime=runtime_record,
            models=models,
            strategy=spec.strategy,
            generation=spec.generation.model_dump(mode="json"),
            seed=spec.generation.seed,
            perturbations=list(spec.perturbations),
            repetitions=spec.repetitions,
            concurrency=spec.concurrency,
            deviations=[
                *_runtime_deviations(spec, runtime, on_warning),
                *(speed_plan.deviations if speed_plan else []),
            ],
            canonical=canonical.generation.model_dump(mode="json"),
            overrides=overrides,
            phases=speed_plan.selection.names if speed_plan else ["predict"],
            submitter=spec.submitter,
            device_tag=auto_device_tag(hardware) if spec.device_tag == "auto" else spec.device_tag,
            hostname=short_hostname(),
            platform=platform_record(),
            started_at=utc_now(),
            endpoint=endpoint.model_dump(mode="json"),
            speed=speed_plan.manifest_record() if speed_plan else None,
        )
        manifest.save(folder)
        hardware.save(folder)
        ledger = LedgerWriter.create(folder.ledger)
        ledger.append(
            MetaEvent(
                run_id=folder.run_id,
                spec_hash=manifest.spec_hash,
                tool=manifest.tool,
                ts=manifest.started_at,
                planned_calls=len(plan),
            )
        )
        return await _execute(
            folder,
            manifest,
            spec,
            plan,
            runtime,
            ledger,
            meter,
            [],
            on_plan,
            on_outcome,
            on_warning,
            speed=_SpeedRun(speed_plan, endpoint.where, load_ms) if speed_plan else None,
        )
    finally:
        await runtime.aclose()
        meter.stop()  # already stopped after the calls; this covers a failure before them


async def _resume(
    folder: RunFolder,
    on_plan: PlanCallback | None,
    on_outcome: OutcomeCallback | None,
    on_warning: WarningCallback | None,
) -> RunResult:
    manifest = Manifest.load(folder)
    try:
        spec = SpecFile.model_validate(manifest.spec)
    except ValidationError as exc:
        raise InputFileError(
            f"the run's spec no longer validates: {first_problem(exc, 'spec')}",
            where=str(folder.manifest),
            hint="resume it with the PUMA version that started it, or start a new run",
        ) from None
    suites = _resolve_suites(spec, Path(manifest.spec_path) if manifest.spec_path else None)
    for suite, record in zip(suites, manifest.suites, strict=True):
        if suite.content_hash != record.content_hash:
            raise InputFileError(
                f"suite {suite.id} changed since the run started "
                f"({record.content_hash[:12]} then, {suite.content_hash[:12]} now)",
                where=str(folder.manifest),
                hint="resume with the suite data the run started with, or start a new run",
            )
    plan = build_plan(spec, suites, spec.runtime.model_names)
    previous = read_ledger(folder.ledger, repair_tail=True).events
    ledger = LedgerWriter.reopen(folder.ledger)
    done = completed_keys(previous)
    remaining = [p for p in plan if p.key not in done]
    meter = _start_meter()
    runtime, _, _, load_ms = await _open_runtime(spec, meter)
    try:
        now = utc_now()
        deviations = [*manifest.deviations, *_runtime_deviations(spec, runtime, on_warning)]
        manifest = manifest.model_copy(
            update={
                "resumed_at": [*manifest.resumed_at, now],
                "completed_at": None,
                "ledger_seal": None,  # the head moves on; the new footer is sealed at the end
                "deviations": deviations,
            }
        )
        manifest.save(folder)
        ledger.append(ResumeEvent(ts=now, planned_calls=len(plan), remaining_calls=len(remaining)))
        return await _execute(
            folder,
            manifest,
            spec,
            remaining,
            runtime,
            ledger,
            meter,
            previous,
            on_plan,
            on_outcome,
            on_warning,
            full_plan=plan,
            speed=_resumed_speed(manifest, spec, load_ms),
        )
    finally:
        await runtime.aclose()
        meter.stop()  # already stopped after the calls; this covers a failure before them


async def _execute(
    folder: RunFolder,
    manifest: Manifest,
    spec: SpecFile,
    calls: list[PlannedCall],
    runtime: Runtime,
    ledger: LedgerWriter,
    meter: EnergyMeter,
    previous_events: list[LedgerEvent],
    on_plan: PlanCallback | None,
    on_outcome: OutcomeCallback | None,
    on_warning: WarningCallback | None,
    full_plan: list[PlannedCall] | None = None,
    speed: _SpeedRun | None = None,
) -> RunResult:
    full_plan = full_plan if full_plan is not None else calls

    def deviated(deviation: Deviation) -> None:
        """Saved at once: a run stopped later still says how it was made."""
        nonlocal manifest
        manifest = manifest.model_copy(update={"deviations": [*manifest.deviations, deviation]})
        manifest.save(folder)
        if on_warning:
            on_warning(deviation.reason)

    if on_plan:
        on_plan(len(calls), len(full_plan) - len(calls))
    try:
        stats = await execute_calls(calls, runtime, ledger, spec, on_outcome, deviated)
        if speed is not None:
            await run_planned(
                speed.plan,
                spec,
                runtime,
                ledger,
                folder,
                speed.endpoint,
                speed.load_ms,
                on_warning=on_warning,
            )
    except BaseException:
        # Keep the energy used so far for the resume, but report the first fault, not this one.
        with contextlib.suppress(OutputWriteError):
            _save_emissions(folder, meter.stop(), accumulate=bool(previous_events))
        raise
    _save_emissions(folder, meter.stop(), accumulate=bool(previous_events))
    completed_at = utc_now()
    events = read_ledger(folder.ledger).events
    rows = write_run_predictions(folder, manifest.run_id, spec.strategy, full_plan, events)
    ledger.append(
        FooterEvent(
            ts=completed_at,
            planned_calls=len(full_plan),
            calls_this_session=stats.calls,
            attempts=stats.attempts,
            failed_calls=sum(1 for row in rows if is_failed(row)),
            skipped_calls=sum(1 for row in rows if is_skipped(row)),
        )
    )
    ledger.close()
    manifest = manifest.model_copy(
        update={"completed_at": completed_at, "ledger_seal": ledger.seal()}
    )
    manifest.save(folder)
    return RunResult(folder, manifest, stats, rows, skipped_done=len(full_plan) - len(calls))


@dataclass(frozen=True)
class _SpeedRun:
    """The speed phases a run makes after its suites' calls."""

    plan: SpeedPlan
    endpoint: str
    load_ms: dict[str, float]


def _resumed_speed(
    manifest: Manifest, spec: SpecFile, load_ms: dict[str, float]
) -> _SpeedRun | None:
    """The speed phases of a resumed run: those its manifest planned; speed.json says which
    are done (a phase stopped half-way is made again from its start)."""
    record = manifest.speed
    if not record or not record.get("phases"):
        return None
    selection = PhaseSelection(
        quality=list(record.get("quality_phases", [])),
        speed=[p for p in (phase_for(n) for n in record["phases"]) if p is not None],
        all=False,
        passed_over=[],
    )
    plan = SpeedPlan(
        selection, canonical_settings(), record["profile"], int(record["context_max"]), []
    )
    where = (manifest.endpoint or {}).get("where", "in-process")
    return _SpeedRun(plan, str(where), load_ms)


def _runtime_deviations(
    spec: SpecFile, runtime: Runtime, on_warning: WarningCallback | None
) -> list[Deviation]:
    """A server that cannot take the spec's concurrency gets fewer calls at once, with a warning
    and a deviation in the manifest (a runtime serial by design, like the embedded one, not)."""
    cap, reason = runtime.max_parallel, runtime.max_parallel_reason
    if cap is None or reason is None or cap >= spec.concurrency:
        return []
    if on_warning:
        on_warning(f"concurrency {spec.concurrency} → {cap}: {reason}")
    return [concurrency_deviation(spec.concurrency, cap, reason)]


def _resolve_suites(spec: SpecFile, spec_path: Path | None) -> list[Suite]:
    """The spec's suites; a local data path is relative to the spec file's folder."""
    base_dir = spec_path.parent if spec_path else None
    return [resolve_suite(s, base_dir=base_dir) for s in spec.suites]


def _suite_record(suite: Suite, suite_spec: SuiteSpec) -> SuiteRecord:
    return SuiteRecord(
        selection=selection_record(suite, suite_spec),
        id=suite.id,
        version=suite.version,
        task=suite.task,
        labels=list(suite.labels),
        content_hash=suite.content_hash,
        n_items=len(suite.items),
        source=suite.source,
    )


def _save_emissions(folder: RunFolder, emissions: Emissions, accumulate: bool) -> None:
    if accumulate and folder.emissions.is_file():
        emissions = Emissions.load(folder).plus(emissions)
    emissions.save(folder)
