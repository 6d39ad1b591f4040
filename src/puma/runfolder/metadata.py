"""metadata.json (metadata-1.0): what one run measured, per (cell_id, phase), as one Pydantic
model shared by its writers (`puma eval` in the run folder, `puma submission prepare` in the
contributor folder) and its readers (`submission validate`, the catalogue, the registry).

The figures are computed by puma.evaluate.metadata; this module only owns the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from puma.errors import InputFileError
from puma.jsonio import dump_pretty, read_json, write_json
from puma.runfolder.metrics import MetricValue

METADATA_SCHEMA: Final = "metadata-1.0"
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
    probe (it names the hardware class and a device tag); otherwise the class is derived."""

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
    """Where the figures come from, without the contributor's handle, host name or paths.
    `hardware` and `ledger` are None only for a run folder without hardware.json or run.jsonl
    (an imported or hand-made one); a contributor folder always has both."""

    tool: dict[str, str]
    spec_hash: str
    runtime_kind: str | None
    runtime_version: str | None
    started_at: str
    completed_at: str | None
    strategy: str
    suites: list[SuiteRef]
    models: list[ModelRef]
    hardware: HardwareSummary | None
    ledger: LedgerRef | None


class RunMetadata(_Model):
    schema_version: Literal["metadata-1.0"] = METADATA_SCHEMA
    run_id: str
    device_tag: str
    phases: list[str]  # what the run was asked to do (manifest.phases)
    provenance: Provenance
    deviations: list[dict[str, Any]]  # manifest.deviations as recorded
    overrides: list[str]  # settings the command line changed from the spec (names only)
    aggregates: list[PhaseAggregate]


def metadata_bytes(meta: RunMetadata) -> bytes:
    """metadata.json's bytes: sorted keys, indent 2, the same bytes for the same run."""
    return dump_pretty(meta.model_dump(mode="json")).encode("utf-8")


def write_metadata(meta: RunMetadata, path: Path) -> None:
    """Write metadata.json (an OutputWriteError on a write fault)."""
    write_json(path, meta.model_dump(mode="json"))


def read_metadata(path: Path) -> RunMetadata:
    """A metadata.json; InputFileError naming the field that is wrong."""
    data = read_json(path)
    try:
        return RunMetadata.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise InputFileError(f"{field}: {error['msg']}", where=str(path)) from None
