"""The ollama runtime against a local server that speaks Ollama's native API.

Ollama itself cannot be installed here, so the server (tests/runtimes/conftest.py: FakeOllama)
answers with payloads taken from Ollama's API documentation: the /api/tags, /api/show, /api/ps
and /api/version bodies, streaming NDJSON with the documented final metrics, and the error body
{"error": "model 'x' not found, try pulling it first"} with HTTP 404.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
from runtime_fakes import OLLAMA_FINAL_METRICS, FakeOllama, Reply

from puma.errors import RuntimeUnavailable, SpecError
from puma.runtimes import create_runtime
from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt, RuntimeCallError
from puma.runtimes.ollama import OllamaOptions, OllamaRuntime

pytestmark = pytest.mark.anyio

PROMPT = Prompt(
    text="Issue: login fails\nPriority:",
    messages=({"role": "user", "content": "Issue: login fails. Priority?"},),
    choices=("Low", "Medium", "High"),
)


def request(model: str = "llama3", *, chat: bool = False, **options: object) -> CompletionRequest:
    return CompletionRequest(
        model=model, prompt=PROMPT, options=GenerationOptions(**options), chat=chat
    )


@pytest.fixture
async def ollama(fake_ollama: FakeOllama) -> AsyncIterator[OllamaRuntime]:
    runtime = OllamaRuntime(fake_ollama.url, timeout_s=5.0, keep_alive="10m")
    yield runtime
    await runtime.aclose()


async def test_info_reports_version_models_digests_and_loaded_models(ollama: OllamaRuntime):
    info = await ollama.info()

    assert info.name == "ollama"
    assert info.version == "0.13.0"
    assert [m.name for m in info.models] == ["codellama:13b", "llama3:latest"]
    assert info.models[1].digest == (
        "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e"
    )
    assert info.build["loaded_models"][0]["name"] == "llama3:latest"


async def test_ensure_model_takes_digest_from_tags_and_context_from_show(ollama: OllamaRuntime):
    model = await ollama.ensure_model("llama3")  # the tag defaults to :latest, as in Ollama

    assert model.name == "llama3"
    assert model.digest == "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e"
    assert model.size_bytes == 3825819519
    assert model.details["quantization_level"] == "Q4_0"
    assert model.details["context_length"] == 8192


async def test_ensure_model_for_a_missing_model_names_the_pull_command(ollama: OllamaRuntime):
    with pytest.raises(RuntimeUnavailable) as caught:
        await ollama.ensure_model("mistral")

    assert "mistral" in caught.value.message
    assert caught.value.hint == "ollama pull mistral"


async def test_info_when_nothing_listens_is_runtime_unavailable(refused_url: str):
    runtime = OllamaRuntime(refused_url, timeout_s=2.0)
    try:
        with pytest.raises(RuntimeUnavailable) as caught:
            await runtime.info()
    finally:
        await runtime.aclose()
    assert refused_url in caught.value.message
    assert "ollama serve" in (caught.value.hint or "")


async def test_completion_prompt_goes_raw_to_api_generate_with_every_option(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    await ollama.generate(
        request(temperature=0.2, top_p=0.9, top_k=20, seed=7, max_tokens=5, stop=("\n",),
                num_ctx=2048)
    )  # fmt: skip

    (sent,) = fake_ollama.bodies("/api/generate")
    assert sent["model"] == "llama3"
    assert sent["prompt"] == PROMPT.text
    assert sent["raw"] is True
    assert sent["stream"] is True
    assert sent["keep_alive"] == "10m"
    assert sent["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 20,
        "seed": 7,
        "num_predict": 5,
        "num_ctx": 2048,
        "stop": ["\n"],
    }


async def test_chat_request_goes_to_api_chat_with_the_messages(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    completion = await ollama.generate(request(chat=True))

    (sent,) = fake_ollama.bodies("/api/chat")
    assert sent["messages"] == [dict(m) for m in PROMPT.messages]
    assert "raw" not in sent
    assert sent["options"]["num_ctx"] == 4096  # sent even when left at the default
    assert completion.text == "The sky is blue"


async def test_streamed_answer_records_ollama_timings_and_token_counts(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.first_chunk_delay_s = 0.15

    completion = await ollama.generate(request())

    assert completion.text == "The sky is blue"
    assert completion.finish_reason == "stop"
    assert completion.runtime_timings == OLLAMA_FINAL_METRICS
    assert completion.prompt_tokens == 26
    assert completion.completion_tokens == 259
    assert completion.tokens_counted_locally is False
    assert completion.ttft_ms is not None and completion.ttft_ms >= 150
    assert completion.total_ms >= completion.ttft_ms
    assert completion.warnings == []


async def test_prompt_near_num_ctx_is_warned(ollama: OllamaRuntime, fake_ollama: FakeOllama):
    fake_ollama.metrics.update(prompt_eval_count=1900, eval_count=4)

    completion = await ollama.generate(request(num_ctx=2048))

    assert any("near the context limit: 1900 of 2048" in w for w in completion.warnings)


async def test_prompt_that_filled_num_ctx_is_warned_as_truncated(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.metrics["prompt_eval_count"] = 2048  # what Ollama reports after truncating

    completion = await ollama.generate(request(num_ctx=2048))

    assert any("truncated" in w for w in completion.warnings)


async def test_context_warning_uses_the_models_trained_context_when_smaller(
    fake_ollama: FakeOllama,
):
    fake_ollama.metrics.update(prompt_eval_count=7500, eval_count=4)
    runtime = OllamaRuntime(fake_ollama.url, timeout_s=5.0)
    try:
        await runtime.ensure_model("llama3")  # /api/show: llama.context_length 8192
        completion = await runtime.generate(request(num_ctx=16384))
    finally:
        await runtime.aclose()
    assert any("7500 of 8192" in w for w in completion.warnings)


async def test_missing_model_at_call_time_is_not_retryable_and_names_ollama_pull(
    ollama: OllamaRuntime,
):
    with pytest.raises(RuntimeCallError) as caught:
        await ollama.generate(request(model="qwen2.5:0.5b"))

    assert caught.value.retryable is False
    assert "qwen2.5:0.5b" in caught.value.message
    assert caught.value.hint == "ollama pull qwen2.5:0.5b"


async def test_error_line_in_the_stream_is_a_retryable_error(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.fault = Reply(
        chunks=[b'{"model":"llama3","response":"The","done":false}\n',
                b'{"error":"an error was encountered while running the model"}\n'],
        content_type="application/x-ndjson",
    )  # fmt: skip

    with pytest.raises(RuntimeCallError) as caught:
        await ollama.generate(request())

    assert caught.value.retryable is True
    assert "an error was encountered" in caught.value.message


async def test_stream_that_ends_before_the_final_message_is_retryable(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.fault = Reply(
        chunks=[b'{"model":"llama3","response":"The","done":false}\n'],
        content_type="application/x-ndjson",
    )

    with pytest.raises(RuntimeCallError) as caught:
        await ollama.generate(request())

    assert caught.value.retryable is True
    assert "final message" in caught.value.message


async def test_empty_answer_is_a_completion_with_a_warning(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.answer = []
    fake_ollama.metrics["eval_count"] = 1

    completion = await ollama.generate(request())

    assert completion.text == ""
    assert completion.ttft_ms is None
    assert any("empty completion" in w for w in completion.warnings)


async def test_choice_probabilities_come_from_ollamas_top_logprobs(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.answer = [" High"]
    fake_ollama.logprobs = [
        {
            "token": " High",
            "logprob": -0.25,
            "bytes": [32, 72, 105, 103, 104],
            "top_logprobs": [
                {"token": " High", "logprob": -0.25},
                {"token": " Medium", "logprob": -1.75},
                {"token": " Hi", "logprob": -4.0},
                {"token": " the", "logprob": -5.0},
            ],
        }
    ]

    completion = await ollama.generate(request())

    (sent,) = fake_ollama.bodies("/api/generate")
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20
    probs = {k: math.exp(v) for k, v in (completion.choice_logprobs or {}).items()}
    assert set(probs) == {"Low", "Medium", "High"}
    assert math.isclose(sum(probs.values()), 1.0)
    assert probs["High"] > probs["Medium"] > probs["Low"]
    # "Low" is outside the top k: it gets the smallest listed logprob, not zero.
    assert math.isclose(math.log(probs["Low"]) - math.log(probs["Medium"]), -5.0 + 1.75)


async def test_no_logprobs_are_asked_for_a_prompt_without_choices(
    fake_ollama: FakeOllama, ollama: OllamaRuntime
):
    plain = CompletionRequest(
        model="llama3", prompt=Prompt(text="Estimate:", messages=()), options=GenerationOptions()
    )

    completion = await ollama.generate(plain)

    (sent,) = fake_ollama.bodies("/api/generate")
    assert "logprobs" not in sent
    assert completion.choice_logprobs is None


async def test_numeric_keep_alive_is_sent_as_a_number(fake_ollama: FakeOllama):
    runtime = OllamaRuntime(fake_ollama.url, keep_alive="-1")
    try:
        await runtime.generate(request())
    finally:
        await runtime.aclose()
    assert fake_ollama.bodies("/api/generate")[0]["keep_alive"] == -1


async def test_spec_builds_an_ollama_runtime_with_url_and_keep_alive(fake_ollama: FakeOllama):
    spec = OllamaOptions(url=fake_ollama.url + "/", model="llama3", keep_alive="5m")

    runtime = create_runtime(spec, timeout_s=3.0)
    try:
        assert isinstance(runtime, OllamaRuntime)
        assert runtime.base_url == fake_ollama.url
        assert runtime.keep_alive == "5m"
        assert (await runtime.ensure_model("llama3")).digest is not None
    finally:
        await runtime.aclose()


async def test_api_key_from_the_named_environment_variable_is_sent_as_bearer(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PUMA_TEST_OLLAMA_KEY", "secret-123")
    spec = OllamaOptions(url=fake_ollama.url, model="llama3", api_key_env="PUMA_TEST_OLLAMA_KEY")
    runtime = create_runtime(spec)
    try:
        await runtime.info()
    finally:
        await runtime.aclose()
    assert fake_ollama.requests[0].headers["Authorization"] == "Bearer secret-123"


def test_unset_api_key_variable_is_a_spec_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PUMA_TEST_MISSING_KEY", raising=False)
    spec = OllamaOptions(model="llama3", api_key_env="PUMA_TEST_MISSING_KEY")

    with pytest.raises(SpecError) as caught:
        create_runtime(spec)

    assert "PUMA_TEST_MISSING_KEY" in caught.value.message


async def test_an_answer_stopped_at_a_leading_newline_is_asked_for_again(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.answer = ["\n", " High", "\n", "Issue"]

    completion = await ollama.generate(request(stop=("\n",)))

    first, second = [r.body for r in fake_ollama.requests if r.path == "/api/generate"]
    assert first["options"]["stop"] == ["\n"]
    assert "stop" not in second["options"]  # held back: PUMA applies it after the first words
    assert completion.text == "\n High"
    assert completion.finish_reason == "stop"
    assert not any("empty completion" in w for w in completion.warnings)


async def test_an_answer_with_words_before_its_stop_is_asked_for_once(
    ollama: OllamaRuntime, fake_ollama: FakeOllama
):
    fake_ollama.answer = [" High", "\n", "Issue"]

    completion = await ollama.generate(request(stop=("\n",)))

    assert completion.text == " High"
    assert len([r for r in fake_ollama.requests if r.path == "/api/generate"]) == 1
