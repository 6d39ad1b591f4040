"""Sweep files (`specs/sweeps/*.yaml`): a run-spec template, a matrix of models, configurations,
seeds and suites, the artifacts each shard hands back, and the environment workers must have.

Read with the run spec's YAML reader (`puma.spec.read_yaml_model`), so every problem is located
as file:line: field. Paths may hold placeholders ({sweep}, {model}, {family}, {configuration},
{seed}, {suite}, {shard}); an unknown one is an error here, not a KeyError on a worker.
"""

from __future__ import annotations

import string
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from puma.runfolder import RunFolder
from puma.runtimes import RuntimeOptions, options_union
from puma.spec import (
    HANDLE_PATTERN,
    SEED_MAX,
    GenerationSpec,
    PerturbationNames,
    SpecDocument,
    StrategyName,
    SuiteSpec,
    read_yaml_model,
)
from puma.spec_fields import NonEmptyText, StopText, StrictModel

if TYPE_CHECKING:
    RuntimeSection = RuntimeOptions
else:
    RuntimeSection = options_union()

SWEEP_EXAMPLE = "specs/sweeps/demo_sweep.yaml"
PLACEHOLDERS = ("sweep", "model", "family", "configuration", "seed", "suite", "shard", "tmp")
SHARD_RECORD = "shard.json"
# What `puma merge` needs of every shard: without these a shard cannot be scored or verified.
NEEDED_FILES = (RunFolder.MANIFEST, RunFolder.LEDGER, RunFolder.PREDICTIONS_FULL, SHARD_RECORD)
DEFAULT_ENTRY = "puma.sweep.worker:run_shard"

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


def _placeholders_known(value: str) -> str:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValueError(f"not a valid path template: {exc}") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {{{name}}}; known: {known}")
    return value


def _relative(value: str) -> str:
    _placeholders_known(value)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("expected a path inside the shard's run folder (relative, no '..')")
    return value


PathTemplate = Annotated[NonEmptyText, Field(max_length=1024), AfterValidator(_placeholders_known)]
RelativePath = Annotated[NonEmptyText, Field(max_length=1024), AfterValidator(_relative)]


class ArtifactSpec(StrictModel):
    """One file a shard hands back: `remote_path` inside the shard's run folder on the worker,
    `local_path` where it must arrive here."""

    label: Name
    remote_path: RelativePath
    local_path: PathTemplate
    required: bool = True


class ModelEntry(StrictModel):
    """One model of the matrix: a name for paths and tables, its family, and the runtime that
    serves it. A server's model needs its digest and the server's version: they are part of the
    shard's identity and cannot be known without asking the server."""

    name: Name
    family: Name | None = None
    runtime: RuntimeSection
    digest: NonEmptyText | None = Field(
        default=None, description="the server's model digest (e.g. Ollama's sha256)"
    )
    runtime_version: NonEmptyText | None = Field(
        default=None, description="the server's version, e.g. 'ollama 0.5.7'"
    )

    @model_validator(mode="after")
    def _one_model(self) -> ModelEntry:
        if len(self.runtime.model_names) != 1:
            raise ValueError("a matrix model names exactly one model (runtime.model)")
        return self


class GenerationOverrides(StrictModel):
    """A configuration's changes to the template's generation settings (seed comes from seeds)."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0, le=1000)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    stop: Annotated[list[StopText], Field(max_length=16)] | None = None
    num_ctx: int | None = Field(default=None, ge=256, le=131_072)


class Configuration(StrictModel):
    name: Name
    generation: GenerationOverrides = GenerationOverrides()
    strategy: StrategyName | None = None
    perturbations: PerturbationNames | None = None


class Matrix(StrictModel):
    models: Annotated[list[ModelEntry], Field(min_length=1, max_length=1000)]
    configurations: Annotated[list[Configuration], Field(min_length=1, max_length=1000)] = Field(
        default_factory=lambda: [Configuration(name="default")]
    )
    seeds: Annotated[
        list[Annotated[int, Field(ge=0, le=SEED_MAX)]], Field(min_length=1, max_length=10_000)
    ]
    suites: Annotated[list[SuiteSpec], Field(min_length=1, max_length=100)]

    @field_validator("models", "configurations")
    @classmethod
    def _distinct_names(cls, value: list[ModelEntry] | list[Configuration]) -> object:
        names = [entry.name for entry in value]
        repeated = next((n for n in names if names.count(n) > 1), None)
        if repeated:
            raise ValueError(f"name {repeated!r} is listed twice")
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        repeated = next((s for s in value if value.count(s) > 1), None)
        if repeated is not None:
            raise ValueError(f"seed {repeated} is listed twice")
        return value


class RunTemplate(StrictModel):
    """What every shard's run spec shares (the matrix fills in runtime, suites and seed)."""

    strategy: StrategyName = "zero-shot"
    generation: GenerationSpec = GenerationSpec()
    perturbations: PerturbationNames = Field(default_factory=list)
    repetitions: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=1, ge=1, le=256)
    retries: int = Field(default=3, ge=0, le=20)
    timeout_s: float = Field(default=120.0, gt=0, le=86_400)
    submitter: Annotated[str, Field(pattern=HANDLE_PATTERN)] = "anonymous"
    device_tag: Annotated[str, Field(pattern=r"^(auto|[a-z0-9][a-z0-9-]{0,63})$")] = "auto"


class Environment(StrictModel):
    """What a worker must have; a worker that differs fails its shard at once (deterministic)."""

    python: Annotated[str, Field(pattern=r"^3\.\d{1,2}(\.\d{1,3})?$")]
    packages: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")], NonEmptyText] = (
        Field(default_factory=dict, description="distribution name -> exact version")
    )


class Resources(StrictModel):
    """What each shard declares to the scheduler (Ray packs GPUs by these)."""

    num_cpus: float = Field(default=1.0, ge=0, le=1024)
    num_gpus: float = Field(default=0.0, ge=0, le=64)
    memory_mb: int | None = Field(default=None, ge=1, le=16_777_216)


class WorkerSpec(StrictModel):
    """The function each shard runs (module:function) and its retry budget for transient
    faults (a runtime blip, a worker that died)."""

    entry: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] = DEFAULT_ENTRY
    retries: int = Field(default=3, ge=0, le=100)
    backoff_s: float = Field(default=1.0, ge=0, le=3600)


class SweepFile(StrictModel):
    """A sweep as written in YAML (`specs/sweeps/*.yaml`)."""

    name: Name
    template: RunTemplate = RunTemplate()
    matrix: Matrix
    remote_root: PathTemplate = Field(
        default="{tmp}/puma-sweep/{sweep}/{shard}",
        description="the worker's folder for the shard's run folder; {tmp} is the worker's",
    )
    artifacts: Annotated[list[ArtifactSpec], Field(min_length=1, max_length=64)]
    environment: Environment
    resources: Resources = Resources()
    worker: WorkerSpec = WorkerSpec()

    @field_validator("artifacts")
    @classmethod
    def _artifacts_cover_the_shard(cls, value: list[ArtifactSpec]) -> list[ArtifactSpec]:
        labels = [a.label for a in value]
        repeated = next((label for label in labels if labels.count(label) > 1), None)
        if repeated:
            raise ValueError(f"artifact label {repeated!r} is listed twice")
        required = {PurePosixPath(a.remote_path).name for a in value if a.required}
        missing = [name for name in NEEDED_FILES if name not in required]
        if missing:
            raise ValueError(
                f"every shard must hand back {', '.join(NEEDED_FILES)} as required artifacts; "
                f"missing: {', '.join(missing)}"
            )
        folders = {str(PurePosixPath(a.local_path).parent) for a in value if a.required}
        if len(folders) != 1:
            raise ValueError(
                "the required artifacts must arrive in one folder per shard (a run folder "
                f"`puma merge` reads); their folders differ: {', '.join(sorted(folders))}"
            )
        return value


def read_sweep(path: Path) -> SpecDocument[SweepFile]:
    """The sweep file as read, every problem located (see `puma.spec.read_yaml_model`)."""
    return read_yaml_model(path, SweepFile, example=SWEEP_EXAMPLE)


def load_sweep(path: Path) -> SweepFile:
    """The sweep, or the first problem raised as SpecError (exit 2) at file:line: field."""
    return read_sweep(path).require()
