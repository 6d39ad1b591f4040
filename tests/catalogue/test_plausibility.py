"""The plausibility bound: generation tokens/s <= memory bandwidth / bytes of weights read per
token, with the bound shown; a chip or model the table does not know is "bound unknown"."""

from __future__ import annotations

import pytest

from puma.catalogue.plausibility import judge_speed, memory_bandwidth
from puma.runfolder.metadata import HardwareSummary

GB = 10**9


def machine(kind: str, cpu: str | None, gpus: list[str] | None = None) -> HardwareSummary:
    return HardwareSummary(
        probed=True,
        hardware_class=kind,  # type: ignore[arg-type]
        device_tag_suggestion=None,
        cpu=cpu,
        gpus=gpus or [],
        gpu_vram_bytes=None,
        ram_bytes=None,
    )


RTX_4090 = machine("discrete-gpu", "AMD Ryzen 9 7950X", ["NVIDIA GeForce RTX 4090"])


def test_a_speed_above_the_bound_is_implausible_and_the_bound_is_shown() -> None:
    verdict = judge_speed(RTX_4090, "qwen2.5:7b", 5 * GB, 400.0)
    assert verdict.status == "implausible"
    assert verdict.bound_tps == pytest.approx(1008 / 5, rel=1e-3)
    assert "201.6 tokens/s" in verdict.reason and "RTX 4090" in verdict.reason


def test_a_speed_within_the_bound_is_plausible() -> None:
    assert judge_speed(RTX_4090, "qwen2.5:7b", 5 * GB, 150.0).status == "plausible"


def test_an_unknown_gpu_gives_no_bound_rather_than_a_guess() -> None:
    unknown = machine("discrete-gpu", "x", ["Moore Threads MTT S80"])
    verdict = judge_speed(unknown, "m", 5 * GB, 10_000.0)
    assert (verdict.status, verdict.bound_tps) == ("bound unknown", None)
    assert "Moore Threads" in verdict.reason


def test_one_unknown_gpu_beside_a_known_one_gives_no_bound() -> None:
    mixed = machine("discrete-gpu", "x", ["NVIDIA GeForce RTX 3060", "Some Future GPU"])
    assert memory_bandwidth(mixed) is None


def test_a_mixture_of_experts_model_has_no_dense_bound() -> None:
    verdict = judge_speed(RTX_4090, "qwen3:30b-a3b", 18 * GB, 150.0)
    assert verdict.status == "bound unknown" and "mixture-of-experts" in verdict.reason


def test_an_unrecorded_model_size_gives_no_bound() -> None:
    assert judge_speed(RTX_4090, "m", None, 50.0).status == "bound unknown"


@pytest.mark.parametrize(
    ("hardware", "gbs"),
    [
        (machine("unified-memory", "Apple M1 Max"), 400.0),
        (machine("unified-memory", "Apple M1"), 68.25),
        (machine("unified-memory", "Apple M4 Pro"), 273.0),
        (machine("cpu-only", "AMD Ryzen 9 7950X 16-Core Processor"), 102.4),
        (machine("cpu-only", "AMD Ryzen 7 5800X 8-Core Processor"), 57.6),
        (machine("cpu-only", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"), 57.6),
        (machine("discrete-gpu", "x", ["NVIDIA GeForce RTX 4070 Ti SUPER"]), 672.0),
        (machine("discrete-gpu", "x", ["NVIDIA H100 80GB HBM3"]), 3350.0),
    ],
)
def test_chips_are_matched_most_specific_first(hardware: HardwareSummary, gbs: float) -> None:
    found = memory_bandwidth(hardware)
    assert found is not None and found[0] == gbs


def test_a_server_cpu_of_unknown_channel_count_is_unknown() -> None:
    assert memory_bandwidth(machine("cpu-only", "AMD EPYC")) is None
