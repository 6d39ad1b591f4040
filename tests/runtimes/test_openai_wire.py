"""The openai runtime's wire format and measurements, against a loopback OpenAI-compatible server.

What the request carries (streaming with include_usage, options, logprobs only where cheap), how
the stream is read (time to first content, usage, llama-server timings), presets and their
quirks, and token counts when a server sends no usage.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
from runtime_fakes import FakeOpenAI, Reply, chat_event, completion_event, sse, usage_event

from puma.errors import RuntimeUnavailable
from puma.runtimes import create_runtime
from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt
from puma.runtimes.openai import (
    OLLAMA_V1_NUM_CTX_WARNING,
    OpenAICompatibleRuntime,
    OpenAIOptions,
)

pytestmark = pytest.mark.anyio

PROMPT = Prompt(
    text="Issue: crash on save\nPriority:",
    messages=(
        {"role": "system", "content": "You triage issues."},
        {"role": "user", "content": "Issue: crash on save. Priority?"},
    ),
    choices=("Low", "High"),
)


def request(*, chat: bool = False, **options: object) -> CompletionRequest:
    return CompletionRequest(
        model="m", prompt=PROMPT, options=GenerationOptions(**options), chat=chat
    )


def event_stream(*events: object) -> Reply:
    return Reply(chunks=sse(*events), content_type="text/event-stream")


@pytest.fixture
async def runtime(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAICompatibleRuntime]:
    runtime = OpenAICompatibleRuntime(fake_openai.url + "/v1", timeout_s=5.0)
    yield runtime
    await runtime.aclose()


async def test_completion_request_streams_with_usage_and_every_option(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    await runtime.generate(request(temperature=0.3, top_p=0.8, top_k=10, seed=5, max_tokens=3,
                                   stop=("\n",)))  # fmt: skip

    (sent,) = fake_openai.bodies("/v1/completions")
    assert sent == {
        "model": "m",
        "prompt": PROMPT.text,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 3,
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 10,
        "seed": 5,
        "stop": ["\n"],
    }


async def test_chat_request_sends_the_messages(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = event_stream(
        chat_event("High"), chat_event(None, "stop"), usage_event(30, 1), "[DONE]"
    )

    completion = await runtime.generate(request(chat=True))

    (sent,) = fake_openai.bodies("/v1/chat/completions")
    assert sent["messages"] == [dict(m) for m in PROMPT.messages]
    assert completion.text == "High"


async def test_ttft_is_the_time_to_the_first_non_empty_content(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse(
            chat_event(""),  # role-only / empty deltas do not count as the first token
            chat_event(" Hi"),
            chat_event(" there"),
            chat_event(None, "length"),
            usage_event(20, 2),
            "[DONE]",
        ),
        content_type="text/event-stream",
        first_chunk_delay_s=0.1,
        chunk_delay_s=0.1,
    )

    completion = await runtime.generate(request(chat=True))

    assert completion.text == " Hi there"
    assert completion.ttft_ms is not None and 180 <= completion.ttft_ms < 1000
    assert completion.total_ms - completion.ttft_ms >= 200
    assert completion.finish_reason == "length"
    assert (completion.prompt_tokens, completion.completion_tokens) == (20, 2)
    assert completion.tokens_counted_locally is False
    assert completion.runtime_timings["token_count_source"] == "server usage"
    assert completion.generation_tokens_per_s is not None


async def test_without_usage_or_tokenizer_tokens_are_counted_from_chunks_and_marked(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = event_stream(
        completion_event(" Hi"), completion_event(" there"), completion_event("", "stop"), "[DONE]"
    )

    completion = await runtime.generate(request())

    assert completion.completion_tokens == 2
    assert completion.prompt_tokens is None
    assert completion.tokens_counted_locally is True
    assert "prompt tokens unknown" in completion.runtime_timings["token_count_source"]


async def test_llama_server_timings_are_kept(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    timings = {"prompt_n": 12, "prompt_ms": 30.5, "predicted_n": 1, "predicted_ms": 8.25}
    final = completion_event("", "stop") | {"timings": timings}
    fake_openai.reply = event_stream(completion_event(" High"), final, "[DONE]")

    completion = await runtime.generate(request())

    assert completion.runtime_timings["server_timings"] == timings


async def test_prompt_near_the_context_is_warned(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = event_stream(
        completion_event(" High", "stop"), usage_event(1000, 1), "[DONE]"
    )

    completion = await runtime.generate(request(num_ctx=1024))

    assert any("1000 of 1024" in w for w in completion.warnings)


async def test_generic_server_is_not_asked_for_logprobs(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    await runtime.generate(request())

    assert "logprobs" not in fake_openai.bodies("/v1/completions")[0]


async def test_vllm_preset_scores_choices_from_completion_top_logprobs(fake_openai: FakeOpenAI):
    first = completion_event(" ")
    first["choices"][0]["logprobs"] = {
        "tokens": [" "],
        "token_logprobs": [-0.1],
        "top_logprobs": [{" ": -0.1, "\n": -2.5}],
    }
    second = completion_event("High")
    second["choices"][0]["logprobs"] = {
        "tokens": ["High"],
        "token_logprobs": [-0.4],
        "top_logprobs": [{"High": -0.4, "Low": -1.4, "Medium": -3.0}],
    }
    fake_openai.reply = event_stream(first, second, completion_event("", "stop"), "[DONE]")
    runtime = OpenAICompatibleRuntime(fake_openai.url, preset="vllm")
    try:
        completion = await runtime.generate(request())
    finally:
        await runtime.aclose()

    assert fake_openai.bodies("/v1/completions")[0]["logprobs"] == 20
    scores = completion.choice_logprobs or {}
    assert set(scores) == {"Low", "High"}  # the bare-space position is skipped
    assert math.isclose(scores["High"] - scores["Low"], 1.0)
    assert math.isclose(sum(math.exp(v) for v in scores.values()), 1.0)


async def test_chat_logprobs_use_the_openai_content_shape(fake_openai: FakeOpenAI):
    event = chat_event("Low")
    event["choices"][0]["logprobs"] = {
        "content": [
            {
                "token": "Low",
                "logprob": -0.2,
                "bytes": [76, 111, 119],
                "top_logprobs": [
                    {"token": "Low", "logprob": -0.2, "bytes": [76, 111, 119]},
                    {"token": "High", "logprob": -1.8, "bytes": [72, 105, 103, 104]},
                ],
            }
        ]
    }
    fake_openai.reply = event_stream(event, chat_event(None, "stop"), "[DONE]")
    runtime = OpenAICompatibleRuntime(fake_openai.url, preset="llamacpp")
    try:
        completion = await runtime.generate(request(chat=True))
    finally:
        await runtime.aclose()

    sent = fake_openai.bodies("/v1/chat/completions")[0]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20
    scores = completion.choice_logprobs or {}
    assert math.isclose(scores["Low"] - scores["High"], 1.6)


async def test_ollama_preset_warns_that_num_ctx_is_ignored(fake_openai: FakeOpenAI):
    runtime = OpenAICompatibleRuntime(fake_openai.url, preset="ollama")
    try:
        completion = await runtime.generate(request())
    finally:
        await runtime.aclose()

    assert OLLAMA_V1_NUM_CTX_WARNING in completion.warnings


def test_presets_give_each_servers_default_url():
    urls = {
        preset: OpenAICompatibleRuntime(preset=preset).url
        for preset in ("vllm", "llamacpp", "lmstudio", "ollama")
    }
    assert urls == {
        "vllm": "http://127.0.0.1:8000/v1",
        "llamacpp": "http://127.0.0.1:8080/v1",
        "lmstudio": "http://127.0.0.1:1234/v1",
        "ollama": "http://127.0.0.1:11434/v1",
    }


@pytest.mark.parametrize(
    "given", ["http://127.0.0.1:9999", "http://127.0.0.1:9999/", "127.0.0.1:9999/v1/"]
)
def test_url_is_accepted_with_or_without_v1(given: str):
    assert OpenAICompatibleRuntime(given).url == "http://127.0.0.1:9999/v1"


async def test_ensure_model_for_an_unserved_model_lists_what_the_server_has(
    fake_openai: FakeOpenAI,
):
    fake_openai.models = ["qwen2.5-0.5b-instruct"]
    runtime = create_runtime(OpenAIOptions(url=fake_openai.url, preset="lmstudio", model="m"))
    try:
        with pytest.raises(RuntimeUnavailable) as caught:
            await runtime.ensure_model("m")
    finally:
        await runtime.aclose()

    assert "qwen2.5-0.5b-instruct" in caught.value.message
    assert caught.value.hint == "lms get m && lms load m"


async def test_info_when_nothing_listens_is_runtime_unavailable(refused_url: str):
    runtime = OpenAICompatibleRuntime(refused_url, timeout_s=1.0)
    try:
        with pytest.raises(RuntimeUnavailable) as caught:
            await runtime.info()
    finally:
        await runtime.aclose()
    assert refused_url in caught.value.message
