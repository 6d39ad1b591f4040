"""metadata.json (metadata-1.0, puma.runfolder.metadata): what one run measured per
(cell_id, phase), computed by one function, `build_metadata`, from the run's prediction rows, its
manifest and its hardware. Two callers:

- `puma eval` (`metadata_of_run`) gives it the rows of predictions_full.parquet;
- `aggregate_run` (`puma submission prepare|validate`, the catalogue, the registry) re-derives the
  rows from the ledger with the runner's own code (puma.runner.finalize.prediction_rows) and the
  bundled suite's gold (accepted only when its content hash is the one the run recorded), so
  nobody has to trust a submitted number.

Quality is the task's headline metric with a 95 % interval from puma.stats (a fixed seed: the
same rows give the same bytes on every machine); speed and energy are medians and sums over the
measured calls. No model, no bootstrap across folders: the catalogue calls this for thousands.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from puma.errors import CheckFailed, InputFileError, PumaError
from puma.evaluate.rows import CellRows, SuiteInfo, group_rows
from puma.jsonio import read_json
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
from puma.runfolder.metadata import (
    Energy,
    Figure,
    HardwareClass,
    HardwareSummary,
    LedgerRef,
    ModelRef,
    PhaseAggregate,
    Provenance,
    Quality,
    RunMetadata,
    Speed,
    SuiteRef,
)
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

# The quality interval: 95 %, percentile bootstrap over items (Wilson for a proportion), drawn
# from a fixed seed so that the same rows give the same bytes on every machine.
LEVEL: Final = 0.95
RESAMPLES: Final = 1000
SEED: Final = 42
PREDICT: Final = "predict"  # a call's role when it is scored or measured
WARMUP: Final = "warmup"  # recorded, excluded from every figure


def cell_id(device_tag: str, model: str) -> str:
    """The catalogue's cell, `<device-tag>/<model>` (puma.submission.cells checks the names of
    a contributor folder; a device tag never holds "/", so the first "/" splits the two)."""
    return f"{device_tag}/{model}"


def build_metadata(
    manifest: Manifest,
    rows: Sequence[Mapping[str, Any]],
    *,
    suites: Mapping[str, SuiteInfo],
    hardware: HardwareSummary | None,
    ledger: LedgerRef | None = None,
    warmups: Mapping[tuple[str, str], int] | None = None,
    notes: Mapping[str, str] | None = None,
    device_tag: str | None = None,
    where: str = "",
) -> RunMetadata:
    """metadata-1.0 of a run from its prediction rows (FULL_SCHEMA columns; `runtime_timings`
    as JSON text): rows of role "predict" are grouped by (model, phase); a phase named in
    `suites` gets its headline quality, one in `notes` the reason it has none. `warmups` counts
    the warm-up calls per (model, phase), which are in the ledger only."""
    warmups = warmups or {}
    notes = notes or {}
    tag = device_tag if device_tag is not None else manifest.device_tag
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {key: [] for key in warmups}
    for row in rows:
        if (row.get("phase") or PREDICT) == PREDICT:
            groups.setdefault((str(row["model"]), str(row["suite_id"])), []).append(row)
    aggregates = []
    for model, phase in sorted(groups):
        members = groups[(model, phase)]
        info = suites.get(phase)
        quality = _quality(info, members, where) if info is not None and members else None
        timings = [_runtime_timings(r) for r in members]
        skipped = [r.get("parse_status") == SKIPPED_STATUS for r in members]
        aggregates.append(
            PhaseAggregate(
                cell_id=cell_id(tag, model),
                model=model,
                phase=phase,
                task=None if info is None else info.task,
                n_calls=len(members),
                n_items=len({r["instance_id"] for r in members}),
                n_errors=sum(
                    1
                    for r, s in zip(members, skipped, strict=True)
                    if r.get("error") is not None and not s
                ),
                n_skipped=sum(skipped),
                n_warmup=warmups.get((model, phase), 0),
                n_cold=sum(1 for t in timings if t.get("cold") is True),
                quality=quality,
                quality_note=notes.get(phase) or None,
                speed=_speed(members, timings),
                energy=_energy(members, timings),
            )
        )
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


def metadata_of_run(
    folder: RunFolder, manifest: Manifest, rows: Sequence[Mapping[str, Any]], suites: Any
) -> RunMetadata:
    """`puma eval`'s metadata.json: the rows it scored, with the folder's hardware.json and
    ledger (its state and warm-up calls) when it has them. For a run of bundled suites this is
    byte for byte what `aggregate_run` recomputes from the ledger."""
    hardware = hardware_summary(folder.hardware) if folder.hardware.is_file() else None
    ledger: LedgerRef | None = None
    warmups: dict[tuple[str, str], int] = {}
    if folder.ledger.is_file():
        ledger, events = verified_ledger(folder, manifest)
        warmups = _warmups(events)
    return build_metadata(
        manifest,
        rows,
        suites=suites,
        hardware=hardware,
        ledger=ledger,
        warmups=warmups,
        where=str(folder.root),
    )


def aggregate_run(folder: Path, *, device_tag: str | None = None) -> RunMetadata:
    """metadata-1.0 of a run folder or contributor folder, from its manifest, hardware and
    ledger alone. `device_tag` names the cell's device (a contributor folder's `<device-tag>`
    folder); by default the tag the run recorded. InputFileError for a missing or malformed
    file, CheckFailed for a ledger whose chain or seal does not verify."""
    run = RunFolder(Path(folder))
    if not run.manifest.is_file():
        raise InputFileError("manifest.json is missing", where=str(run.manifest))
    manifest = Manifest.load(run)
    hardware = hardware_summary(run.hardware)
    if not run.ledger.is_file():
        raise InputFileError("run.jsonl (the ledger) is missing", where=str(run.ledger))
    ledger, events = verified_ledger(run, manifest)
    where = str(run.ledger)
    # The deciding line of each measured call (its last success, skip or attempt), as the
    # runner decides it when it writes the predictions.
    measured = list(
        final_events(e for e in events if isinstance(e, CallRecord) and e.phase == PREDICT).values()
    )
    golds = {phase: _gold(manifest, phase) for phase in sorted({e.suite_id for e in measured})}
    plan = []
    for event in measured:
        known = golds[event.suite_id]
        text = ""
        if isinstance(known, _Gold):
            found = known.gold.get(event.instance_id)
            if found is None:
                raise InputFileError(
                    f"instance {event.instance_id!r} is not in suite {event.suite_id!r}",
                    where=where,
                )
            text = found
        task = known.task if isinstance(known, _Gold) else ""
        plan.append(RowPlan(call_key(event), task, text, "{}"))
    decided: list[LedgerEvent] = [e for e in measured if isinstance(e, CallEvent | SkippedEvent)]
    rows = [
        r.model_dump() for r in prediction_rows(manifest.run_id, manifest.strategy, plan, decided)
    ]
    suites = {}
    for phase, known in golds.items():
        if isinstance(known, _Gold):
            record = manifest.suite(phase)
            labels = tuple(record.labels) if record is not None else known.labels
            suites[phase] = SuiteInfo(phase, known.task, labels)
    return build_metadata(
        manifest,
        rows,
        suites=suites,
        hardware=hardware,
        ledger=ledger,
        warmups=_warmups(events),
        notes={p: k for p, k in golds.items() if isinstance(k, str)},
        device_tag=device_tag,
        where=where,
    )


# Reading the run ----------------------------------------------------------------------------


def verified_ledger(run: RunFolder, manifest: Manifest) -> tuple[LedgerRef, list[LedgerEvent]]:
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


def _warmups(events: Sequence[LedgerEvent]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for e in events:
        if isinstance(e, CallRecord) and e.phase == WARMUP:
            counts[(e.model, e.suite_id)] = counts.get((e.model, e.suite_id), 0) + 1
    return counts


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def hardware_summary(path: Path) -> HardwareSummary:
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


# Gold answers of a bundled suite --------------------------------------------------------------


@dataclass(frozen=True)
class _Gold:
    task: str
    labels: tuple[str, ...]
    gold: dict[str, str]  # instance id -> canonical gold text


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


# Per (cell, phase) ----------------------------------------------------------------------------


def _runtime_timings(row: Mapping[str, Any]) -> dict[str, Any]:
    text = row.get("runtime_timings")
    if not text:
        return {}
    value = json.loads(text) if isinstance(text, str) else text
    return value if isinstance(value, dict) else {}


def _quality(info: SuiteInfo, rows: list[Mapping[str, Any]], where: str) -> Quality | None:
    from puma.tasks import MetricInput, metric_for

    suites = group_rows([dict(r) for r in rows], {info.id: info}, where)
    if not suites:
        return None
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
    value = _headline_value(metric, x, stats, columns, mask, n, info.id)
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


def _speed(rows: list[Mapping[str, Any]], timings: list[dict[str, Any]]) -> Speed:
    """Medians over answered warm calls: a failed call's timing measures the failure, and a cold
    one the model's loading (the speed phases report cold figures apart)."""
    ok = [
        r
        for r, t in zip(rows, timings, strict=True)
        if r.get("error") is None and t.get("cold") is not True
    ]
    tpot = []
    for r in ok:
        tokens, total, ttft = r.get("completion_tokens"), r.get("total_ms"), r.get("ttft_ms")
        if tokens is not None and tokens > 1 and total is not None and ttft is not None:
            tpot.append((float(total) - float(ttft)) / (tokens - 1))
    return Speed(
        prompt_tps=_figure([r.get("prompt_tps") for r in ok]),
        generation_tps=_figure([r.get("generation_tps") for r in ok]),
        ttft_ms=_figure([r.get("ttft_ms") for r in ok]),
        tpot_ms=_figure(tpot),
    )


def _energy(rows: list[Mapping[str, Any]], timings: list[dict[str, Any]]) -> Energy | None:
    measured = []
    tokens = 0
    for r, t in zip(rows, timings, strict=True):
        value = t.get("energy_j")
        if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
            measured.append(float(value))
            tokens += r.get("completion_tokens") or 0
    if not measured:
        return None
    joules = math.fsum(measured)  # exactly rounded: the same total in any call order
    return Energy(
        joules=float(clean_float(joules) or 0.0),
        joules_per_token=clean_float(joules / tokens) if tokens else None,
        n_calls=len(measured),
    )
