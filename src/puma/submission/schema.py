"""Submission schema v1.0.0, field for field PUMA 4.0's, so PUMA Community's tooling reads ours.

The Pydantic models are the one source: `schemas/submission-v1.schema.json` is exported from them
(`export_json_schema`) and a test keeps the two equal. `validate_submission_file` checks a file
against both the JSON Schema (as PUMA Community's CI does) and the models.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from puma.errors import InputFileError
from puma.jsonio import read_json

SCHEMA_ID = "https://pumacp.github.io/puma-community/schema/submission.v1.json"
MAX_SUBMISSION_BYTES = 4 << 20  # a submission is a few KB; anything this large is not one

# PUMA 4.0 refuses notes that look like personal data; a note we write must pass the same test.
_PERSONAL_DATA = {
    "an e-mail address": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
    "an IPv4 address": r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    "an IPv6 address": r"\b(?:[A-Fa-f0-9]{1,4}:){2,7}[A-Fa-f0-9]{1,4}\b",
    "a home or system path": r"/(?:home|Users|root|var|opt|tmp)/[^\s]+",
    "a Windows path": r"[A-Z]:\\[^\s]+",
    "an identity-card number": r"\b\d{8}[A-HJ-NP-TV-Z]\b",
    "a foreigner identity number": r"\b[XYZ]\d{7}[A-HJ-NP-TV-Z]\b",
    "a phone number": r"(?:\+34|0034|34)?[6-9]\d{8}",
    "a card number": r"\b\d{4}[\s\-]?\d{4}[\s\-]?\d{4}[\s\-]?\d{4}\b",
    "an AWS access key": r"AKIA[0-9A-Z]{16}",
    "a GitHub token": r"\bghp_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{82}\b",
}
_PERSONAL_DATA_PATTERNS = {name: re.compile(rx) for name, rx in _PERSONAL_DATA.items()}


def personal_data_in(text: str) -> list[str]:
    """What kinds of personal data `text` seems to hold (never the matched text itself)."""
    return [name for name, rx in _PERSONAL_DATA_PATTERNS.items() if rx.search(text)]


class Submitter(BaseModel):
    """Contributor identity and consent block."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name_or_alias: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_\-\.]+$")
    affiliation: str | None = Field(default=None, max_length=128)
    contact: str | None = Field(default=None, max_length=128)
    consent_public_release: bool
    consent_redistribution: bool
    consent_research_use: bool
    license: Literal["CC-BY-4.0"] = "CC-BY-4.0"

    @model_validator(mode="after")
    def _every_consent_given(self) -> Submitter:
        missing = [
            name
            for name in ("consent_public_release", "consent_redistribution", "consent_research_use")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"every consent must be true; false: {', '.join(missing)}")
        return self


class RunMetadata(BaseModel):
    """Per-run identification: scenario, model, strategy, timing, latency."""

    model_config = ConfigDict(extra="forbid")

    scenario: Literal["triage_jira", "effort_tawos", "prioritization_jira"]
    model: str = Field(max_length=128)
    strategy: Literal[
        "zero_shot",
        "zero_shot_cot",
        "few_shot_3",
        "few_shot_6",
        "cot_few_shot",
        "rcoif",
        "contextual_anchoring",
        "egi",
        "self_consistency",
    ]
    n_instances: int = Field(ge=1, le=100000)
    seed: int = 42
    temperature: float = Field(ge=0.0, le=2.0)
    ollama_version: str = Field(max_length=64)
    started_at: datetime
    completed_at: datetime
    latency_ms_total: int = Field(ge=0)
    latency_ms_p50: int = Field(ge=0)
    latency_ms_p95: int = Field(ge=0)

    @field_validator("started_at", "completed_at", mode="before")
    @classmethod
    def _aware_utc(cls, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValueError(f"not an ISO 8601 date-time: {value!r}") from exc
        if not isinstance(value, datetime):
            raise ValueError("expected an ISO 8601 date-time string")
        if value.tzinfo is None:
            raise ValueError("a date-time must carry its time zone (UTC)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> RunMetadata:
        if self.completed_at < self.started_at:
            raise ValueError("completed_at is before started_at")
        if not self.latency_ms_p95 >= self.latency_ms_p50 >= 0:
            raise ValueError("latency_ms_p95 must be >= latency_ms_p50 >= 0")
        return self


class HardwareProfile(BaseModel):
    """Hardware identification keyed by canonical PUMA profile_id."""

    model_config = ConfigDict(extra="forbid")

    profile_id: str = Field(max_length=64)
    cpu_model: str = Field(max_length=128)
    cpu_cores: int = Field(ge=1, le=512)
    ram_gb: int = Field(ge=1, le=4096)
    gpu_model: str | None = Field(default=None, max_length=128)
    gpu_vram_gb: int | None = Field(default=None, ge=0, le=512)
    os: str = Field(max_length=128)


class Metrics(BaseModel):
    """Scenario-specific quality metrics. At least one of f1_macro / mae / accuracy."""

    model_config = ConfigDict(extra="forbid")

    f1_macro: float | None = Field(default=None, ge=0.0, le=1.0)
    f1_per_class: dict[str, float] | None = None
    mae: float | None = Field(default=None, ge=0.0)
    mdae: float | None = Field(default=None, ge=0.0)
    accuracy: float | None = Field(default=None, ge=0.0, le=1.0)
    confusion_matrix: list[list[int]] | None = None
    ece: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _at_least_one_headline(self) -> Metrics:
        if self.f1_macro is None and self.mae is None and self.accuracy is None:
            raise ValueError("at least one of f1_macro, mae or accuracy is needed")
        return self


class Sustainability(BaseModel):
    """CodeCarbon emissions block (cf. PUMA core sustainability subsystem)."""

    model_config = ConfigDict(extra="forbid")

    codecarbon_version: str = Field(max_length=32)
    co2_grams_total: float = Field(ge=0.0)
    energy_kwh_total: float = Field(ge=0.0)
    tracking_mode: Literal["machine", "process"]
    country_iso: str = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")


class Integrity(BaseModel):
    """Integrity attestations for the submission payload."""

    model_config = ConfigDict(extra="forbid")

    predictions_summary_hash: str = Field(pattern=r"^[a-f0-9]{64}$")
    payload_signature: str | None = Field(default=None, max_length=512)
    verification_status: Literal["unverified", "self-attested", "community-verified"] = (
        "self-attested"
    )


class Submission(BaseModel):
    """Root submission payload (v1.0.0)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1.0.0"] = "1.0.0"
    submission_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    submitted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    submitter: Submitter
    puma_version: str = Field(pattern=r"^\d+\.\d+\.\d+(-[a-zA-Z0-9\.]+)?$")
    run_metadata: RunMetadata
    hardware_profile: HardwareProfile
    metrics: Metrics
    sustainability: Sustainability
    integrity: Integrity
    raw_predictions_url: HttpUrl | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("notes", mode="after")
    @classmethod
    def _no_personal_data(cls, value: str | None) -> str | None:
        if value is not None:
            found = personal_data_in(value)
            if found:
                raise ValueError(f"notes seem to hold {', '.join(found)}; remove it")
        return value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def export_json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of submission v1, as published in `schemas/`."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema["$id"] = SCHEMA_ID
    schema.update(Submission.model_json_schema())
    return schema


# --- validating a file -------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaProblem:
    where: str  # dotted field path, "(top level)" for the root
    message: str
    checker: str  # "json-schema", "model", or "json-schema and model" (found by both)


def read_submission_json(path: Path) -> dict[str, Any]:
    """A submission file as a JSON object; InputFileError when it is not one."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    if not path.is_file():
        raise InputFileError("not a file", where=str(path))
    if size > MAX_SUBMISSION_BYTES:
        raise InputFileError(
            f"{size / 2**20:.0f} MiB is far too large for a submission (a few KB of JSON); "
            "is this the predictions file?",
            where=str(path),
            hint="pass the <id>.json file that `puma share-results` wrote",
        )
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputFileError("a submission is a JSON object", where=str(path))
    return data


def _json_schema_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    import jsonschema

    checker = jsonschema.FormatChecker()

    # jsonschema checks these formats only when optional packages are present; these checks
    # need none and say the same thing as the models.
    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return "T" in value.upper() and parsed.tzinfo is not None

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlparse(value)
        return bool(parts.scheme and parts.netloc)

    validator = jsonschema.Draft202012Validator(export_json_schema(), format_checker=checker)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        for where, message in _located(error):
            problems.append(SchemaProblem(where=where, message=message, checker="json-schema"))
    return problems


_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_MISSING = "required field is missing"
_UNKNOWN = "unknown field (schema v1 forbids extra fields)"


def _located(error: Any) -> list[tuple[str, str]]:
    """(field, message) of a JSON Schema error, in the models' terms where they say the same
    thing: JSON Schema places a missing or an unknown field on the object that holds it, the
    models on the field itself."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = _REQUIRED.match(error.message)
        if missing:
            return [(".".join([*path, missing[1]]), _MISSING)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        return [(".".join([*path, name]), _UNKNOWN) for name in error.instance if name not in known]
    return [(".".join(path) or "(top level)", error.message)]


def _model_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    try:
        Submission.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = _UNKNOWN
            elif error["type"] == "missing":
                message = _MISSING
            problems.append(SchemaProblem(where=where, message=message, checker="model"))
        return problems
    return []


def submission_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    """Everything wrong with a submission object, by the JSON Schema and by the models, each
    problem once, in field order.

    The two checkers check mostly the same rules, so most problems are found twice: a JSON
    Schema problem on the field of a model problem, or on an object holding it (JSON Schema says
    "not valid under any of the given schemas" where the models name the member), is the same
    problem, told in the models' words and credited to both checkers."""
    model = _model_problems(data)
    found_by = {id(problem): [problem.checker] for problem in model}
    problems = list(model)
    for problem in _json_schema_problems(data):
        twins = [m for m in model if _same_place(problem.where, m.where)]
        for twin in twins:
            if problem.checker not in found_by[id(twin)]:
                found_by[id(twin)].insert(0, problem.checker)
        if not twins:
            problems.append(problem)
    unique: dict[tuple[str, str], SchemaProblem] = {}
    for problem in problems:
        checkers = found_by.get(id(problem), [problem.checker])
        unique.setdefault(
            (problem.where, problem.message),
            SchemaProblem(problem.where, problem.message, " and ".join(checkers)),
        )
    return sorted(unique.values(), key=lambda p: p.where.split("."))


def _same_place(schema_where: str, model_where: str) -> bool:
    return schema_where in (model_where, "(top level)") or model_where.startswith(
        schema_where + "."
    )


def validate_submission_file(path: Path) -> list[SchemaProblem]:
    """Problems of a submission file (empty when valid); InputFileError when unreadable."""
    return submission_problems(read_submission_json(path))
