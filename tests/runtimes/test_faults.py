"""Every fault a remote runtime can meet becomes one RuntimeCallError with the right `retryable`.

The server is a real loopback HTTP server that misbehaves on purpose (runtime_fakes.FakeOpenAI):
it refuses, answers 429/5xx with Retry-After, sends malformed JSON, hangs mid-stream, drops the
connection, answers an empty completion, or does not know the model.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import pytest
from runtime_fakes import FakeOpenAI, Reply, completion_event, sse, usage_event

from puma.runtimes.base import (
    CompletionRequest,
    GenerationOptions,
    Prompt,
    PromptTooLong,
    RuntimeCallError,
)
from puma.runtimes.openai import OpenAICompatibleRuntime

pytestmark = pytest.mark.anyio

REQUEST = CompletionRequest(
    model="m",
    prompt=Prompt(text="Issue: crash\nPriority:", messages=({"role": "user", "content": "hi"},)),
    options=GenerationOptions(max_tokens=4),
)


@pytest.fixture
async def runtime(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAICompatibleRuntime]:
    runtime = OpenAICompatibleRuntime(fake_openai.url, timeout_s=1.0, preset="vllm")
    yield runtime
    await runtime.aclose()


async def failure(runtime: OpenAICompatibleRuntime) -> RuntimeCallError:
    with pytest.raises(RuntimeCallError) as caught:
        await runtime.generate(REQUEST)
    return caught.value


async def test_refused_connection_is_retryable(refused_url: str):
    runtime = OpenAICompatibleRuntime(refused_url, timeout_s=1.0)
    try:
        error = await failure(runtime)
    finally:
        await runtime.aclose()
    assert error.retryable is True
    assert "cannot connect" in error.message


async def test_429_is_retryable_and_carries_retry_after_seconds(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply.json(
        {"error": {"message": "too many requests", "type": "rate_limit"}},
        429,
        headers={"Retry-After": "7"},
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert error.retry_after_s == 7.0
    assert "429" in error.message and "too many requests" in error.message


async def test_503_with_an_http_date_retry_after_is_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake_openai.reply = Reply.json({"error": "loading model"}, 503, headers={"Retry-After": when})

    error = await failure(runtime)

    assert error.retryable is True
    assert error.retry_after_s is not None and 25 <= error.retry_after_s <= 31


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_are_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI, status: int
):
    fake_openai.reply = Reply(
        status=status, body=b"<html>bad gateway</html>", content_type="text/html"
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert error.retry_after_s is None


async def test_bad_request_is_not_retryable_and_keeps_the_servers_message(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply.json(
        {"error": {"message": "temperature must be non-negative", "type": "BadRequestError"}},
        400,
    )

    error = await failure(runtime)

    assert error.retryable is False and not isinstance(error, PromptTooLong)
    assert "temperature must be non-negative" in error.message


# What each server answers when the prompt does not fit its context:
CONTEXT_REFUSALS = {
    # Captured from a real `python -m llama_cpp.server --n_ctx 128` (non-streaming request).
    "llama-cpp-python": (
        400,
        {
            "error": {
                "message": "This model's maximum context length is 256 tokens, however you "
                "requested 307 tokens (302 in your prompt; 5 for the completion). Please "
                "reduce your prompt; or completion length.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
    ),
    # vLLM's message, as quoted in vllm-project/vllm#20409.
    "vllm": (
        400,
        {
            "object": "error",
            "message": "This model's maximum context length is 16384 tokens. However, you "
            "requested 122946 tokens (112946 in the messages, 10000 in the completion). "
            "Please reduce the length of the messages or completion.",
            "type": "BadRequestError",
            "code": 400,
        },
    ),
    # llama-server's error type, from ggml-org/llama.cpp#15780 (sent as 500 there, 400 later).
    "llama-server": (
        500,
        {
            "error": {
                "code": 500,
                "message": "the request exceeds the available context size. try increasing "
                "the context size or enable context shift",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 1407,
                "n_ctx": 256,
            }
        },
    ),
}


@pytest.mark.parametrize("server", sorted(CONTEXT_REFUSALS))
async def test_a_prompt_longer_than_the_context_is_not_retried(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI, server: str
):
    status, body = CONTEXT_REFUSALS[server]
    fake_openai.reply = Reply.json(body, status)

    error = await failure(runtime)

    assert isinstance(error, PromptTooLong) and error.retryable is False
    assert error.reason == "prompt_exceeds_context"
    assert f"HTTP {status}" in error.message and "num_ctx" in (error.hint or "")


async def test_a_context_error_inside_the_stream_is_not_retried(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    # llama-server reports it in the stream when the answer has already begun streaming.
    _, body = CONTEXT_REFUSALS["llama-server"]
    fake_openai.reply = Reply(chunks=sse(body), content_type="text/event-stream")

    error = await failure(runtime)

    assert isinstance(error, PromptTooLong)
    assert "exceeds the available context size" in error.message


async def test_an_empty_stream_is_retryable_and_hints_at_the_context(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    # llama-cpp-python's server answers 200 and closes the stream without any event when a
    # streamed prompt does not fit its context (it logs the ValueError).
    fake_openai.reply = Reply(chunks=[], content_type="text/event-stream")

    error = await failure(runtime)

    assert error.retryable is True and not isinstance(error, PromptTooLong)
    assert "--n_ctx" in (error.hint or "")


async def test_unauthorised_is_not_retryable_and_points_at_api_key_env(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply.json({"error": {"message": "invalid api key"}}, 401)

    error = await failure(runtime)

    assert error.retryable is False
    assert "api_key_env" in (error.hint or "")


async def test_404_for_the_model_names_it_and_the_server_command(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply.json(
        {"error": {"message": "The model `m` does not exist.", "type": "NotFoundError"}}, 404
    )

    error = await failure(runtime)

    assert error.retryable is False
    assert "'m'" in error.message
    assert error.hint == "vllm serve m"


async def test_malformed_json_in_the_stream_is_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse(completion_event(" Hi"), '{"choices": [{"text": "oops"'),
        content_type="text/event-stream",
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert "malformed JSON" in error.message


async def test_server_that_hangs_mid_stream_fails_after_the_timeout(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse(completion_event(" Hi")), content_type="text/event-stream", then="hang"
    )

    started = time.monotonic()
    error = await failure(runtime)

    assert error.retryable is True
    assert time.monotonic() - started < 3.0  # timeout_s is 1 s
    assert "1 s" in error.message


async def test_connection_dropped_mid_stream_is_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse(completion_event(" Hi")), content_type="text/event-stream", then="close"
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert "closed the connection" in error.message


async def test_connection_dropped_before_any_answer_is_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(status=None)

    error = await failure(runtime)

    assert error.retryable is True


async def test_stream_with_done_but_no_finish_reason_was_cut_short(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    # What llama-cpp-python's server sends when another request interrupts this one.
    fake_openai.reply = Reply(
        chunks=sse(completion_event(" Hi"), "[DONE]"), content_type="text/event-stream"
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert "--interrupt_requests False" in (error.hint or "")


async def test_error_event_in_the_stream_is_retryable(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse({"error": {"message": "CUDA out of memory", "code": 500}}),
        content_type="text/event-stream",
    )

    error = await failure(runtime)

    assert error.retryable is True
    assert "CUDA out of memory" in error.message


async def test_empty_completion_is_recorded_not_raised(
    runtime: OpenAICompatibleRuntime, fake_openai: FakeOpenAI
):
    fake_openai.reply = Reply(
        chunks=sse(completion_event("", "stop"), usage_event(9, 0), "[DONE]"),
        content_type="text/event-stream",
    )

    completion = await runtime.generate(REQUEST)

    assert completion.text == ""
    assert completion.ttft_ms is None
    assert completion.completion_tokens == 0
    assert completion.finish_reason == "stop"
    assert any("empty completion" in w for w in completion.warnings)
