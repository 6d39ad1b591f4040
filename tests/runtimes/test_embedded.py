"""The embedded runtime: real llama.cpp with the bundled Gemma 3 270M GGUF, no server."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from puma.errors import RuntimeUnavailable
from puma.runtimes import create_runtime
from puma.runtimes.base import (
    CompletionRequest,
    GenerationOptions,
    Prompt,
    PromptTooLong,
)
from puma.runtimes.embedded import EmbeddedRuntime
from puma.spec import RuntimeSpec

LABELS = ("Critical", "Major", "Minor", "Trivial")
OUTAGE = Prompt(
    text="Issue: The payment service crashes and loses every order placed since midnight.\n"
    "Priority:",
    messages=(),
    stop=("\n",),
    choices=LABELS,
)
TYPO = Prompt(
    text="Issue: Typo in the footer of the settings page.\nPriority:",
    messages=(),
    stop=("\n",),
    choices=LABELS,
)
OPTIONS = GenerationOptions(max_tokens=6, stop=("\n",), num_ctx=512)


def _generate_all(prompts: list[Prompt]) -> list[tuple[str, dict[str, float] | None]]:
    async def go() -> list[tuple[str, dict[str, float] | None]]:
        runtime = EmbeddedRuntime(n_ctx=512)
        try:
            out = []
            for prompt in prompts:
                c = await runtime.generate(CompletionRequest("embedded-default", prompt, OPTIONS))
                out.append((c.text, c.choice_logprobs))
            return out
        finally:
            await runtime.aclose()

    return asyncio.run(go())


def test_label_probabilities_do_not_depend_on_call_order() -> None:
    # llama.cpp's prompt cache once gave -1.11 cold and -1.21 warm for the same label.
    forward = _generate_all([OUTAGE, TYPO, OUTAGE])
    backward = _generate_all([TYPO, OUTAGE])
    assert forward[0] == forward[2] == backward[1]
    assert forward[1] == backward[0]


def test_label_probabilities_are_a_distribution_over_the_labels() -> None:
    ((_, logprobs),) = _generate_all([OUTAGE])
    assert logprobs is not None and set(logprobs) == set(LABELS)
    assert math.isclose(sum(math.exp(v) for v in logprobs.values()), 1.0, rel_tol=1e-9)


def test_completion_reports_tokens_and_timings() -> None:
    async def go() -> None:
        runtime = create_runtime(RuntimeSpec(kind="embedded"))
        c = await runtime.generate(CompletionRequest("embedded-default", TYPO, OPTIONS))
        await runtime.aclose()
        assert c.prompt_tokens and c.prompt_tokens > 5
        assert c.completion_tokens is not None and c.completion_tokens <= OPTIONS.max_tokens
        assert c.ttft_ms is None or 0 < c.ttft_ms <= c.total_ms
        assert "\n" not in c.text  # the stop sequence ends the answer

    asyncio.run(go())


def test_prompt_longer_than_the_context_is_a_clear_non_retryable_error() -> None:
    long_prompt = Prompt(text="word " * 800, messages=())

    async def go() -> None:
        runtime = EmbeddedRuntime(n_ctx=512)
        try:
            with pytest.raises(PromptTooLong, match="no room for an answer") as caught:
                await runtime.generate(CompletionRequest("embedded-default", long_prompt, OPTIONS))
            assert not caught.value.retryable
            assert "context of 512" in caught.value.message
        finally:
            await runtime.aclose()

    asyncio.run(go())


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    async def go() -> None:
        await EmbeddedRuntime().ensure_model(str(tmp_path / "nope.gguf"))

    with pytest.raises(RuntimeUnavailable, match=r"nope\.gguf"):
        asyncio.run(go())
