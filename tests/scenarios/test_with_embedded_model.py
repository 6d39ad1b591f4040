"""The prompts against the real embedded base model (Gemma 3 270M via llama.cpp): a few-shot
completion prompt makes the model continue the pattern with an answer the parser reads strictly."""

from __future__ import annotations

import asyncio
import math

import pytest

from puma.runtimes.base import CompletionRequest, GenerationOptions
from puma.suites.model import Suite
from puma.tasks import build_prompt, parse_output

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def runtime():
    from puma.runtimes.embedded import EmbeddedRuntime

    runtime = EmbeddedRuntime(n_ctx=1024, n_threads=2)
    yield runtime
    asyncio.run(runtime.aclose())


def _complete(runtime, suite: Suite, strategy: str) -> list:
    async def run_all() -> list:
        results = []
        for item in suite.items:
            prompt = build_prompt(suite, item, strategy, seed=11)
            options = GenerationOptions(max_tokens=4, stop=prompt.stop, num_ctx=1024)
            request = CompletionRequest(model="embedded-default", prompt=prompt, options=options)
            results.append((prompt, await runtime.generate(request)))
        return results

    return asyncio.run(run_all())


@pytest.mark.parametrize(
    ("task", "strategy"), [("triage", "few-shot-4"), ("prioritization", "few-shot-2")]
)
def test_base_model_answers_a_few_shot_prompt_with_a_strict_label(
    runtime, suites: dict[str, Suite], task: str, strategy: str
) -> None:
    suite = suites[task]
    for prompt, completion in _complete(runtime, suite, strategy):
        parsed = parse_output(suite, completion.text, strategy)
        assert parsed.status == "ok", completion.text
        assert "\n" not in completion.text  # the stop sequence ended the answer line
        # The runtime scored every label right after the answer cue.
        probabilities = {k: math.exp(v) for k, v in completion.choice_logprobs.items()}
        assert set(probabilities) == set(prompt.choices) == set(suite.labels)
        assert sum(probabilities.values()) == pytest.approx(1.0)


def test_base_model_answers_a_few_shot_estimation_prompt_with_a_number(
    runtime, estimation_suite: Suite
) -> None:
    for _prompt, completion in _complete(runtime, estimation_suite, "few-shot-4"):
        assert completion.text.strip().isdigit(), completion.text
