"""`manifest.json` (manifest-1.0): what a run is (spec, suites, runtime, models, knobs). Written
at run start, completed (with the ledger's seal) at run end, read by resume, evaluation, merge
and the submission builder: this model is the only description of the file.

Older manifests still read: `_migrate` fills in what PUMA did not record yet when they were
written (a suite's selection, before runs recorded their subset and limit). A resolved spec whose
runtime section has the flat shape of older manifests is migrated where the spec is parsed
(puma.runtimes.migrate_flat); here the spec is kept as written, since `spec_hash` covers it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from puma.jsonio import dump_pretty, read_model, write_text_atomic
from puma.runfolder.folder import RunFolder
from puma.runfolder.ledger import LedgerSeal

MANIFEST_SCHEMA = "manifest-1.0"
_LATER_FIELDS = ("endpoint", "speed", "source")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteRecord(_Record):
    id: str
    version: str
    task: str
    labels: list[str]
    content_hash: str
    n_items: int  # items selected for this run (after subset/limit)
    selection: dict[str, Any]  # subset, limit, count and a hash of the selected ids
    source: str


class ModelRecord(_Record):
    """A model as the runtime identifies it: the embedded runtime gives the GGUF file's name
    and SHA-256, Ollama its digest from /api/tags, OpenAI-compatible servers their model id
    and what /v1/models says about it (owned_by, root, max_model_len)."""

    name: str
    digest: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = {}


DeviationEffect = Literal["harmless", "changes-cell"]
DeviationOrigin = Literal["runtime", "spec", "hardware", "phase"]


class Deviation(_Record):
    """A setting that departs from what was asked, and why: PUMA adapting to a server or to the
    hardware (requested: the spec's or the canonical value), or a spec departing from the
    canonical settings (puma.speed.canonical; requested: the canonical value). `effect` says
    whether the result still belongs to the canonical cell (docs/commands/phases.md)."""

    setting: str  # e.g. "concurrency"
    requested: Any
    used: Any
    reason: str
    ts: str
    effect: DeviationEffect = "harmless"  # manifests before the classification: adaptations
    origin: DeviationOrigin = "runtime"  # ... made to a server, the only kind then


class LogRecord(_Record):
    """One log file another tool wrote, as `puma import` read it (puma.importers)."""

    file: str  # the file's name only: a path would tell where the importer's files live
    sha256: str
    tool_version: str
    model: str  # as the log names it
    tasks: list[str]  # as the log names them
    companions: dict[str, str] = {}  # files read with it (lm-eval's samples files) -> SHA-256


class ReportedValue(_Record):
    """A figure the tool reported in its own results, beside the PUMA metric that re-derives it
    from the samples (None when PUMA cannot: carried over as reported, marked not re-derived)."""

    suite_id: str
    model: str
    metric: str  # the tool's name, e.g. "exact_match,none" or "match/accuracy"
    value: float | None
    puma_metric: str | None
    note: str | None = None  # why it is not re-derived, or why PUMA's point may differ


class SourceRecord(_Record):
    """Where an imported run's predictions come from: nothing was run by PUMA."""

    tool: str  # "lm-evaluation-harness" | "inspect"
    logs: list[LogRecord]
    reported: list[ReportedValue]


class Manifest(_Record):
    schema_version: str = MANIFEST_SCHEMA
    run_id: str
    tool: dict[str, str]
    spec: dict[str, Any]
    spec_hash: str
    spec_path: str | None
    suites: list[SuiteRecord]
    runtime: dict[str, Any]  # kind, url, version, build
    models: list[ModelRecord]
    strategy: str
    generation: dict[str, Any]
    seed: int
    perturbations: list[str]
    repetitions: int
    concurrency: int
    canonical: dict[str, Any]  # the knobs as the spec file sets them
    overrides: dict[str, Any]  # every deviation from the spec file, from the command line
    deviations: list[Deviation] = []  # every deviation PUMA made itself (adapting to a server)
    phases: list[str]
    submitter: str
    device_tag: str
    hostname: str
    platform: dict[str, str]
    started_at: str
    completed_at: str | None = None
    resumed_at: list[str] = []
    ledger_seal: LedgerSeal | None = None  # set with completed_at; None while the run is open
    source: SourceRecord | None = None  # set by `puma import`: the predictions came from a log
    # Where the model ran (puma.speed.endpoint): in-process, local or remote, so a remote GPU
    # is never credited to this machine's hardware. None in manifests written before.
    endpoint: dict[str, Any] | None = None
    # The canonical settings file's hash, the speed profile and each speed phase's data hash.
    speed: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """Older manifest-1.0 files: suites without `selection` (PUMA recorded none yet) read
        with an empty one. Deviations and the ledger seal have defaults of their own."""
        if not isinstance(data, dict) or not isinstance(data.get("suites"), list):
            return data
        suites = [
            {**s, "selection": {}} if isinstance(s, dict) and "selection" not in s else s
            for s in data["suites"]
        ]
        return {**data, "suites": suites}

    def save(self, folder: RunFolder) -> None:
        write_text_atomic(folder.manifest, self.text())

    def text(self) -> str:
        """manifest.json's text, as `save` writes it. Fields added later are left out while
        unset, so a manifest written before them saves back byte for byte (and a run PUMA made
        has no `source`)."""
        unset = {name for name in _LATER_FIELDS if getattr(self, name) is None}
        return dump_pretty(self.model_dump(mode="json", exclude=unset))

    @classmethod
    def load(cls, folder: RunFolder) -> Manifest:
        return read_model(folder.manifest, cls, "manifest.json")

    def suite(self, suite_id: str) -> SuiteRecord | None:
        return next((s for s in self.suites if s.id == suite_id), None)
