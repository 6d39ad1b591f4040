"""The openai runtime against a REAL llama.cpp server (`python -m llama_cpp.server`) running the
embedded Gemma 3 270M GGUF on a free loopback port, started once per session.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from runtime_fakes import LLAMA_MODEL_ALIAS, LLAMA_N_CTX, LlamaServer

from puma.errors import RuntimeUnavailable
from puma.runtimes import create_runtime
from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt, RuntimeCallError
from puma.runtimes.openai import OpenAICompatibleRuntime, OpenAIOptions
from puma.suites.select import load_suite
from puma.tasks import build_prompt

pytestmark = pytest.mark.anyio

TRIAGE = Prompt(
    text=(
        "Issue: The export button crashes the app when the report is empty.\n"
        "Labels: Low, Medium, High, Critical\n"
        "Priority:"
    ),
    messages=({"role": "user", "content": "Issue: export crashes. Priority?"},),
    stop=("\n",),
    choices=("Low", "Medium", "High", "Critical"),
)


def request(prompt: Prompt = TRIAGE, *, chat: bool = False, **options: object) -> CompletionRequest:
    opts = {"max_tokens": 8, "stop": ("\n",), "num_ctx": LLAMA_N_CTX, **options}
    return CompletionRequest(
        model=LLAMA_MODEL_ALIAS, prompt=prompt, options=GenerationOptions(**opts), chat=chat
    )


@pytest.fixture
async def runtime(llama_server: LlamaServer) -> AsyncIterator[OpenAICompatibleRuntime]:
    spec = OpenAIOptions(url=llama_server.url, model=LLAMA_MODEL_ALIAS)
    runtime = create_runtime(spec, timeout_s=60.0)
    assert isinstance(runtime, OpenAICompatibleRuntime)
    yield runtime
    await runtime.aclose()


async def test_info_lists_the_served_model(runtime: OpenAICompatibleRuntime):
    info = await runtime.info()

    assert info.name == "openai"
    assert [m.name for m in info.models] == [LLAMA_MODEL_ALIAS]


async def test_ensure_model_for_another_name_names_the_command_that_serves_it(
    runtime: OpenAICompatibleRuntime,
):
    assert (await runtime.ensure_model(LLAMA_MODEL_ALIAS)).name == LLAMA_MODEL_ALIAS
    with pytest.raises(RuntimeUnavailable) as caught:
        await runtime.ensure_model("llama-3-8b")

    assert LLAMA_MODEL_ALIAS in caught.value.message  # what the server does serve
    assert "--model_alias llama-3-8b" in (caught.value.hint or "")


async def test_streamed_completion_measures_ttft_and_counts_tokens_with_the_servers_tokenizer(
    runtime: OpenAICompatibleRuntime, llama_server: LlamaServer
):
    completion = await runtime.generate(request(max_tokens=6, stop=()))

    assert completion.text
    assert completion.finish_reason in ("length", "stop")
    assert completion.ttft_ms is not None and 0 < completion.ttft_ms <= completion.total_ms
    # llama-cpp-python's server streams no usage: counted here, and marked so.
    assert completion.tokens_counted_locally is True
    assert "server's tokenizer" in completion.runtime_timings["token_count_source"]
    # The prompt count equals what the server itself reports for the same prompt unstreamed.
    unstreamed = httpx.post(
        f"{llama_server.url}/v1/completions",
        json={"model": LLAMA_MODEL_ALIAS, "prompt": TRIAGE.text, "max_tokens": 1},
        timeout=60,
    ).json()
    assert completion.prompt_tokens == unstreamed["usage"]["prompt_tokens"]
    assert 1 <= (completion.completion_tokens or 0) <= 6
    assert completion.prompt_tokens_per_s is not None


async def test_same_seed_and_temperature_zero_give_the_same_text(
    runtime: OpenAICompatibleRuntime,
):
    first = await runtime.generate(request())
    second = await runtime.generate(request())

    assert first.text == second.text


async def test_eight_calls_in_flight_all_complete_with_the_same_answer(
    runtime: OpenAICompatibleRuntime,
):
    single = await runtime.generate(request())

    many = await asyncio.gather(*(runtime.generate(request()) for _ in range(8)))

    assert [c.text for c in many] == [single.text] * 8
    assert all(c.finish_reason is not None for c in many)


async def test_chat_answer_from_a_base_model_can_be_empty_and_is_recorded_not_raised(
    runtime: OpenAICompatibleRuntime,
):
    # Gemma 270M is a base model: through its chat template it often stops at once.
    completion = await runtime.generate(request(chat=True))

    if not completion.text:
        assert any("empty completion" in w for w in completion.warnings)
    assert completion.finish_reason is not None


async def test_choice_probabilities_from_the_servers_top_logprobs(llama_server: LlamaServer):
    # Off by default for this server (its logprobs are slow); forced on to check the reading.
    runtime = OpenAICompatibleRuntime(llama_server.url, timeout_s=120.0, request_logprobs=True)
    try:
        completion = await runtime.generate(request(max_tokens=2))
    finally:
        await runtime.aclose()

    scores = completion.choice_logprobs
    assert scores is not None and set(scores) == set(TRIAGE.choices)
    assert math.isclose(sum(math.exp(v) for v in scores.values()), 1.0, rel_tol=1e-9)


async def test_server_killed_mid_answer_is_a_retryable_error(
    llama_server_factory: Callable[..., LlamaServer],
):
    server = llama_server_factory()
    runtime = OpenAICompatibleRuntime(server.url, timeout_s=30.0)
    long_answer = request(max_tokens=400, stop=())
    try:
        call = asyncio.create_task(runtime.generate(long_answer))
        await asyncio.sleep(0.5)  # the server is generating by now
        server.kill()
        with pytest.raises(RuntimeCallError) as caught:
            await call
        with pytest.raises(RuntimeCallError) as refused:
            await runtime.generate(long_answer)
    finally:
        await runtime.aclose()

    assert caught.value.retryable is True
    assert refused.value.retryable is True
    assert "cannot connect" in refused.value.message


async def test_an_answer_the_server_stops_at_a_leading_newline_is_asked_for_again(
    runtime: OpenAICompatibleRuntime, llama_server: LlamaServer
):
    # The base model opens its zero-shot prioritisation answer with "\n": the server, which
    # applies the "\n" stop from the first character, returns nothing at all.
    suite = load_suite("pm-prioritization")
    prompt = build_prompt(suite, suite.items[0], "zero-shot", seed=42)
    asked = request(prompt, max_tokens=16, stop=("\n",))
    path, body = runtime.request_body(asked)
    body.update(stream=False, stream_options=None)
    raw = httpx.post(f"{llama_server.url}{path}", json=body, timeout=120).json()
    assert raw["choices"][0]["text"] == ""

    completion = await runtime.generate(asked)

    assert completion.text.strip() and "\n" not in completion.text.lstrip()
    assert completion.finish_reason == "stop"
    assert completion.runtime_timings["stops_applied_by_puma"] == ["\n"]
    assert not any("empty completion" in w for w in completion.warnings)
