"""A sweep's shards: one per model × configuration × seed × suite, each named by its identity,
the SHA-256 of everything that determines its predictions.

The identity covers the model's bytes (the GGUF's SHA-256, or the server's model digest), the
runtime (kind, options, version), the resolved generation settings with the seed, the suite's
content hash and selection, the strategy, perturbations and repetitions. Anything that differs,
even max_tokens, is a new shard; the same identity is the same predictions, so a shard whose
output is complete and verified is never run again.
"""

from __future__ import annotations

import importlib.metadata
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from puma.errors import SpecError
from puma.hashing import sha256_json
from puma.spec import GenerationSpec, SpecDocument, SpecFile, SuiteSpec
from puma.sweep.model import (
    SHARD_RECORD,
    ArtifactSpec,
    Configuration,
    ModelEntry,
    SweepFile,
    read_sweep,
)

SHORT_ID = 12  # hex digits of the identity shown and used in paths: 48 bits, no clash in a sweep


@dataclass(frozen=True)
class ShardArtifact:
    label: str
    remote_path: str  # inside the shard's run folder on the worker
    local_path: Path
    required: bool

    @property
    def remote_name(self) -> str:
        return PurePosixPath(self.remote_path).name


@dataclass(frozen=True)
class Shard:
    """One shard, as planned: picklable, so it travels to a worker as it is."""

    identity: str
    sweep: str
    model: str
    family: str
    configuration: str
    seed: int
    suite: str
    spec: dict[str, Any]  # the run spec the worker runs (its output is set on the worker)
    identity_fields: dict[str, Any]
    remote_root: str  # may still hold {tmp}: the worker's temporary folder
    artifacts: tuple[ShardArtifact, ...]
    model_digest: str
    runtime_version: str

    @property
    def short(self) -> str:
        return self.identity[:SHORT_ID]

    @property
    def local_folder(self) -> Path:
        """Where the required artifacts arrive: a run folder `puma merge` reads."""
        return next(a.local_path.parent for a in self.artifacts if a.required)

    @property
    def local_record(self) -> Path:
        return next(a.local_path for a in self.artifacts if a.remote_name == SHARD_RECORD)

    def worker_root(self) -> Path:
        """The shard's folder on this worker."""
        return Path(self.remote_root.replace("{tmp}", tempfile.gettempdir()))


@dataclass(frozen=True)
class SweepPlan:
    sweep: SweepFile
    source: Path
    shards: tuple[Shard, ...]

    def find(self, shard_id: str) -> Shard:
        """A shard by its identity or a prefix of it (as `plan` prints it)."""
        found = [s for s in self.shards if s.identity.startswith(shard_id.lower())]
        if len(found) != 1:
            what = "no shard" if not found else f"{len(found)} shards"
            raise SpecError(
                f"{what} of this sweep has an identity starting {shard_id!r}",
                where=str(self.source),
                hint="`puma sweep plan FILE` lists the shards and their identities",
            )
        return found[0]


def plan_sweep(path: Path) -> SweepPlan:
    """Read the sweep file and expand its matrix into shards (no model runs; the embedded GGUF
    files are hashed, once, through the digest cache)."""
    document = read_sweep(path)
    sweep = document.require()
    base_dir = Path(path).parent
    shards: list[Shard] = []
    seen: dict[str, tuple[str, ...]] = {}
    for m_index, entry in enumerate(sweep.matrix.models):
        digest, version = _model_identity(document, m_index, entry)
        for configuration in sweep.matrix.configurations:
            for seed in sweep.matrix.seeds:
                for s_index, suite in enumerate(sweep.matrix.suites):
                    shard = _shard(
                        sweep, entry, configuration, seed, suite, base_dir, digest, version
                    )
                    where = (entry.name, configuration.name, str(seed), suite.id)
                    if shard.identity in seen:
                        raise document.problem(
                            ("matrix", "suites", s_index),
                            f"shards {'/'.join(seen[shard.identity])} and {'/'.join(where)} "
                            "would make the same predictions (same identity)",
                            hint="two entries of the matrix differ only in their names",
                        )
                    seen[shard.identity] = where
                    shards.append(shard)
    _check_local_folders(document, shards)
    return SweepPlan(sweep, Path(path), tuple(shards))


def _model_identity(
    document: SpecDocument[SweepFile], index: int, entry: ModelEntry
) -> tuple[str, str]:
    """The model's digest and the runtime's version, as the shard's identity needs them."""
    if entry.runtime.kind == "embedded":
        from puma.errors import RuntimeUnavailable
        from puma.runtimes.embedded import resolve_model_path
        from puma.runtimes.file_digest import file_sha256

        try:
            digest = f"sha256:{file_sha256(resolve_model_path(entry.runtime.model_names[0]))}"
        except RuntimeUnavailable as exc:
            raise document.problem(
                ("matrix", "models", index, "runtime", "model"), exc.message, exc.hint
            ) from None
        version = entry.runtime_version or _installed("llama-cpp-python")
        return entry.digest or digest, version
    if entry.digest is None or entry.runtime_version is None:
        raise document.problem(
            ("matrix", "models", index),
            "a server's model needs 'digest' and 'runtime_version': they are part of the "
            "shard's identity",
            hint="e.g. `ollama show MODEL --modelfile` or /api/tags give the digest",
        )
    return entry.digest, entry.runtime_version


def _installed(distribution: str) -> str:
    try:
        return f"{distribution} {importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{distribution} (not installed)"


def _shard(
    sweep: SweepFile,
    entry: ModelEntry,
    configuration: Configuration,
    seed: int,
    suite: SuiteSpec,
    base_dir: Path,
    digest: str,
    version: str,
) -> Shard:
    from puma.suites.select import local_suite_path, resolve_suite, selection_record

    template = sweep.template
    overrides = configuration.generation.model_dump(exclude_none=True)
    generation = GenerationSpec.model_validate(
        {**template.generation.model_dump(), **overrides, "seed": seed}
    )
    if suite.id == "local":  # the worker runs elsewhere: the path it reads is absolute
        suite = suite.model_copy(update={"path": str(local_suite_path(suite, base_dir).resolve())})
    selected = resolve_suite(suite)
    strategy = configuration.strategy or template.strategy
    perturbations = (
        configuration.perturbations
        if configuration.perturbations is not None
        else template.perturbations
    )
    runtime = entry.runtime.model_dump(mode="json")
    identity_fields = {
        "model": {"digest": digest, "runtime": runtime, "runtime_version": version},
        "generation": generation.model_dump(mode="json"),
        "suite": selection_record(selected, suite),
        "strategy": strategy,
        "perturbations": list(perturbations),
        "repetitions": template.repetitions,
    }
    identity = sha256_json(identity_fields)
    values = {
        "sweep": sweep.name,
        "model": entry.name,
        "family": entry.family or entry.name,
        "configuration": configuration.name,
        "seed": str(seed),
        "suite": suite.id if suite.id != "local" else Path(suite.path or "local").stem,
        "shard": identity[:SHORT_ID],
    }
    spec = SpecFile(
        name=f"{sweep.name}-{identity[:SHORT_ID]}",
        runtime=entry.runtime,
        suites=[suite],
        strategy=strategy,
        generation=generation,
        perturbations=list(perturbations),
        repetitions=template.repetitions,
        concurrency=template.concurrency,
        retries=template.retries,
        timeout_s=template.timeout_s,
        submitter=template.submitter,
        device_tag=template.device_tag,
    )
    return Shard(
        identity=identity,
        sweep=sweep.name,
        model=entry.name,
        family=values["family"],
        configuration=configuration.name,
        seed=seed,
        suite=values["suite"],
        spec=spec.model_dump(mode="json"),
        identity_fields=identity_fields,
        remote_root=_fill(sweep.remote_root, values, keep_tmp=True),
        artifacts=tuple(_artifact(a, values) for a in sweep.artifacts),
        model_digest=digest,
        runtime_version=version,
    )


def _fill(template: str, values: dict[str, str], *, keep_tmp: bool = False) -> str:
    mapping = {**values, "tmp": "{tmp}" if keep_tmp else tempfile.gettempdir()}
    return string.Formatter().vformat(template, (), mapping)


def _artifact(artifact: ArtifactSpec, values: dict[str, str]) -> ShardArtifact:
    return ShardArtifact(
        label=artifact.label,
        remote_path=_fill(artifact.remote_path, values),
        local_path=Path(_fill(artifact.local_path, values)),
        required=artifact.required,
    )


def _check_local_folders(document: SpecDocument[SweepFile], shards: list[Shard]) -> None:
    owner: dict[Path, Shard] = {}
    for shard in shards:
        other = owner.setdefault(shard.local_folder.absolute(), shard)
        if other is not shard:
            raise document.problem(
                ("artifacts",),
                f"shards {other.short} and {shard.short} would both arrive in {shard.local_folder}",
                hint="put {model}, {configuration}, {seed} and {suite} (or {shard}) in local_path",
            )
