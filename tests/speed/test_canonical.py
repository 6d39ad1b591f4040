"""Canonical settings: one data file; every departure recorded, classified, never silent."""

from __future__ import annotations

import pytest

from puma.spec import parse_spec
from puma.speed.canonical import (
    canonical_deviations,
    canonical_hash,
    canonical_settings,
    choose_profile,
    fit_context,
)

SPEC = """\
name: t
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: 2}}]
generation: {{temperature: {temperature}, seed: {seed}, num_ctx: {num_ctx}, max_tokens: 16}}
"""


def spec(temperature: float = 0, seed: int = 42, num_ctx: int = 4096):  # type: ignore[no-untyped-def]
    return parse_spec(SPEC.format(temperature=temperature, seed=seed, num_ctx=num_ctx))


def test_the_canonical_file_holds_every_knob_the_issue_names() -> None:
    settings = canonical_settings()
    assert set(settings.knobs) == {
        "temperature",
        "seed",
        "num_ctx",
        "max_tokens",
        "concurrency",
        "repetitions",
        "keep_alive",
        "phases",
    }
    assert settings.speed.precision == 0.03 and settings.speed.warmup_calls >= 1
    assert settings.profiles["canonical"].concurrency_levels == [1, 2, 4, 8]
    assert len(canonical_hash()) == 64


def test_a_canonical_run_has_no_deviation() -> None:
    assert canonical_deviations(spec(), ["speed"], all_phases=True) == []


def test_each_departure_is_recorded_canonical_to_actual_with_its_effect() -> None:
    deviations = canonical_deviations(spec(temperature=0.7, seed=7, num_ctx=2048), ["speed"], False)
    by_setting = {d.setting: d for d in deviations}
    assert set(by_setting) == {"temperature", "seed", "num_ctx", "phases"}
    assert (by_setting["temperature"].requested, by_setting["temperature"].used) == (0.0, 0.7)
    assert by_setting["temperature"].effect == "changes-cell"
    assert by_setting["num_ctx"].effect == "changes-cell"
    assert by_setting["seed"].effect == "harmless"  # greedy decoding draws nothing
    assert by_setting["phases"].used == "speed" and by_setting["phases"].effect == "harmless"
    assert all(d.origin == "spec" for d in deviations)


def test_a_machine_without_gpu_gets_the_small_profile_recorded_as_a_hardware_adaptation() -> None:
    profile, deviation = choose_profile("auto", "cpu-only", "in-process")
    assert profile == "small"
    assert deviation is not None
    assert (deviation.requested, deviation.used, deviation.effect, deviation.origin) == (
        "canonical",
        "small",
        "changes-cell",
        "hardware",
    )


@pytest.mark.parametrize(("hardware", "where"), [("discrete-gpu", "local"), ("cpu-only", "remote")])
def test_a_gpu_or_a_remote_endpoint_keeps_the_canonical_sizes(hardware: str, where: str) -> None:
    assert choose_profile("auto", hardware, where) == ("canonical", None)


def test_a_context_too_big_for_free_memory_is_halved_and_recorded() -> None:
    assert fit_context(8192, 64 * 2**30) == (8192, None)
    context, deviation = fit_context(8192, 300 * 2**20)  # 300 MiB free
    assert context == 2048
    assert deviation is not None and deviation.used == 2048 and deviation.origin == "hardware"
    assert fit_context(8192, 1)[0] == 512  # never below 512
