"""One run as the catalogue sees it (`CatalogueRun`): its recomputed figures per cell, its grade
with the reasons, its plausibility and its visibility.

Built from a RunMetadata (puma.evaluate.metadata) by `catalogue_run`, which both the static
catalogue and the registry call, so a run gets the same grade wherever it is shown. The grading
criteria are documented in docs/catalogue.md; the thresholds are the constants below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from puma.catalogue.overlay import Visibility
from puma.catalogue.plausibility import Plausibility, judge_speed
from puma.errors import InputFileError
from puma.runfolder.metadata import HardwareSummary, PhaseAggregate, RunMetadata

Grade = Literal["flagship", "standard", "archive-only"]
GRADES: tuple[Grade, ...] = ("flagship", "standard", "archive-only")
SPEED_PHASE = "speed"  # the phase whose figures are the headline speed when a run has it
LEGACY_PHASE = "predict"  # manifest.phases of runs before phases were named

# Sample sizes (docs/catalogue.md, "Grades").
FLAGSHIP_MIN_ITEMS = 20  # items of every quality phase
FLAGSHIP_MIN_SPEED_CALLS = 5  # calls with a generation speed
STANDARD_MIN_ITEMS = 10
STANDARD_MIN_SPEED_CALLS = 3
MAX_FAILED_SHARE = 0.10  # failed or skipped calls of a phase, for a flagship run
# Command-line overrides that do not change what is measured.
HARMLESS_OVERRIDES = frozenset({"output", "device_tag", "submitter", "timeout_s", "retries"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QualityFigure(_Model):
    phase: str
    metric: str
    higher_is_better: bool
    point: float | None
    ci_low: float | None
    ci_high: float | None
    n_items: int


class RunCell(_Model):
    """A run's figures for one of its cells (one model on the run's device)."""

    cell_id: str
    model: str
    model_bytes: int | None
    quality: list[QualityFigure]
    speed_phase: str | None  # the phase the speed and energy figures come from
    generation_tps: float | None
    generation_calls: int
    prompt_tps: float | None
    ttft_ms: float | None
    tpot_ms: float | None
    joules_per_token: float | None
    plausibility: Plausibility


class CatalogueRun(_Model):
    run_id: str
    handle: str
    device_tag: str
    folder: str  # relative to the submissions folder ("" when not from a folder)
    hardware: HardwareSummary
    tool_version: str | None
    runtime: str | None
    completed_at: str | None
    ledger_state: str
    cells: list[RunCell]
    grade: Grade
    reasons: list[str]  # why the run is not graded higher (empty for flagship)
    flags: list[str]  # what a reader should know (metadata.json disagreeing, run.md missing)
    deviations: list[dict[str, Any]]
    visibility: Visibility = "public"
    visibility_reason: str | None = None

    @property
    def shown(self) -> bool:
        return self.visibility == "public"

    @property
    def ranked(self) -> bool:
        """Counts in the cells' statistics: shown and not archive-only."""
        return self.shown and self.grade != "archive-only"


def catalogue_run(
    meta: RunMetadata,
    *,
    handle: str,
    device_tag: str | None = None,
    folder: str = "",
    flags: Sequence[str] = (),
) -> CatalogueRun:
    """Grade a run from its recomputed metadata. `flags` are findings about the folder that cap
    the grade at standard (the figures themselves come from the ledger, so they still count)."""
    sizes = {m.name: m.size_bytes for m in meta.provenance.models}
    hardware, ledger = meta.provenance.hardware, meta.provenance.ledger
    if hardware is None or ledger is None:  # aggregate_run always reads both files
        raise InputFileError(
            f"run {meta.run_id}: metadata without hardware or ledger cannot be graded"
        )
    cells = []
    for model in sorted({a.model for a in meta.aggregates}):
        entries = [a for a in meta.aggregates if a.model == model]
        cells.append(_run_cell(entries, model, sizes.get(model), hardware))
    grade, reasons = grade_run(meta, cells, flags)
    return CatalogueRun(
        run_id=meta.run_id,
        handle=handle,
        device_tag=device_tag or meta.device_tag,
        folder=folder,
        hardware=hardware,
        tool_version=meta.provenance.tool.get("version"),
        runtime=meta.provenance.runtime_version or meta.provenance.runtime_kind,
        completed_at=meta.provenance.completed_at,
        ledger_state=ledger.state,
        cells=cells,
        grade=grade,
        reasons=reasons,
        flags=list(flags),
        deviations=meta.deviations,
    )


def _run_cell(
    entries: list[PhaseAggregate], model: str, size: int | None, hardware: HardwareSummary
) -> RunCell:
    quality = [
        QualityFigure(
            phase=a.phase,
            metric=a.quality.metric,
            higher_is_better=a.quality.higher_is_better,
            point=a.quality.value.point,
            ci_low=a.quality.value.ci_low,
            ci_high=a.quality.value.ci_high,
            n_items=a.n_items,
        )
        for a in entries
        if a.quality is not None
    ]
    speed = _speed_source(entries)
    generation = None if speed is None else speed.speed.generation_tps.median
    return RunCell(
        cell_id=entries[0].cell_id,
        model=model,
        model_bytes=size,
        quality=quality,
        speed_phase=None if speed is None else speed.phase,
        generation_tps=generation,
        generation_calls=0 if speed is None else speed.speed.generation_tps.n,
        prompt_tps=None if speed is None else speed.speed.prompt_tps.median,
        ttft_ms=None if speed is None else speed.speed.ttft_ms.median,
        tpot_ms=None if speed is None else speed.speed.tpot_ms.median,
        joules_per_token=None
        if speed is None or speed.energy is None
        else speed.energy.joules_per_token,
        plausibility=judge_speed(hardware, model, size, generation),
    )


def _speed_source(entries: list[PhaseAggregate]) -> PhaseAggregate | None:
    """The speed phase when the run has one, else the phase with the most timed generations."""
    timed = [a for a in entries if a.speed.generation_tps.n > 0]
    for a in timed:
        if a.phase == SPEED_PHASE:
            return a
    if not timed:
        return None
    return sorted(timed, key=lambda a: (-a.speed.generation_tps.n, a.phase))[0]


def deviation_effect(
    deviation: dict[str, Any],
) -> Literal["harmless", "changes-cell", "unclassified"]:
    """How a recorded deviation is classified (docs/commands/phases.md: harmless, or it changes
    the result's cell); one PUMA did not classify is "unclassified"."""
    for key in ("effect", "classification", "impact", "class"):
        value = str(deviation.get(key) or "").lower()
        if value == "harmless":
            return "harmless"
        if "cell" in value or "change" in value:
            return "changes-cell"
    return "unclassified"


def grade_run(
    meta: RunMetadata, cells: Sequence[RunCell], flags: Sequence[str]
) -> tuple[Grade, list[str]]:
    """(grade, reasons): archive-only when any archive reason holds, else standard when any
    flagship criterion fails, else flagship. The reasons say which, in the documented words."""
    archive: list[str] = []
    short: list[str] = []
    ledger = meta.provenance.ledger.state if meta.provenance.ledger is not None else "unsealed"
    if ledger in ("incomplete", "unsealed"):
        archive.append(f"ledger {ledger}: the run did not finish or was not sealed")
    elif ledger != "sealed":
        short.append("ledger written before seals (its last line is unchecked)")
    for deviation in meta.deviations:
        effect = deviation_effect(deviation)
        setting = deviation.get("setting", "a setting")
        if effect == "changes-cell":
            archive.append(f"deviation changes the cell: {setting}")
        elif effect == "unclassified":
            short.append(f"deviation not classified as harmless: {setting}")
    for name in meta.overrides:
        if name not in HARMLESS_OVERRIDES:
            short.append(f"canonical setting overridden on the command line: {name}")
    for cell in cells:
        if cell.plausibility.status == "implausible":
            archive.append(f"implausible speed for {cell.model}: {cell.plausibility.reason}")
    if meta.provenance.hardware is None or not meta.provenance.hardware.probed:
        short.append("hardware not fully probed (hardware.json has no class or device tag)")
    short.extend(flags)
    if not any(_standard_sample(cell) for cell in cells):
        archive.append(
            f"too small a sample: no quality phase with {STANDARD_MIN_ITEMS} items and no "
            f"speed with {STANDARD_MIN_SPEED_CALLS} timed calls"
        )
    short.extend(_phase_shortfalls(meta, cells))
    if archive:
        return "archive-only", archive + short
    if short:
        return "standard", short
    return "flagship", []


def _standard_sample(cell: RunCell) -> bool:
    return any(q.n_items >= STANDARD_MIN_ITEMS and q.point is not None for q in cell.quality) or (
        cell.generation_calls >= STANDARD_MIN_SPEED_CALLS
    )


def _phase_shortfalls(meta: RunMetadata, cells: Sequence[RunCell]) -> list[str]:
    """What stops the phases from being complete at flagship sample sizes."""
    out = []
    suites = {s.id: s for s in meta.provenance.suites}
    asked = [p for p in meta.phases if p != LEGACY_PHASE]
    if not asked:
        out.append("the run does not name its phases (written before phases)")
    for phase in asked or sorted({a.phase for a in meta.aggregates}):
        entries = [a for a in meta.aggregates if a.phase == phase]
        if not entries:
            out.append(f"phase {phase} asked for but not run")
            continue
        for a in entries:
            failed = a.n_errors + a.n_skipped
            if a.n_calls and failed / a.n_calls > MAX_FAILED_SHARE:
                out.append(f"phase {phase}: {failed} of {a.n_calls} calls failed or skipped")
            suite = suites.get(phase)
            if suite is not None and a.quality is None:
                out.append(f"phase {phase}: no quality ({a.quality_note or 'no answers'})")
            if suite is not None and a.n_items < FLAGSHIP_MIN_ITEMS:
                out.append(
                    f"phase {phase}: {a.n_items} items (flagship needs {FLAGSHIP_MIN_ITEMS})"
                )
    for cell in cells:
        if not cell.quality:
            out.append(f"{cell.model}: no quality phase")
        if cell.generation_calls < FLAGSHIP_MIN_SPEED_CALLS:
            out.append(
                f"{cell.model}: {cell.generation_calls} timed generations "
                f"(flagship needs {FLAGSHIP_MIN_SPEED_CALLS})"
            )
    return out
