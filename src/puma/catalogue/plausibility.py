"""The plausibility bound of a generation speed: decoding one token reads every weight of a dense
model once, so tokens/s cannot exceed memory bandwidth / model size.

Reads the chip table data/memory_bandwidth.yaml (matched against hardware.json's GPU names,
Apple chip or CPU model) and a run's model size; a chip or model the table does not cover gives
"bound unknown", never a guess shown as a fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from puma.runfolder.metadata import HardwareSummary

Status = Literal["plausible", "implausible", "bound unknown"]
GB = 1e9


@dataclass(frozen=True)
class Chip:
    kind: Literal["gpu", "unified", "cpu"]
    pattern: re.Pattern[str]
    gbs: float


@dataclass(frozen=True)
class ChipTable:
    chips: tuple[Chip, ...]
    sparse_models: tuple[re.Pattern[str], ...]


class Plausibility(BaseModel):
    """A run's headline generation speed against its device's bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    status: Status
    measured_tps: float | None
    bound_tps: float | None
    bandwidth_gbs: float | None
    chip: str | None  # the name the table matched
    reason: str


@lru_cache(maxsize=1)
def chip_table() -> ChipTable:
    text = resources.files("puma.catalogue").joinpath("data/memory_bandwidth.yaml").read_text()
    data = yaml.safe_load(text)
    chips = tuple(
        Chip(entry["kind"], re.compile(entry["match"], re.IGNORECASE), float(entry["gbs"]))
        for entry in data["chips"]
    )
    sparse = tuple(re.compile(p, re.IGNORECASE) for p in data["sparse_models"])
    return ChipTable(chips, sparse)


def memory_bandwidth(hardware: HardwareSummary) -> tuple[float, str] | None:
    """(GB/s, the chip's name) of the memory the model's weights are read from; None when the
    table does not know it. A discrete GPU machine is bounded by its fastest GPU (a model that
    spills into system memory is only slower); every GPU must be known, or an unknown one might
    be the faster."""
    table = chip_table()
    if hardware.hardware_class == "discrete-gpu":
        found = [_match(table, "gpu", name) for name in hardware.gpus]
        if not found or any(f is None for f in found):
            return None
        return max((f for f in found if f is not None), key=lambda f: f[0])
    if hardware.hardware_class == "unified-memory":
        for name in [hardware.cpu or "", *hardware.gpus]:
            match = _match(table, "unified", name)
            if match is not None:
                return match
        return None
    return _match(table, "cpu", hardware.cpu or "")


def _match(table: ChipTable, kind: str, name: str) -> tuple[float, str] | None:
    for chip in table.chips:
        if chip.kind == kind and chip.pattern.search(name):
            return chip.gbs, name
    return None


def judge_speed(
    hardware: HardwareSummary, model: str, model_bytes: int | None, generation_tps: float | None
) -> Plausibility:
    """Is `generation_tps` (tokens/s, one stream) within what the device can read per second?"""

    def unknown(reason: str, bandwidth: tuple[float, str] | None = None) -> Plausibility:
        return Plausibility(
            status="bound unknown",
            measured_tps=generation_tps,
            bound_tps=None,
            bandwidth_gbs=None if bandwidth is None else bandwidth[0],
            chip=None if bandwidth is None else bandwidth[1],
            reason=reason,
        )

    bandwidth = memory_bandwidth(hardware)
    if bandwidth is None:
        chips = ", ".join(hardware.gpus) if hardware.hardware_class == "discrete-gpu" else None
        return unknown(f"bound unknown: no memory bandwidth known for {chips or hardware.cpu}")
    if model_bytes is None or model_bytes <= 0:
        return unknown("bound unknown: the run does not record the model's size", bandwidth)
    if any(p.search(model) for p in chip_table().sparse_models):
        return unknown(
            "bound unknown: a mixture-of-experts model reads only part of its weights per token",
            bandwidth,
        )
    bound = bandwidth[0] * GB / model_bytes
    rounded = float(f"{bound:.4g}")
    if generation_tps is None:
        return Plausibility(
            status="plausible",
            measured_tps=None,
            bound_tps=rounded,
            bandwidth_gbs=bandwidth[0],
            chip=bandwidth[1],
            reason="no generation speed measured",
        )
    over = generation_tps > bound
    verb = "exceeds" if over else "is within"
    return Plausibility(
        status="implausible" if over else "plausible",
        measured_tps=generation_tps,
        bound_tps=rounded,
        bandwidth_gbs=bandwidth[0],
        chip=bandwidth[1],
        reason=(
            f"{generation_tps:.4g} tokens/s {verb} the bound {rounded:.4g} tokens/s "
            f"({bandwidth[0]:g} GB/s of {bandwidth[1]} / {model_bytes / GB:.3g} GB of weights)"
        ),
    )
