"""`manifest.json`: what a run is (spec, suites, runtime, models, knobs) — written at run start,
completed (with the ledger's seal) at run end, read by resume, evaluation and the submission
builder."""

from __future__ import annotations

import datetime as dt
import platform
import socket
from typing import Any

from pydantic import BaseModel, ConfigDict

from puma import __version__
from puma.jsonio import read_model, write_json
from puma.runfolder import RunFolder
from puma.runner.ledger import LedgerSeal

MANIFEST_SCHEMA = "manifest-1.0"


class SuiteRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    version: str
    task: str
    labels: list[str]
    content_hash: str
    n_items: int  # items selected for this run (after subset/limit)
    selection: dict[str, Any]  # subset, limit, count and a hash of the selected ids
    source: str


class ModelRecord(BaseModel):
    """A model as the runtime identifies it: the embedded runtime gives the GGUF file's name
    and SHA-256, Ollama its digest from /api/tags, OpenAI-compatible servers their model id
    and what /v1/models says about it (owned_by, root, max_model_len)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    digest: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = {}


class Deviation(BaseModel):
    """A setting PUMA changed during the run, away from what the spec asks, and why."""

    model_config = ConfigDict(extra="forbid")
    setting: str  # e.g. "concurrency"
    requested: Any
    used: Any
    reason: str
    ts: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
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

    def save(self, folder: RunFolder) -> None:
        write_json(folder.manifest, self.model_dump(mode="json"))

    @classmethod
    def load(cls, folder: RunFolder) -> Manifest:
        return read_model(folder.manifest, cls, "manifest.json")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def short_hostname() -> str:
    return socket.gethostname().split(".")[0]


def tool_record() -> dict[str, str]:
    return {"name": "puma", "version": __version__}


def platform_record() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
