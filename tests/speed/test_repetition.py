"""Repetition until precise: stop when the median's interval is tight, or at the cap, or when
calls keep failing; the reason is recorded with every raw sample."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

from puma.runtimes.base import Completion
from puma.speed.canonical import canonical_settings
from puma.speed.run import PhaseContext, Repeated, reference_tps, repeat_until_precise


def _ctx(max_repetitions: int = 10) -> PhaseContext:
    return cast(
        PhaseContext,
        SimpleNamespace(settings=canonical_settings(), max_repetitions=max_repetitions),
    )


def _repeat(values: Iterator[float | None], max_repetitions: int = 10) -> Repeated:
    async def once(repetition: int) -> tuple[dict[str, float | None], dict[str, Any]]:
        value = next(values)
        return {"prompt_tps": value}, {"prompt_tps": ("counter", 100.0)}

    return asyncio.run(repeat_until_precise(_ctx(max_repetitions), ["prompt_tps"], once))


def test_steady_samples_stop_as_precise_once_an_interval_exists() -> None:
    repeated = _repeat(iter([100.0, 101.0, 99.5, 100.5, 100.2, 99.8, 100.1] * 3))
    assert repeated.stop_reason == "precise"
    assert len(repeated.samples["prompt_tps"]) == 6  # the fewest with a 95 % order interval
    assert repeated.references["prompt_tps"] == ("counter", [100.0] * 6)


def test_noisy_samples_stop_at_the_cap_and_keep_every_sample() -> None:
    noisy_values = [100.0, 60.0, 140.0, 80.0, 120.0, 50.0, 150.0, 90.0, 110.0, 70.0, 130.0]
    repeated = _repeat(iter(noisy_values), max_repetitions=10)
    assert repeated.stop_reason == "max-repetitions"
    assert repeated.samples["prompt_tps"] == noisy_values[:10]


def test_calls_that_keep_failing_stop_the_figure_as_failed() -> None:
    repeated = _repeat(iter([100.0, None, None, None, 100.0]))
    assert repeated.stop_reason == "failed"
    assert repeated.samples["prompt_tps"] == [100.0]


def test_runtime_counters_are_read_from_each_runtime_s_own_keys() -> None:
    def completion(timings: dict[str, Any]) -> Completion:
        return Completion(text="x", total_ms=1.0, runtime_timings=timings)

    embedded = reference_tps(
        completion(
            {
                "llama_n_p_eval": 500,
                "llama_p_eval_ms": 1000.0,
                "llama_n_eval": 30,
                "llama_eval_ms": 500.0,
            }
        )
    )
    assert embedded["prompt_tps"][1] == 500.0 and embedded["generation_tps"][1] == 60.0
    server = reference_tps(
        completion(
            {
                "server_timings": {
                    "prompt_n": 10,
                    "prompt_ms": 20.0,
                    "predicted_n": 5,
                    "predicted_ms": 100.0,
                }
            }
        )
    )
    assert server["prompt_tps"][1] == 500.0 and server["generation_tps"][1] == 50.0
    ollama = reference_tps(
        completion(
            {
                "prompt_eval_count": 8,
                "prompt_eval_duration": 4_000_000_000,
                "eval_count": 20,
                "eval_duration": 1_000_000_000,
            }
        )
    )
    assert ollama["prompt_tps"][1] == 2.0 and ollama["generation_tps"][1] == 20.0
    assert reference_tps(completion({})) == {}
