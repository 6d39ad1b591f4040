"""metadata.json of a contributor folder (metadata-1.0): what one run measured, per (cell_id,
phase), recomputed from the run's own files so that nobody has to trust a submitted number.

Reads manifest.json, hardware.json and run.jsonl (plus the bundled suite a quality phase names,
for its gold answers, accepted only when its content hash is the one the run recorded); writes
nothing but the file `write_metadata` is given. Predictions are re-derived from the ledger with
the runner's own code (puma.runner.finalize.prediction_rows); quality is the task's headline
metric with a 95 % interval from puma.stats. No model, no bootstrap across folders: the catalogue
calls this once per folder for thousands of folders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from puma.errors import CheckFailed, InputFileError, PumaError
from puma.evaluate.rows import CellRows, SuiteInfo, group_rows
from puma.jsonio import read_json, write_json
from puma.predictions import BASELINE
from puma.runfolder.folder import RunFolder
from puma.runfolder.ledger import (
    CallEvent,
    CallRecord,
    LedgerEvent,
    SkippedEvent,
    judge_ledger,
    read_ledger,
    read_sealed_ledger,
)
from puma.runfolder.manifest import Manifest
from puma.runfolder.metrics import MetricValue
from puma.runner.finalize import (
    SKIPPED_STATUS,
    RowPlan,
    call_key,
    final_events,
    prediction_rows,
)
from puma.stats.intervals import Proportion, clean_float, summarize
from puma.stats.resample import ResamplingEngine
from puma.submission.cells import cell_id

RUN_METADATA_SCHEMA: Final = "metadata-1.0"
# The quality interval: 95 %, percentile bootstrap over items (Wilson for a proportion), drawn
# from a fixed seed so that the same ledger gives the same bytes on every machine.
LEVEL: Final = 0.95
RESAMPLES: Final = 1000
SEED: Final = 42
PREDICT: Final = "predict"  # a call event's role when it is scored or measured
WARMUP: Final = "warmup"  # recorded, excluded from every figure
HardwareClass = Literal["discrete-gpu", "unified-memory", "cpu-only"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quality(_Model):
    """The phase's headline metric (the task's first) with its interval. Unparsed, failed and
    skipped answers are in `value.n` as wrong answers, never dropped."""

    metric: str
    higher_is_better: bool
    value: MetricValue
    n_unparsed: int  # answers the parser could not read (wrong)
    n_failed: int  # calls that failed after every retry, or were skipped (wrong)


class Figure(_Model):
    """The median of a per-call figure over the phase's measured calls, and how many had it."""

    median: float | None
    n: int


class Speed(_Model):
    prompt_tps: Figure
    generation_tps: Figure
    ttft_ms: Figure
    tpot_ms: Figure  # (total - TTFT) / (completion tokens - 1), as vLLM defines TPOT


class Energy(_Model):
    """From `runtime_timings.energy_j` of measured calls, when the runtime records it."""

    joules: float
    joules_per_token: float | None  # per generated token
    n_calls: int


class PhaseAggregate(_Model):
    cell_id: str
    model: str
    phase: str  # a suite id (quality phases) or a speed phase's name
    task: str | None  # the task kind of a quality phase
    n_calls: int  # measured calls (role "predict"), each counted once whatever its attempts
    n_items: int
    n_errors: int  # failed after every retry
    n_skipped: int  # not made: the prompt did not fit the context
    n_warmup: int  # warm-up calls (excluded from every figure)
    n_cold: int = 0  # measured calls made with the model not yet in memory (excluded from speed)
    quality: Quality | None
    quality_note: str | None = None  # why there is no quality where the phase has a suite
    speed: Speed
    energy: Energy | None = None


class SuiteRef(_Model):
    id: str
    version: str
    task: str
    content_hash: str
    n_items: int


class ModelRef(_Model):
    name: str
    digest: str | None
    size_bytes: int | None


class HardwareSummary(_Model):
    """What the catalogue reads of hardware.json. `probed` says the file is a full hardware-1.0
    probe (it names the hardware class and a device tag); otherwise the class is derived here."""

    probed: bool
    hardware_class: HardwareClass
    device_tag_suggestion: str | None
    cpu: str | None
    gpus: list[str]
    gpu_vram_bytes: int | None  # the largest GPU's
    ram_bytes: int | None


class LedgerRef(_Model):
    state: str  # puma.runfolder.ledger.SealState: sealed | older | incomplete | unsealed
    head: str | None
    lines: int


class Provenance(_Model):
    """Where the figures come from, without the contributor's handle, host name or paths."""

    tool: dict[str, str]
    spec_hash: str
    runtime_kind: str | None
    runtime_version: str | None
    started_at: str
    completed_at: str | None
    strategy: str
    suites: list[SuiteRef]
    models: list[ModelRef]
    hardware: HardwareSummary
    ledger: LedgerRef


class RunMetadata(_Model):
    schema_version: Literal["metadata-1.0"] = RUN_METADATA_SCHEMA
    run_id: str
    device_tag: str
    phases: list[str]  # what the run was asked to do (manifest.phases)
    provenance: Provenance
    deviations: list[dict[str, Any]]  # manifest.deviations as recorded
    overrides: list[str]  # settings the command line changed from the spec (names only)
    aggregates: list[PhaseAggregate]


def aggregate_run(folder: Path, *, device_tag: str | None = None) -> RunMetadata:
    """metadata-1.0 of a run folder or contributor folder, from its manifest, hardware and
    ledger. `device_tag` names the cell's device (a contributor folder's `<device-tag>` folder);
    by default the tag the run recorded. InputFileError for a missing or malformed file,
    CheckFailed for a ledger whose chain or seal does not verify."""
    run = RunFolder(Path(folder))
    manifest = _read_manifest(run)
    hardware = _hardware_summary(run.hardware)
    if not run.ledger.is_file():
        raise InputFileError("run.jsonl (the ledger) is missing", where=str(run.ledger))
    ledger, events = _verified_ledger(run, manifest)
    tag = device_tag if device_tag is not None else manifest.device_tag
    aggregates = _aggregates(manifest, events, tag, str(run.ledger))
    return RunMetadata(
        run_id=manifest.run_id,
        device_tag=tag,
        phases=list(manifest.phases),
        provenance=Provenance(
            tool=dict(manifest.tool),
            spec_hash=manifest.spec_hash,
            runtime_kind=_text(manifest.runtime.get("kind")),
            runtime_version=_text(manifest.runtime.get("version")),
            started_at=manifest.started_at,
            completed_at=manifest.completed_at,
            strategy=manifest.strategy,
            suites=[
                SuiteRef(
                    id=s.id,
                    version=s.version,
                    task=s.task,
                    content_hash=s.content_hash,
                    n_items=s.n_items,
                )
                for s in manifest.suites
            ],
            models=[
                ModelRef(name=m.name, digest=m.digest, size_bytes=m.size_bytes)
                for m in manifest.models
            ],
            hardware=hardware,
            ledger=ledger,
        ),
        deviations=[d.model_dump(mode="json") for d in manifest.deviations],
        overrides=sorted(k for k in manifest.overrides if k != "output"),
        aggregates=aggregates,
    )


def write_metadata(meta: RunMetadata, path: Path) -> None:
    """metadata.json for people and machines: sorted keys, indent 2, the same bytes for the same
    run (an OutputWriteError on a write fault)."""
    write_json(path, meta.model_dump(mode="json"))


def read_metadata(path: Path) -> RunMetadata:
    """A contributor folder's metadata.json; InputFileError naming the field that is wrong."""
    data = read_json(path)
    if isinstance(data, dict) and data.get("schema_version") == RUN_METADATA_SCHEMA:
        entries = data.get("aggregates")
        if isinstance(entries, list) and entries and "timings" in entries[0]:
            raise InputFileError(
                "this is the run folder's metadata.json written by `puma eval`, not a "
                "contributor folder's",
                where=str(path),
                hint="`puma submission prepare RUN_DIR` writes the contributor folder's",
            )
    try:
        return RunMetadata.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise InputFileError(f"{field}: {error['msg']}", where=str(path)) from None


# Reading the run ----------------------------------------------------------------------------


def _read_manifest(run: RunFolder) -> Manifest:
    if not run.manifest.is_file():
        raise InputFileError("manifest.json is missing", where=str(run.manifest))
    return Manifest.load(run)


def _verified_ledger(run: RunFolder, manifest: Manifest) -> tuple[LedgerRef, list[LedgerEvent]]:
    """The ledger's state and events; CheckFailed when its chain or seal does not verify. A
    sealed ledger takes the one-pass reader; anything else the full verdict, with its message."""
    seal = manifest.ledger_seal
    events = read_sealed_ledger(run.ledger, seal)
    if events is not None and seal is not None:
        return LedgerRef(state="sealed", head=seal.head, lines=seal.lines), events
    verdict = judge_ledger(run.ledger, seal)
    if not verdict.ok:
        where = f"{run.ledger}:{verdict.line}" if verdict.line else str(run.ledger)
        raise CheckFailed(f"the ledger does not verify: {verdict.message}", where=where)
    ref = LedgerRef(state=verdict.state, head=verdict.report.last_hash, lines=verdict.report.lines)
    return ref, read_ledger(run.ledger).events


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _hardware_summary(path: Path) -> HardwareSummary:
    """hardware.json read tolerantly: hardware-1.0 as puma.hardware probes it now, or as runs
    before the probe wrote it (no class, no tag: the class is derived from the GPU list)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError("hardware.json must be a JSON object", where=str(path))
    cpu = data.get("cpu")
    cpu_model = cpu.get("model") if isinstance(cpu, dict) else None
    gpus = [g for g in data.get("gpus") or [] if isinstance(g, dict)]
    names = [str(g.get("name")) for g in gpus if g.get("name")]
    vram = [_bytes(g, "vram_bytes", "vram_gb") for g in gpus]
    known_vram = [v for v in vram if v is not None]
    declared = data.get("hardware_class")
    tag = data.get("device_tag_suggestion")
    classes: tuple[HardwareClass, ...] = ("discrete-gpu", "unified-memory", "cpu-only")
    known = next((c for c in classes if c == declared), None)
    probed = known is not None and isinstance(tag, str)
    return HardwareSummary(
        probed=probed,
        hardware_class=known if known is not None else _derived_class(names, cpu_model),
        device_tag_suggestion=tag if isinstance(tag, str) else None,
        cpu=None if cpu_model is None else str(cpu_model),
        gpus=names,
        gpu_vram_bytes=max(known_vram) if known_vram else None,
        ram_bytes=_bytes(data, "ram_bytes", "ram_gb"),
    )


def _bytes(data: dict[str, Any], exact: str, gigabytes: str) -> int | None:
    value = data.get(exact)
    if isinstance(value, int | float) and value > 0:
        return int(value)
    value = data.get(gigabytes)
    if isinstance(value, int | float) and value > 0:
        return round(float(value) * 2**30)
    return None


def _derived_class(gpus: Sequence[str], cpu: Any) -> HardwareClass:
    if str(cpu or "").startswith("Apple") or any(g.startswith("Apple") for g in gpus):
        return "unified-memory"
    return "discrete-gpu" if gpus else "cpu-only"


# Per (cell, phase) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Gold:
    task: str
    labels: tuple[str, ...]
    gold: dict[str, str]  # instance id -> canonical gold text


def _aggregates(
    manifest: Manifest, events: list[LedgerEvent], device_tag: str, where: str
) -> list[PhaseAggregate]:
    calls = [e for e in events if isinstance(e, CallRecord)]
    warmups: dict[tuple[str, str], int] = {}
    for e in calls:
        if e.phase == WARMUP:
            warmups[(e.model, e.suite_id)] = warmups.get((e.model, e.suite_id), 0) + 1
    # The deciding line of each measured call (its last success, skip or attempt), as the
    # runner decides it when it writes the predictions.
    decided = final_events(e for e in calls if e.phase == PREDICT)
    by_phase: dict[tuple[str, str], list[CallRecord]] = {key: [] for key in warmups}
    for event in decided.values():
        by_phase.setdefault((event.model, event.suite_id), []).append(event)
    golds = {phase: _gold(manifest, phase) for phase in sorted({p for _, p in by_phase})}
    out = []
    for model, phase in sorted(by_phase):
        members = by_phase[(model, phase)]
        known = golds[phase]
        quality: Quality | None = None
        if isinstance(known, _Gold) and members:
            rows = _prediction_rows(manifest, known, members, phase, where)
            quality = _quality(manifest, phase, known, rows, where)
        out.append(
            PhaseAggregate(
                cell_id=cell_id(device_tag, model),
                model=model,
                phase=phase,
                task=known.task if isinstance(known, _Gold) else None,
                n_calls=len(members),
                n_items=len({e.instance_id for e in members}),
                n_errors=sum(1 for e in members if e.error is not None and not _skipped(e)),
                n_skipped=sum(1 for e in members if _skipped(e)),
                n_warmup=warmups.get((model, phase), 0),
                n_cold=sum(1 for e in members if _cold(e)),
                quality=quality,
                quality_note=known if isinstance(known, str) and known else None,
                speed=_speed(members),
                energy=_energy(members),
            )
        )
    return out


def _skipped(event: CallRecord) -> bool:
    return event.parse_status == SKIPPED_STATUS


def _prediction_rows(
    manifest: Manifest, gold: _Gold, events: list[CallRecord], suite_id: str, where: str
) -> list[dict[str, Any]]:
    """The phase's prediction rows, derived by the runner's own code with the suite's gold."""
    plan = []
    for event in events:
        text = gold.gold.get(event.instance_id)
        if text is None:
            raise InputFileError(
                f"instance {event.instance_id!r} is not in suite {suite_id!r}", where=where
            )
        plan.append(RowPlan(call_key(event), gold.task, text, "{}"))
    decided: list[LedgerEvent] = [e for e in events if isinstance(e, CallEvent | SkippedEvent)]
    rows = prediction_rows(manifest.run_id, manifest.strategy, plan, decided)
    return [row.model_dump() for row in rows]


def _gold(manifest: Manifest, suite_id: str) -> _Gold | str:
    """The gold answers of a quality phase; a phase that is no suite of the manifest (a speed
    phase) gives "", and a suite whose data is not here, or not the data the run used, gives the
    reason as text (its calls are still counted and timed)."""
    record = manifest.suite(suite_id)
    if record is None:
        return ""
    if record.source != "bundled":
        return f"suite {suite_id!r} is a local data set: its gold answers are not in the folder"
    try:
        gold = _bundled_gold(suite_id, record.content_hash)
    except PumaError as exc:
        return f"suite {suite_id!r} cannot be loaded here: {exc.message}"
    if gold is None:
        return (
            f"suite {suite_id!r} bundled with this PUMA is not the one the run used (content "
            f"hash {record.content_hash[:12]}…)"
        )
    return gold


@lru_cache(maxsize=64)
def _bundled_gold(suite_id: str, content_hash: str) -> _Gold | None:
    """Gold and slice values of a bundled suite, once per process (thousands of folders name the
    same few suites); None when the bundled data has another content hash."""
    from puma.suites import load_bundled_suite
    from puma.tasks import gold_text

    suite = load_bundled_suite(suite_id)
    if suite.content_hash != content_hash:
        return None
    return _Gold(
        task=suite.task,
        labels=tuple(suite.labels),
        gold={item["instance_id"]: gold_text(suite, item) for item in suite.items},
    )


def _quality(
    manifest: Manifest, suite_id: str, gold: _Gold, rows: list[dict[str, Any]], where: str
) -> Quality | None:
    from puma.tasks import MetricInput, metric_for

    record = manifest.suite(suite_id)
    labels = tuple(record.labels) if record is not None else gold.labels
    info = SuiteInfo(suite_id, gold.task, labels)
    suites = group_rows(rows, {suite_id: info}, where)
    baseline = [c for k, c in suites[0].cells.items() if k.perturbation == BASELINE]
    if not baseline:
        return None
    suite_rows, cell = suites[0], baseline[0]
    task = suite_rows.suite.kind
    stats = task.sufficient_stats(suite_rows.suite.labels)
    n = suite_rows.n
    columns = stats.columns(cell.item, cell.gold, cell.pred, n)
    mask = cell.mask(n)
    metric = metric_for(task.headline)
    position = np.searchsorted(np.flatnonzero(mask), cell.item)
    x = MetricInput(stats, columns[mask], cell.gold, cell.pred, position)
    value = _headline_value(metric, x, stats, columns, mask, n, suite_id)
    return Quality(
        metric=metric.name,
        higher_is_better=metric.higher_is_better,
        value=MetricValue.model_validate(value),
        n_unparsed=int(np.count_nonzero(cell.pred == -1) - _n_failed(cell)),
        n_failed=_n_failed(cell),
    )


def _n_failed(cell: CellRows) -> int:
    return int(np.count_nonzero(cell.error))


def _headline_value(
    metric: Any, x: Any, stats: Any, columns: np.ndarray, mask: np.ndarray, n: int, key: str
) -> dict[str, Any]:
    """The metric's summary as metrics.json writes it: a proportion gets Wilson's interval with
    no resampling at all; anything else a percentile bootstrap of RESAMPLES over items."""
    if metric.proportion and metric.numerator is not None:
        per_item = columns[mask]
        proportion = Proportion(metric.numerator(stats, per_item), stats.trials(per_item))
        return summarize(
            proportion.point,
            np.empty(0),
            None,
            level=LEVEL,
            method="percentile",
            n=int(mask.sum()),
            seed=SEED,
            analytic=proportion,
        )
    engine = ResamplingEngine(n, resamples=RESAMPLES, seed=SEED, key=key)
    if metric.counts is not None:
        handle = engine.add_counts(mask, metric.counts(x))
    else:
        handle = engine.add_sum(columns, mask, metric.sums(x))
    engine.run()
    d = engine.distribution(handle)
    return summarize(d.point, d.boot, d.jack, level=LEVEL, method="percentile", n=d.n, seed=SEED)


def _figure(values: Sequence[Any]) -> Figure:
    data = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if not data:
        return Figure(median=None, n=0)
    return Figure(median=clean_float(float(np.median(data))), n=len(data))


def _cold(event: CallRecord) -> bool:
    """A call the runtime marks cold (`runtime_timings.cold`: the model was loaded for it)."""
    return event.runtime_timings.get("cold") is True


def _speed(events: list[CallRecord]) -> Speed:
    """Medians over answered warm calls: a failed call's timing measures the failure, and a cold
    one the model's loading (the speed phases report cold figures apart)."""
    ok = [e for e in events if e.error is None and not _cold(e)]
    tpot = []
    for e in ok:
        tokens, total, ttft = e.completion_tokens, e.total_ms, e.ttft_ms
        if tokens is not None and tokens > 1 and total is not None and ttft is not None:
            tpot.append((float(total) - float(ttft)) / (tokens - 1))
    return Speed(
        prompt_tps=_figure([e.prompt_tps for e in ok]),
        generation_tps=_figure([e.generation_tps for e in ok]),
        ttft_ms=_figure([e.ttft_ms for e in ok]),
        tpot_ms=_figure(tpot),
    )


def _energy(events: list[CallRecord]) -> Energy | None:
    measured = []
    tokens = 0
    for e in events:
        value = e.runtime_timings.get("energy_j")
        if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
            measured.append(float(value))
            tokens += e.completion_tokens or 0
    if not measured:
        return None
    joules = math.fsum(measured)  # exactly rounded: the same total in any call order
    return Energy(
        joules=float(clean_float(joules) or 0.0),
        joules_per_token=clean_float(joules / tokens) if tokens else None,
        n_calls=len(measured),
    )


def metadata_bytes(meta: RunMetadata) -> bytes:
    """The bytes write_metadata writes, for comparing a recomputed metadata with a file."""
    from puma.jsonio import dump_pretty

    return dump_pretty(meta.model_dump(mode="json")).encode("utf-8")


__all__ = [
    "RUN_METADATA_SCHEMA",
    "PhaseAggregate",
    "RunMetadata",
    "aggregate_run",
    "metadata_bytes",
    "read_metadata",
    "write_metadata",
]
