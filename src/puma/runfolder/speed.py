"""`speed.json` (speed-1.0): the figures of a run's speed phases, one model shared by the writer
(puma.speed.run) and every reader. Each measurement keeps its raw samples, its interval and why
its repetition stopped; the ledger holds every call behind them (suite_id = the phase's name).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from puma.jsonio import read_model, write_json
from puma.runfolder.folder import RunFolder

SPEED_SCHEMA = "speed-1.0"
StopReason = Literal["precise", "max-repetitions", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reference(_Record):
    """The same figure as the runtime itself counted it (llama.cpp's performance counters in
    process, a server's `timings` or Ollama's durations), and how far ours is from it."""

    source: str
    samples: list[float]
    median: float | None
    disagreement: float | None  # (ours - theirs) / theirs, on the medians


class Measurement(_Record):
    """One repeated figure: e.g. prompt tokens/s of pp512 at depth 1024 for one model."""

    id: str
    model: str
    metric: str  # prompt_tps | generation_tps | output_tps
    unit: str
    details: dict[str, Any]  # pp_tokens, tg_tokens, depth, concurrency ...
    samples: list[float]  # every measured (non-warm-up) sample, in order
    median: float | None
    ci_low: float | None
    ci_high: float | None
    level: float | None  # the coverage the interval's ranks guarantee
    relative_half_width: float | None
    stop_reason: StopReason
    references: list[Reference] = []


class ColdStart(_Record):
    """A model's first call after it was loaded (a warm-up call, excluded from every figure),
    beside the load itself; compare with the warm medians of the same phase."""

    model: str
    phase: str
    load_ms: float | None  # the runtime's model check/load before the first call
    ttft_ms: float | None
    total_ms: float | None
    prompt_tps: float | None
    generation_tps: float | None


class PhaseResult(_Record):
    name: str
    status: Literal["done", "not-run", "failed"]
    reason: str | None = None
    models: list[str]
    calls: int  # measured calls in the ledger
    warmup_calls: int
    measurements: list[Measurement] = []
    figures: dict[str, Any] = {}  # the phase's own table (per concurrency level, per turn)


class SpeedReport(_Record):
    schema_version: str = SPEED_SCHEMA
    run_id: str
    profile: str
    canonical_hash: str
    method: dict[str, Any]  # interval method, level, precision, repetitions, warm-up calls
    endpoint: str  # in-process | local | remote
    phases: list[PhaseResult] = []
    cold: list[ColdStart] = []

    def save(self, folder: RunFolder) -> None:
        write_json(folder.speed, self.model_dump(mode="json"))

    @classmethod
    def load(cls, folder: RunFolder) -> SpeedReport:
        return read_model(folder.speed, cls, "speed.json")

    def phase(self, name: str) -> PhaseResult | None:
        return next((p for p in self.phases if p.name == name), None)
