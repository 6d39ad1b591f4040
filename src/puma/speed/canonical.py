"""The canonical settings (`canonical.yaml` beside this module) and the deviations from them.

Reads the one data file that holds the canonical knobs, the speed method and the size profiles;
compares a run's effective spec with it; chooses the speed profile the hardware can follow.
Every departure becomes a `Deviation` (canonical -> actual, harmless or changes-cell); nothing
here changes a setting silently.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from puma.hashing import sha256_hex
from puma.runfolder.manifest import Deviation, DeviationEffect
from puma.runner.manifest import utc_now
from puma.spec import SpecFile

CANONICAL_FILE = "canonical.yaml"
ProfileName = Literal["canonical", "small", "tiny"]
PROFILE_CHOICES: tuple[str, ...] = ("auto", "canonical", "small", "tiny")
# The context the context-edge phases may fill needs memory for its KV cache; this is a
# deliberately generous bound per 1,024 tokens (a 7-8B model with grouped-query attention in
# f16 needs ~128 MiB), so a machine below it gets a smaller context, recorded, never a crash.
KV_BYTES_PER_1K_TOKENS = 128 * 2**20


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Knob(_Model):
    value: Any
    effect: DeviationEffect


class SpeedMethod(_Model):
    warmup_calls: int = Field(ge=0)
    level: float = Field(gt=0, lt=1)
    precision: float = Field(gt=0, lt=1)
    max_repetitions: int = Field(ge=1)
    min_repetitions: int = Field(ge=1)
    slo_ttft_ms: float = Field(gt=0)
    slo_tpot_ms: float = Field(gt=0)


class Profile(_Model):
    pp_tokens: list[int]
    tg_tokens: list[int]
    depths: list[int]
    frozen_max_tokens: dict[str, int]
    parallel_questions: int = Field(ge=1)
    concurrency_levels: list[int]
    parallel_max_tokens: int = Field(ge=2)
    context_max: int = Field(ge=256)
    context_chunk_tokens: int = Field(ge=16)
    context_fractions: list[float]
    answer_max_tokens: int = Field(ge=1)
    max_repetitions: int | None = None  # overrides the method's (the tiny profile)


class CanonicalSettings(_Model):
    schema_version: Literal["canonical-1.0"]
    knobs: dict[str, Knob]
    speed: SpeedMethod
    profiles: dict[ProfileName, Profile]

    def max_repetitions(self, profile: ProfileName) -> int:
        own = self.profiles[profile].max_repetitions
        return own if own is not None else self.speed.max_repetitions


@cache
def _raw() -> bytes:
    return resources.files("puma.speed").joinpath(CANONICAL_FILE).read_bytes()


def canonical_settings() -> CanonicalSettings:
    return CanonicalSettings.model_validate(yaml.safe_load(_raw()))


def canonical_hash() -> str:
    """SHA-256 of canonical.yaml's bytes, recorded in the manifest."""
    return sha256_hex(_raw())


def actual_knobs(spec: SpecFile, phases: list[str], all_phases: bool) -> dict[str, Any]:
    """The canonical knobs' values in this run."""
    g = spec.generation
    return {
        "temperature": g.temperature,
        "seed": g.seed,
        "num_ctx": g.num_ctx,
        "max_tokens": g.max_tokens,
        "concurrency": spec.concurrency,
        "repetitions": spec.repetitions,
        "keep_alive": getattr(spec.runtime, "keep_alive", None),
        "phases": "all" if all_phases else ",".join(phases) or "none",
    }


def canonical_deviations(spec: SpecFile, phases: list[str], all_phases: bool) -> list[Deviation]:
    """One deviation per knob whose value in this run is not the canonical one. A knob the
    runtime does not have (keep_alive outside Ollama) is not a departure."""
    settings = canonical_settings()
    actual = actual_knobs(spec, phases, all_phases)
    now = utc_now()
    deviations = []
    for name, knob in settings.knobs.items():
        used = actual.get(name)
        if used is None or _same(used, knob.value):
            continue
        deviations.append(
            Deviation(
                setting=name,
                requested=knob.value,
                used=used,
                reason=f"the run sets {name} to {used!r}; canonical is {knob.value!r}",
                ts=now,
                effect=knob.effect,
                origin="spec",
            )
        )
    return deviations


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def choose_profile(
    requested: str, hardware_class: str | None, endpoint_where: str
) -> tuple[ProfileName, Deviation | None]:
    """The speed profile, and the deviation that records a non-canonical one. `auto` keeps the
    canonical sizes when the model runs on a GPU or on another machine, and takes the `small`
    profile on a machine without a GPU (a hardware adaptation, recorded)."""
    if requested not in PROFILE_CHOICES:
        raise ValueError(f"unknown speed profile {requested!r}")
    now = utc_now()
    if requested == "auto":
        if endpoint_where == "remote" or hardware_class not in (None, "cpu-only"):
            return "canonical", None
        return "small", Deviation(
            setting="speed_profile",
            requested="canonical",
            used="small",
            reason="no GPU found on this machine: the speed phases use the small-machine "
            "profile (smaller pp/tg sizes, depths and context; docs/commands/phases.md)",
            ts=now,
            effect="changes-cell",
            origin="hardware",
        )
    profile: ProfileName = requested  # type: ignore[assignment]
    if profile == "canonical":
        return profile, None
    return profile, Deviation(
        setting="speed_profile",
        requested="canonical",
        used=profile,
        reason=f"the run asks for the {profile} speed profile",
        ts=now,
        effect="changes-cell",
        origin="spec",
    )


def fit_context(wanted: int, available_bytes: int | None) -> tuple[int, Deviation | None]:
    """The largest context (halving from `wanted`, at least 512) whose KV cache fits the free
    memory by KV_BYTES_PER_1K_TOKENS; a smaller one is recorded as a hardware adaptation."""
    if available_bytes is None:
        return wanted, None
    context = wanted
    while context > 512 and context / 1024 * KV_BYTES_PER_1K_TOKENS > available_bytes:
        context //= 2
    if context == wanted:
        return wanted, None
    return context, Deviation(
        setting="context_max",
        requested=wanted,
        used=context,
        reason=f"{available_bytes / 2**30:.1f} GiB of free memory holds the KV cache of about "
        f"{context} tokens, not {wanted}: the context-edge phases stop there",
        ts=utc_now(),
        effect="changes-cell",
        origin="hardware",
    )
