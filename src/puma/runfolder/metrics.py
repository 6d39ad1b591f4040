"""metrics.json (metrics-1.0), the file `puma eval` and `puma merge` write, as Pydantic models
that validate a document before it is written. Readers use `read_metrics`. (metadata.json is
puma.runfolder.metadata.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from puma.jsonio import read_model

METRICS_SCHEMA: Final = "metrics-1.0"


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


def read_metrics(path: Path) -> MetricsDocument:
    """Read and validate a metrics.json."""
    document = read_model(path, MetricsDocument)
    return document
