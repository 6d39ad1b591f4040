"""The files of a submission package, and the provenance sidecar's format.

A package is three files side by side: `<id>.json` (schema v1), `<id>.predictions.jsonl` (the four
canonical columns) and `<id>.provenance.jsonld` (what v1 has no room for). This is the one place
that knows those names.

The sidecar is JSON; its name ends in `.jsonld` so that a `*.json` glob over a folder of packages
(`puma-cp community validate DIR/*.json`, PUMA Community's listing of submissions) finds the
submissions alone: under its first name, `<id>.provenance.json`, PUMA 4.0 took it for a submission
and called it invalid. That name is still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

PROVENANCE_SCHEMA = "provenance-1.0"
HASH_RULE = (
    "PUMA 4.0 predictions_summary_hash: SHA-256 of the CSV of instance_id, predicted_label, "
    "predicted_value, prompt_hash; rows by str(instance_id); minimal quoting (CR quoted too); "
    "LF between rows, none at the end; UTF-8; floats as %.6f, null empty"
)


@dataclass(frozen=True)
class SubmissionFiles:
    submission: Path

    @classmethod
    def in_folder(cls, folder: Path, submission_id: str) -> SubmissionFiles:
        return cls(Path(folder) / f"{submission_id}.json")

    @property
    def stem(self) -> str:
        return self.submission.name.removesuffix(".json")

    @property
    def predictions(self) -> Path:
        return self.submission.with_name(f"{self.stem}.predictions.jsonl")

    @property
    def provenance(self) -> Path:
        """Where the sidecar is written."""
        return self.submission.with_name(f"{self.stem}.provenance.jsonld")

    @property
    def provenance_found(self) -> Path | None:
        """The sidecar beside the submission, under its name or its first one; None if neither."""
        for path in (self.provenance, self.submission.with_name(f"{self.stem}.provenance.json")):
            if path.is_file():
                return path
        return None


class PredictionsRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    n_rows: int
    hash_rule: str = HASH_RULE
    # (sort key, first 16 hex of the SHA-256 of the rendered row), in hash order: lets
    # verify-hash name the first instance that differs.
    row_digests: list[tuple[str, str]]


class Provenance(BaseModel):
    """Everything about a submission that schema v1 cannot hold, for a reviewer and for
    `verify-hash` (row digests, the suite to re-score against)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = PROVENANCE_SCHEMA
    submission_id: str
    run_id: str
    tool: dict[str, Any]
    spec: dict[str, Any]
    spec_hash: str | None
    suite: dict[str, Any]  # id, version, task, labels, content_hash, n_items, source
    scenario: str
    model: dict[str, Any]  # name, digest
    strategy: str  # our name; run_metadata.strategy holds the v1 name
    generation: dict[str, Any]
    runtime: dict[str, Any]  # kind, version, build (the URL is left out)
    device_tag: str | None
    hardware: dict[str, Any]  # hardware.json as written
    profile_rule: str
    emissions: dict[str, Any] | None  # emissions.json as written
    ledger: dict[str, Any]  # last_hash and line count of run.jsonl
    predictions: PredictionsRecord
    metrics_extra: dict[str, Any]  # n, parse_failure_rate and metrics v1 has no field for
    confidence_intervals: list[dict[str, Any]] | None  # metrics.json cells of this suite/model
    latency: dict[str, Any]
    runtime_timings: dict[str, Any]
    caveats: list[str]
