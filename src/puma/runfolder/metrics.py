"""The file formats `puma eval` and `puma merge` write: metrics.json (metrics-1.0) and
metadata.json (metadata-1.0), as Pydantic models that validate a document before it is written.

Readers (submission builder, catalogue) use `read_metrics` / `read_metadata`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from puma.jsonio import read_model

METRICS_SCHEMA: Final = "metrics-1.0"
METADATA_SCHEMA: Final = "metadata-1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricValue(_Model):
    """One metric with its uncertainty: every number metrics.json reports has this shape."""

    point: float | None
    se_analytic: float | None
    se_bootstrap: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    method: str
    n: int
    resamples: int
    seed: int
    # Present when the interval is missing or not the method asked for (see intervals.summarize).
    note: str | None = None


class CellKey(_Model):
    suite_id: str
    task: str
    model: str
    strategy: str
    perturbation: str
    slice: dict[str, str] | None


class Cell(_Model):
    cell: CellKey
    n: int
    n_rows: int
    metrics: dict[str, Any]
    speed: dict[str, Any] | None


class Comparison(_Model):
    suite_id: str
    strategy: str
    a: str
    b: str
    metric: str
    n: int
    difference: MetricValue
    p_value: float | None
    p_adjusted: float | None
    test: str
    correction: str
    # Present when the interval and the test disagree (see paired.disagreement_note).
    note: str | None = None


class MetricsDocument(_Model):
    schema_version: Literal["metrics-1.0"] = METRICS_SCHEMA
    run_id: str
    seed: int
    resamples: int
    permutations: int
    level: float
    interval_method: str
    sources: list[dict[str, str]]
    cells: list[Cell]
    comparisons: list[Comparison]
    robustness: list[dict[str, Any]]
    fairness: list[dict[str, Any]]
    skipped: list[dict[str, str]] = []


class PhaseAggregate(_Model):
    cell_id: str
    device_tag: str
    model: str
    phase: str
    n_calls: int
    n_errors: int
    error_rate: float | None
    prompt_tokens: int
    completion_tokens: int
    tokens_counted_locally: bool
    timings: dict[str, dict[str, float | int | None]]


class MetadataDocument(_Model):
    schema_version: Literal["metadata-1.0"] = METADATA_SCHEMA
    run_id: str
    device_tag: str
    submitter: str | None
    models: list[str]
    suites: list[str]
    aggregates: list[PhaseAggregate]


def read_metrics(path: Path) -> MetricsDocument:
    """Read and validate a metrics.json."""
    document = read_model(path, MetricsDocument)
    return document


def read_metadata(path: Path) -> MetadataDocument:
    """Read and validate a metadata.json."""
    document = read_model(path, MetadataDocument)
    return document
