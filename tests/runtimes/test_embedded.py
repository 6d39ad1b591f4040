"""The embedded runtime: real llama.cpp with the bundled Gemma 3 270M GGUF, no server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
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
from puma.runtimes.embedded import EmbeddedOptions, EmbeddedRuntime
from puma.runtimes.file_digest import CACHE_FILE, file_sha256
from puma.suites.select import load_suite
from puma.tasks import build_prompt

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
        runtime = create_runtime(EmbeddedOptions())
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


def test_an_answer_that_opens_with_a_newline_runs_on_to_its_first_words() -> None:
    # The base model answers the zero-shot prioritisation prompt with "\n" first; llama.cpp
    # applying the "\n" stop from the first character made every answer empty (10 of 10).
    suite = load_suite("pm-prioritization")
    prompts = [build_prompt(suite, item, "zero-shot", seed=42) for item in suite.items[:2]]
    assert all(p.stop == ("\n",) for p in prompts)

    async def go() -> list[str]:
        runtime = EmbeddedRuntime(n_ctx=2048)
        options = GenerationOptions(max_tokens=16, stop=("\n",), num_ctx=2048)
        try:
            return [
                (await runtime.generate(CompletionRequest("embedded-default", p, options))).text
                for p in prompts
            ]
        finally:
            await runtime.aclose()

    for text in asyncio.run(go()):
        assert text.strip(), repr(text)  # something to parse
        assert "\n" not in text.lstrip()  # and the stop still ends it after its first words


def _ensure(model: str) -> str | None:
    async def go() -> str | None:
        runtime = EmbeddedRuntime(n_ctx=512)
        try:
            return (await runtime.ensure_model(model)).digest
        finally:
            await runtime.aclose()

    return asyncio.run(go())


def test_the_model_digest_is_the_gguf_files_sha256_cached_by_path_size_and_mtime(
    embedded_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUMA_CACHE_DIR", str(tmp_path / "cache"))
    expected = hashlib.sha256(embedded_model_path.read_bytes()).hexdigest()

    assert _ensure("embedded-default") == expected
    cache = tmp_path / "cache" / CACHE_FILE
    (entry,) = json.loads(cache.read_text())["entries"]
    assert entry["sha256"] == expected and entry["size"] == embedded_model_path.stat().st_size

    # A second run reads the cache instead of hashing: plant a different digest and see it come
    # back (the file itself is not touched; other tests share it).
    entry["sha256"] = "0" * 64
    cache.write_text(json.dumps({"entries": [entry]}))
    assert _ensure("embedded-default") == "0" * 64


def test_a_changed_mtime_or_size_invalidates_the_cached_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUMA_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights v1")
    first = file_sha256(model)
    assert first == hashlib.sha256(b"weights v1").hexdigest()

    model.write_bytes(b"weights v2")  # same size
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert file_sha256(model) == hashlib.sha256(b"weights v2").hexdigest()

    model.write_bytes(b"weights v3, longer")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same mtime
    assert file_sha256(model) == hashlib.sha256(b"weights v3, longer").hexdigest()


def test_an_unreadable_or_unwritable_cache_costs_a_rehash_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights")
    expected = hashlib.sha256(b"weights").hexdigest()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("PUMA_CACHE_DIR", str(blocker))
    assert file_sha256(model) == expected

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / CACHE_FILE).write_bytes(b"\xff not json")
    monkeypatch.setenv("PUMA_CACHE_DIR", str(cache_dir))
    assert file_sha256(model) == expected
    assert json.loads((cache_dir / CACHE_FILE).read_text())["entries"][0]["sha256"] == expected


def test_a_cache_that_cannot_be_written_costs_nothing_but_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under the cache folder: puma.outputs raises what it raises for any output
    (OutputWriteError); the digest is still returned."""
    import puma.runtimes.file_digest as file_digest
    from puma.errors import OutputWriteError

    def full_disk(path: Path, obj: object) -> None:
        raise OutputWriteError("cannot write: the disk is full", where=str(path))

    monkeypatch.setenv("PUMA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(file_digest, "write_json", full_disk)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights")
    assert file_sha256(model) == hashlib.sha256(b"weights").hexdigest()


ORACLE_PROMPTS = (
    "The three primary colours are",
    "Issue: Login page times out for every user in the EU region.\nPriority:",
    "Translate to French: good morning, my friend. ->",
    "東京は日本の",  # multi-byte pieces, held until a character is whole
)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_the_decode_loop_answers_what_llama_cpp_pythons_own_completion_answers(
    embedded_model_path: Path, temperature: float
) -> None:
    """The embedded runtime's own loop over llama.cpp's decode (faster per token) against the
    library it replaced, on the same weights: the same text, token count and finish reason,
    greedy and sampled with a seed."""
    import llama_cpp

    options = GenerationOptions(
        temperature=temperature, top_p=0.9, top_k=40, seed=7, max_tokens=24, num_ctx=512
    )
    oracle = llama_cpp.Llama(
        model_path=str(embedded_model_path), n_ctx=512, n_threads=os.cpu_count(), verbose=False
    )
    expected = []
    for text in ORACLE_PROMPTS:
        tokens = oracle.tokenize(text.encode("utf-8"), add_bos=True)
        oracle.reset()
        choice = oracle.create_completion(
            tokens,
            max_tokens=options.max_tokens,
            temperature=temperature,
            top_p=options.top_p,
            top_k=options.top_k,
            seed=options.seed,
        )["choices"][0]
        expected.append((choice["text"], choice["finish_reason"]))
    oracle.close()

    async def ours() -> list[tuple[str, str | None, int | None]]:
        runtime = EmbeddedRuntime(n_ctx=512)
        try:
            out = []
            for text in ORACLE_PROMPTS:
                c = await runtime.generate(
                    CompletionRequest("embedded-default", Prompt(text=text, messages=()), options)
                )
                out.append((c.text, c.finish_reason, c.completion_tokens))
            return out
        finally:
            await runtime.aclose()

    got = asyncio.run(ours())
    assert [(text, finish) for text, finish, _ in got] == expected
    assert any(ord(ch) > 127 for text, _, _ in got for ch in text)  # the multi-byte case ran
    for _, finish, tokens in got:
        assert finish == "stop" or tokens == options.max_tokens
