"""`share-results --dry-run`: turn one (suite, model) of a run folder into a submission package.

Reads manifest.json, hardware.json, emissions.json, run.jsonl, predictions.jsonl,
predictions_full.parquet and, when `puma eval` ran, metrics.json, each through its model in
puma.runfolder; writes the three package files
(see package.py). No network. Everything derived from the run is deterministic.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from puma.errors import CheckFailed, InputFileError
from puma.integrity import hash_predictions_file, predictions_summary_hash, rendered_row_digests
from puma.jsonio import dump_pretty, dumps_line
from puma.outputs import prepare_output_folder, remove_files, write_files
from puma.predictions import BASELINE
from puma.runfolder import RunFolder
from puma.runfolder.emissions import Emissions
from puma.runfolder.hardware import HardwareReport
from puma.runfolder.manifest import Manifest, ModelRecord, SuiteRecord
from puma.runfolder.predictions import CANONICAL_COLUMNS, read_canonical, read_full_table
from puma.runner.audit import check_run_folder
from puma.runner.finalize import is_failed, is_skipped
from puma.stats.point import call_median, call_percentiles
from puma.submission.mapping import PROFILES, profile_for, scenario_for, strategy_for
from puma.submission.package import PredictionsRecord, Provenance, SubmissionFiles
from puma.submission.schema import Submission, personal_data_in, submission_problems
from puma.submission.scoring import score_predictions, unknown_instances

_Entry = TypeVar("_Entry")
UNKNOWN_COUNTRY = "XXX"  # ISO 3166's user-assigned code, used for "unspecified"
MAX_INSTANCES = 100_000  # schema v1's ceiling on n_instances


@dataclass(frozen=True)
class Consents:
    """The three consents schema v1 requires, each given by the submitter."""

    public_release: bool
    redistribution: bool
    research_use: bool

    @classmethod
    def all_given(cls) -> Consents:
        return cls(True, True, True)


@dataclass(frozen=True)
class SubmissionPackage:
    files: SubmissionFiles
    submission: Submission
    provenance: Provenance


# --- the builder ---------------------------------------------------------------------------------


def build_submission(
    run_dir: Path,
    out_dir: Path,
    *,
    consents: Consents,
    suite_id: str | None = None,
    model: str | None = None,
    name: str | None = None,
    affiliation: str | None = None,
    contact: str | None = None,
    submission_id: str | None = None,
    submitted_at: datetime | None = None,
) -> SubmissionPackage:
    """Write `<id>.json`, `<id>.predictions.jsonl` and `<id>.provenance.jsonld` into out_dir.

    A submission describes one model on one suite: when the run has several, `suite_id` and
    `model` choose. Raises InputFileError for anything the run folder lacks or schema v1 refuses.
    """
    if not (consents.public_release and consents.redistribution and consents.research_use):
        raise InputFileError(
            "a submission needs all three consents (public release, redistribution under "
            "CC-BY-4.0, research use); nothing was written"
        )
    folder = RunFolder.open(Path(run_dir))
    manifest = Manifest.load(folder)
    suite = _choose_suite(manifest, suite_id)
    model_entry = _choose_model(manifest, model)
    if manifest.completed_at is None:
        raise InputFileError(
            "the run has not completed (manifest.json has no completed_at)",
            where=str(folder.root),
            hint=f"finish it with `puma run --resume {folder.root}`",
        )
    scenario = scenario_for(suite.id, suite.task)
    strategy = strategy_for(manifest.strategy)
    hardware = HardwareReport.load(folder)
    emissions = Emissions.load(folder) if folder.emissions.is_file() else None

    caveats: list[str] = []
    ledger = _checked_ledger(folder, caveats)
    rows = _canonical_rows(folder, suite.id, model_entry.name, single=_single(manifest))
    calls = _baseline_calls(folder, suite.id, model_entry.name)
    gold_by_id = {call["instance_id"]: call["gold"] for call in calls}
    unknown = unknown_instances(rows, gold_by_id)
    if unknown:
        raise InputFileError(
            f"{len(unknown)} predicted instance(s) have no row in predictions_full.parquet "
            f"(first: {unknown[0]!r}); the run folder is inconsistent",
            where=str(folder.predictions_full),
        )
    scored = score_predictions(suite.task, suite.labels, gold_by_id, rows)
    latency = _latency(calls)

    submission_id = submission_id or str(uuid.uuid4())
    files = SubmissionFiles.in_folder(Path(out_dir), submission_id)
    digest = predictions_summary_hash(rows)
    sustainability = _sustainability(emissions, caveats)
    # The profile is decided on the whole GB that the submission shows (a 24 GB card reports
    # 23.99), so a reader can re-derive it from the submission alone.
    vram = _largest_vram(hardware)
    profile_id = profile_for(round(hardware.ram_gb or 0), None if vram is None else round(vram))
    runtime_kind = str(manifest.runtime.get("kind") or "unknown")
    notes = _notes(manifest, suite, runtime_kind, profile_id, caveats)

    try:
        submission = Submission.model_validate(
            {
                "submission_id": submission_id,
                "submitted_at": submitted_at or datetime.now(UTC),
                "submitter": {
                    "name_or_alias": name or manifest.submitter,
                    "affiliation": affiliation,
                    "contact": contact,
                    "consent_public_release": consents.public_release,
                    "consent_redistribution": consents.redistribution,
                    "consent_research_use": consents.research_use,
                },
                "puma_version": _semver(str(manifest.tool.get("version", ""))),
                "run_metadata": {
                    "scenario": scenario,
                    "model": model_entry.name,
                    "strategy": strategy,
                    "n_instances": len(rows),
                    "seed": int(manifest.generation.get("seed", 42)),
                    "temperature": float(manifest.generation.get("temperature", 0.0)),
                    "ollama_version": _runtime_version(manifest.runtime),
                    "started_at": manifest.started_at,
                    "completed_at": manifest.completed_at,
                    "latency_ms_total": latency["total_ms"],
                    "latency_ms_p50": latency["p50_ms"],
                    "latency_ms_p95": latency["p95_ms"],
                },
                "hardware_profile": _hardware_profile(hardware, profile_id),
                "metrics": scored.metrics,
                "sustainability": sustainability,
                "integrity": {
                    "predictions_summary_hash": digest,
                    "payload_signature": None,
                    "verification_status": "self-attested",
                },
                "raw_predictions_url": None,
                "notes": notes,
            }
        )
    except ValidationError as exc:
        raise _as_input_error(exc, folder) from None

    provenance = Provenance(
        submission_id=submission_id,
        run_id=manifest.run_id,
        tool=manifest.tool,
        spec=_scrub_spec(manifest.spec),
        spec_hash=manifest.spec_hash,
        # What the sidecar has always recorded of them (selection and model details are not).
        suite={**suite.model_dump(exclude={"selection"}), "source": _scrub_source(suite.source)},
        scenario=scenario,
        model=model_entry.model_dump(include={"name", "digest"}),
        strategy=manifest.strategy,
        generation=manifest.generation,
        runtime={k: manifest.runtime.get(k) for k in ("kind", "version", "build")},
        device_tag=manifest.device_tag,
        hardware=hardware.model_dump(mode="json"),
        profile_rule=_profile_rule(),
        emissions=None if emissions is None else emissions.model_dump(mode="json"),
        ledger=ledger,
        predictions=PredictionsRecord(
            file=files.predictions.name,
            n_rows=len(rows),
            row_digests=rendered_row_digests(rows),
        ),
        metrics_extra=scored.extra,
        confidence_intervals=_confidence_intervals(folder, suite.id, model_entry.name),
        latency=latency,
        runtime_timings=_runtime_timings(calls),
        caveats=caveats,
    )
    _write_package(files, submission, provenance, rows, digest)
    return SubmissionPackage(files=files, submission=submission, provenance=provenance)


def _single(manifest: Manifest) -> bool:
    return len(manifest.suites) == 1 and len(manifest.models) == 1


def _choose_suite(manifest: Manifest, wanted: str | None) -> SuiteRecord:
    return _choose("suite", {s.id: s for s in manifest.suites}, wanted)


def _choose_model(manifest: Manifest, wanted: str | None) -> ModelRecord:
    return _choose("model", {m.name: m for m in manifest.models}, wanted)


def _choose(kind: str, entries: dict[str, _Entry], wanted: str | None) -> _Entry:
    """The entry named `wanted`, or the run's only one; the error lists what there is."""
    names = ", ".join(entries)
    if wanted is None:
        if len(entries) == 1:
            return next(iter(entries.values()))
        raise InputFileError(
            f"the run has {len(entries)} {kind}s and a submission describes one",
            hint=f"choose with --{kind} ({names})",
        )
    if wanted not in entries:
        raise InputFileError(f"the run has no {kind} {wanted!r}", hint=f"it has: {names}")
    return entries[wanted]


def _canonical_rows(
    folder: RunFolder, suite_id: str, model: str, *, single: bool
) -> list[dict[str, Any]]:
    """The four canonical columns of this suite and model, in hash order."""
    if not folder.predictions.is_file():
        raise InputFileError(
            "predictions.jsonl is missing: the run has not finished",
            where=str(folder.predictions),
            hint=f"finish it with `puma run --resume {folder.root}`",
        )
    rows: dict[str, dict[str, Any]] = {}
    for lineno, row in read_canonical(folder.predictions):
        # A row without suite/model columns belongs to the run's only suite and model.
        if (row.suite_id if row.suite_id is not None else suite_id if single else None) != suite_id:
            continue
        if (row.model if row.model is not None else model if single else None) != model:
            continue
        obj = row.model_dump()
        instance_id = row.instance_id
        if instance_id in rows:
            raise InputFileError(
                f"instance {instance_id!r} appears twice for {suite_id} / {model}",
                where=f"{folder.predictions}:{lineno}",
            )
        rows[instance_id] = {c: obj[c] for c in CANONICAL_COLUMNS}
    if not rows:
        raise InputFileError(
            f"no predictions for suite {suite_id!r} and model {model!r}",
            where=str(folder.predictions),
        )
    if len(rows) > MAX_INSTANCES:
        raise InputFileError(f"{len(rows)} instances; schema v1 allows at most {MAX_INSTANCES}")
    return [rows[key] for key in sorted(rows, key=str)]


def _baseline_calls(folder: RunFolder, suite_id: str, model: str) -> list[dict[str, Any]]:
    """The calls behind predictions.jsonl (baseline, first repetition), from the parquet."""
    import pyarrow.compute as pc

    columns = ["suite_id", "model", "perturbation", "repetition", "instance_id", "gold"]
    columns += ["total_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "error"]
    columns += ["parse_status"]
    table = read_full_table(folder.predictions_full, columns, required=columns)
    mask = pc.and_(
        pc.and_(pc.equal(table["suite_id"], suite_id), pc.equal(table["model"], model)),
        pc.and_(pc.equal(table["perturbation"], BASELINE), pc.equal(table["repetition"], 0)),
    )
    return list(table.filter(mask).to_pylist())


def _latency(calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    times = [float(c["total_ms"]) for c in calls if c.get("total_ms") is not None]
    if not times:
        return {"total_ms": 0, "p50_ms": 0, "p95_ms": 0, "n_calls": 0, "source": "none recorded"}
    p50, p95 = call_percentiles(times, [50, 95])
    return {
        "total_ms": round(sum(times)),
        "p50_ms": round(p50),
        "p95_ms": max(round(p95), round(p50)),
        "n_calls": len(times),
        "source": "predictions_full.parquet total_ms, baseline calls of this suite and model",
    }


def _runtime_timings(calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def median(name: str) -> float | None:
        return call_median([float(c[name]) for c in calls if c.get(name) is not None])

    def total(name: str) -> int | None:
        values = [int(c[name]) for c in calls if c.get(name) is not None]
        return sum(values) if values else None

    return {
        "calls": len(calls),
        "failed_calls": sum(1 for c in calls if is_failed(c)),
        "skipped_calls": sum(1 for c in calls if is_skipped(c)),
        "ttft_ms_median": median("ttft_ms"),
        "total_ms_median": median("total_ms"),
        "prompt_tokens_total": total("prompt_tokens"),
        "completion_tokens_total": total("completion_tokens"),
    }


def _largest_vram(hardware: HardwareReport) -> float | None:
    sizes = [g.vram_gb for g in hardware.gpus if g.vram_gb is not None]
    return max(sizes) if sizes else None


def _hardware_profile(hardware: HardwareReport, profile_id: str) -> dict[str, Any]:
    gpus = sorted(hardware.gpus, key=lambda g: -(g.vram_gb or 0.0))
    gpu = gpus[0] if gpus else None
    kernel = hardware.kernel.release if hardware.kernel else ""
    system = hardware.os.pretty or f"{hardware.os.system} {kernel}".strip()
    return {
        "profile_id": profile_id,
        "cpu_model": hardware.cpu.model[:128],
        "cpu_cores": max(1, hardware.cpu.cores or hardware.cpu.threads or 1),
        "ram_gb": max(1, round(hardware.ram_gb or 0)),
        "gpu_model": gpu.name[:128] if gpu else None,
        "gpu_vram_gb": round(gpu.vram_gb) if gpu and gpu.vram_gb is not None else None,
        "os": (system or "unknown")[:128],
    }


def _profile_rule() -> str:
    steps = []
    for p in PROFILES:
        need = f"RAM >= {p.min_ram_gb:g} GB"
        if p.min_vram_gb is not None:
            need += f" and a GPU with >= {p.min_vram_gb:g} GB"
        steps.append(f"{p.profile_id} ({need})")
    return "first of: " + ", ".join(steps) + " (PUMA 4.0's profile catalogue minimums)"


def _sustainability(emissions: Emissions | None, caveats: list[str]) -> dict[str, Any]:
    if emissions is None:
        caveats.append("No emissions.json: energy and CO2 were not recorded and are given as 0.")
        return {
            "codecarbon_version": "none",
            "co2_grams_total": 0.0,
            "energy_kwh_total": 0.0,
            "tracking_mode": "machine",
            "country_iso": UNKNOWN_COUNTRY,
        }
    mode = emissions.tracking_mode
    if not emissions.measured or mode not in ("machine", "process"):
        caveats.append(
            "Energy and CO2 are estimates, not measurements: CodeCarbon could not read a power "
            "counter here; tracking_mode says machine because schema v1 has no word for estimate."
        )
        mode = "machine"
    country = (emissions.country_iso or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", country):
        caveats.append(f"Country unknown: country_iso is {UNKNOWN_COUNTRY} (unspecified).")
        country = UNKNOWN_COUNTRY
    return {
        "codecarbon_version": (emissions.codecarbon_version or "none")[:32],
        "co2_grams_total": max(0.0, emissions.co2_g or 0.0),
        "energy_kwh_total": max(0.0, emissions.energy_kwh or 0.0),
        "tracking_mode": mode,
        "country_iso": country,
    }


def _runtime_version(runtime: dict[str, Any]) -> str:
    """schema v1 calls it ollama_version; for other runtimes we say which runtime it is."""
    kind = str(runtime.get("kind") or "unknown")
    version = runtime.get("version")
    text = str(version) if kind == "ollama" and version else f"{kind} {version or 'unknown'}"
    return text[:64]


def _semver(version: str) -> str:
    match = re.match(r"^\d+\.\d+\.\d+(-[a-zA-Z0-9.]+)?", version)
    if not match:
        raise InputFileError(f"the run's tool version {version!r} is not a semantic version")
    return match.group(0)


def _notes(
    manifest: Manifest, suite: SuiteRecord, runtime_kind: str, profile_id: str, caveats: list[str]
) -> str:
    lines = [
        f"Packaged by puma share-results from a run of suite {suite.id} on the "
        f"{runtime_kind} runtime (strategy {manifest.strategy}).",
        f"Hardware profile {profile_id} follows PUMA 4.0's catalogue minimums.",
        "Metrics are PUMA 5 point estimates from the predictions; confidence intervals, the "
        "suite content hash and the ledger hash are in the provenance sidecar.",
        *caveats,
    ]
    notes = " ".join(lines)[:2000]
    if personal_data_in(notes):  # an odd suite id could look like personal data; say less
        notes = " ".join(caveats)[:2000]
    return notes


def _scrub_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without what could identify a machine: the runtime URL and local paths."""
    scrubbed = dict(spec)
    runtime = dict(scrubbed.get("runtime") or {})
    if runtime.get("url"):
        runtime["url"] = "(removed)"
    if runtime:
        scrubbed["runtime"] = runtime
    suites = []
    for entry in scrubbed.get("suites") or []:
        entry = dict(entry)
        if entry.get("path"):
            entry["path"] = Path(str(entry["path"])).name
        suites.append(entry)
    if suites:
        scrubbed["suites"] = suites
    if scrubbed.get("output"):
        scrubbed["output"] = Path(str(scrubbed["output"])).name
    return scrubbed


def _scrub_source(source: str) -> str:
    return source if source in ("", "bundled") else Path(source).name


def _checked_ledger(folder: RunFolder, caveats: list[str]) -> dict[str, Any]:
    """The ledger's head, after checking its chain and seal, and that both prediction files are
    what it says: a run whose ledger or predictions were edited, or that never finished, is not
    packaged."""
    verdict = check_run_folder(folder, "not packaged")
    sealed = verdict.state == "sealed"
    if not sealed:
        caveats.append(
            "The run's ledger has no seal (written by a PUMA before 5.x sealed it): the "
            "chain is intact but its last line is not protected."
        )
    return {
        "last_hash": verdict.report.last_hash,
        "lines": verdict.report.lines,
        "sealed_in": "manifest.json" if sealed else None,
    }


def _confidence_intervals(
    folder: RunFolder, suite_id: str, model: str
) -> list[dict[str, Any]] | None:
    """metrics.json's cells of this suite and model, once shown to be current and unedited."""
    from puma.evaluate import checked_cells

    if not folder.metrics.is_file():
        return None
    return checked_cells(folder, suite_id, model)


def _as_input_error(exc: ValidationError, folder: RunFolder) -> InputFileError:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    hint = None
    if field.startswith("submitter.name_or_alias"):
        hint = "give an alias of 3 to 64 letters, digits, '.', '_' or '-' with --name"
    return InputFileError(
        f"the run cannot be described in schema v1: {field}: {message}",
        where=str(folder.root),
        hint=hint,
    )


def _write_package(
    files: SubmissionFiles,
    submission: Submission,
    provenance: Provenance,
    rows: Sequence[dict[str, Any]],
    digest: str,
) -> None:
    document = submission.to_json()
    problems = submission_problems(document)
    if problems:  # the models passed, so the exported JSON Schema and the models disagree
        raise CheckFailed(f"internal: the submission fails its own schema: {problems[0]}")
    try:
        text = "".join(dumps_line({c: row[c] for c in CANONICAL_COLUMNS}) + "\n" for row in rows)
    except ValueError as exc:  # NaN or infinity in a prediction
        raise InputFileError(f"a prediction holds a value JSON cannot carry: {exc}") from None
    prepare_output_folder(files.submission.parent)
    # The three files are one package: a fault leaves none of them, never half a package.
    write_files(
        {
            files.predictions: text,
            files.provenance: dump_pretty(provenance.model_dump(mode="json")),
            files.submission: dump_pretty(document),
        }
    )
    written = hash_predictions_file(files.predictions)
    if written.sha256 != digest:
        remove_files((files.predictions, files.provenance, files.submission))
        raise CheckFailed("internal: the written predictions file does not hash as declared")
