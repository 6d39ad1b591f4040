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

from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt, RuntimeCallError
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
        {"error": {"message": "prompt is longer than the maximum context length 2048"}}, 400
    )

    error = await failure(runtime)

    assert error.retryable is False
    assert "maximum context length 2048" in error.message


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
