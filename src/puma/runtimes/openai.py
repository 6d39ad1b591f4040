"""The openai runtime: any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, Ollama's /v1).

Streams server-sent events with `stream_options.include_usage`, so time to first token and
tokens per second come from the stream itself. Presets hold each server's default URL and
quirks; servers that send no usage get their tokens counted locally, and marked so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from puma.errors import RuntimeUnavailable
from puma.runtimes import ollama
from puma.runtimes.base import (
    CallInterrupted,
    Check,
    Completion,
    CompletionRequest,
    ModelInfo,
    Runtime,
    RuntimeCallError,
    RuntimeInfo,
)
from puma.runtimes.http import (
    HttpRuntimeClient,
    api_key_from_env,
    call_deadline,
    iter_sse_data,
    mid_stream_error,
    normalise_base_url,
    parse_json,
)
from puma.runtimes.registry import RuntimeKind, register_runtime
from puma.runtimes.remote import (
    CHOICE_METHOD,
    TOP_LOGPROBS,
    CallClock,
    ServerOptions,
    TokenPosition,
    choice_logprobs,
    context_warning,
    diagnose_server,
    empty_completion_warning,
    token_positions,
)
from puma.runtimes.stops import answer_past_blank_lead, blank_lead_stops, stopped_before_answer

API_PREFIX = "/v1"


@dataclass(frozen=True)
class Preset:
    """One server flavour: where it listens by default and what it does differently."""

    url: str
    serve_hint: str  # the command that makes the server offer a model ({model} is filled in)
    ignores_num_ctx: bool = False  # True: num_ctx cannot be set per request at all
    # Ask for top-k logprobs to score answer choices. Off where it is unknown or costly:
    # llama-cpp-python's server (the generic default) is about ten times slower with them.
    logprobs: bool = False
    # `puma doctor`: how to judge the server's version, and what to say once it answers.
    version_warning: Callable[[str], Check | None] | None = None
    doctor_notes: tuple[Check, ...] = ()


GENERIC = Preset(
    url="http://127.0.0.1:8000",
    serve_hint="start the server with the model '{model}' loaded, e.g. "
    "`python -m llama_cpp.server --model PATH.gguf --model_alias {model}`",
)
PRESETS: dict[str, Preset] = {
    "vllm": Preset(url="http://127.0.0.1:8000", serve_hint="vllm serve {model}", logprobs=True),
    "llamacpp": Preset(
        url="http://127.0.0.1:8080",
        serve_hint="llama-server --model PATH.gguf --alias {model}",
        logprobs=True,
    ),
    "lmstudio": Preset(
        url="http://127.0.0.1:1234", serve_hint="lms get {model} && lms load {model}"
    ),
    "ollama": Preset(
        url="http://127.0.0.1:11434",
        serve_hint="ollama pull {model}",
        ignores_num_ctx=True,
        logprobs=True,  # Ollama 0.12.11 and later; older versions ignore the field
        version_warning=ollama.version_warning,
        doctor_notes=(
            Check(
                "context size",
                "warn",
                "Ollama's /v1 endpoint ignores num_ctx, so prompts longer than the server's "
                "default context are silently truncated",
                "use runtime kind 'ollama' (the native API), which sets num_ctx per call",
            ),
        ),
    ),
}
OLLAMA_V1_NUM_CTX_WARNING = (
    "Ollama's /v1 endpoint ignores num_ctx: the context is the server's default "
    "(OLLAMA_CONTEXT_LENGTH) and longer prompts are silently truncated; use runtime kind "
    "'ollama' to set it per request"
)
EMPTY_STREAM_HINT = (
    "the server sent no data at all; llama-cpp-python's server does this when the prompt does "
    "not fit its context (--n_ctx): check its log, and raise --n_ctx or shorten the prompt"
)
INTERRUPTED_HINT = (
    "if this is llama-cpp-python's server, start it with `--interrupt_requests False`: by "
    "default it cuts a streaming answer short whenever another request arrives"
)
# llama-cpp-python's server names itself in its OpenAPI title; its /v1/models entries say
# owned_by "me" and carry an empty "permissions" list, which no other server sends.
LLAMA_CPP_PYTHON = "llama-cpp-python"
LLAMA_CPP_PYTHON_TITLE = "llama.cpp Python API"
SERIAL_REASON = (
    "llama-cpp-python's server answers one request at a time and, unless it was started with "
    "`--interrupt_requests False`, cuts a streaming answer short whenever another request "
    "arrives: PUMA sends it one call at a time"
)
# Tokenizer endpoints some servers offer, tried in order when a stream carries no usage:
# llama-cpp-python's server, then llama.cpp's llama-server.
TOKEN_COUNT_CACHE = 10_000
TOKENIZE_ENDPOINTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("/extras/tokenize", "input", {}),
    ("/tokenize", "content", {"add_special": True}),
)


class OpenAICompatibleRuntime(Runtime):
    """Talks to one OpenAI-compatible server; safe for many concurrent calls from one loop."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float = 120.0,
        preset: str | None = None,
        api_key: str | None = None,
        request_logprobs: bool | None = None,
    ):
        self.preset_name = preset
        self.preset = PRESETS[preset] if preset else GENERIC
        self.request_logprobs = (
            self.preset.logprobs if request_logprobs is None else request_logprobs
        )
        self.root_url = _root_url(base_url or self.preset.url)
        self.url = self.root_url + API_PREFIX
        self.timeout_s = timeout_s
        self._http = HttpRuntimeClient(
            self.root_url,
            runtime=f"OpenAI-compatible server{f' ({preset})' if preset else ''}",
            timeout_s=timeout_s,
            missing_model_hint=self.serve_hint,
            api_key=api_key,
        )
        self._server_contexts: dict[str, int] = {}  # model -> context the server was started with
        self._tokenizer: tuple[str, str, dict[str, Any]] | None = None
        self._tokenizer_probed = False
        self._tokenizer_lock = asyncio.Lock()
        self._token_counts: dict[tuple[str, str], int] = {}  # repetitions reuse their prompt
        self._server: str | None = None  # the server software, when info() recognised it

    @property
    def max_parallel(self) -> int | None:
        return 1 if self._server == LLAMA_CPP_PYTHON else None

    @property
    def max_parallel_reason(self) -> str | None:
        return SERIAL_REASON if self._server == LLAMA_CPP_PYTHON else None

    def serve_hint(self, model: str) -> str:
        return self.preset.serve_hint.format(model=model)

    async def info(self) -> RuntimeInfo:
        entries = await self._model_entries()
        version, build = await self._version(entries)
        self._server = build.get("server")
        return RuntimeInfo(
            name=self.name,
            url=self.url,
            version=version,
            models=tuple(_model_info(entry) for entry in entries),
            build={"api": "openai", "preset": self.preset_name, **build},
        )

    async def ensure_model(self, model: str) -> ModelInfo:
        entries = await self._model_entries()
        entry = next((e for e in entries if e.get("id") == model), None)
        if entry is None:
            served = ", ".join(str(e.get("id")) for e in entries) or "none"
            raise RuntimeUnavailable(
                f"the server at {self.url} does not serve model '{model}' (it serves: {served})",
                hint=self.serve_hint(model),
            )
        info = _model_info(entry)
        context = info.details.get("max_model_len")
        if context is None:
            context = await self._llama_server_context()
        if isinstance(context, int):
            self._server_contexts[model] = context
            return ModelInfo(
                name=info.name,
                digest=info.digest,
                size_bytes=info.size_bytes,
                details={**info.details, "server_context": context},
            )
        return info

    async def generate(self, request: CompletionRequest) -> Completion:
        path, body = self.request_body(request)
        stops = request.options.stop
        async with call_deadline(self.timeout_s, f"{self.url}{path.removeprefix(API_PREFIX)}"):
            completion = await self._stream(path, body, request)
            if stopped_before_answer(completion, stops):
                kept = [s for s in stops if s not in blank_lead_stops(stops)]
                again = {k: v for k, v in body.items() if k != "stop"}
                again.update({"stop": kept} if kept else {})
                second = await self._stream(path, again, request)
                completion = answer_past_blank_lead(completion, second, stops)
            return completion

    def request_body(self, request: CompletionRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body for one call (public so tests and the benchmark reuse it)."""
        opts = request.options
        body: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": opts.max_tokens,
            "temperature": opts.temperature,
            "top_p": opts.top_p,
            "top_k": opts.top_k,  # not OpenAI's, but vLLM, llama.cpp and LM Studio honour it
            "seed": opts.seed,
        }
        if opts.stop:
            body["stop"] = list(opts.stop)
        if request.chat:
            path = f"{API_PREFIX}/chat/completions"
            body["messages"] = [dict(message) for message in request.prompt.messages]
            if request.prompt.choices and self.request_logprobs:
                body["logprobs"] = True
                body["top_logprobs"] = TOP_LOGPROBS
        else:
            path = f"{API_PREFIX}/completions"
            body["prompt"] = request.prompt.text
            if request.prompt.choices and self.request_logprobs:
                body["logprobs"] = TOP_LOGPROBS
        return path, body

    async def _stream(
        self, path: str, body: dict[str, Any], request: CompletionRequest
    ) -> Completion:
        clock = CallClock()
        tally = _StreamTally()
        what = f"{self.url}{path.removeprefix(API_PREFIX)}"
        async with self._http.stream(path, body, model=request.model) as response:
            async for data in iter_sse_data(response):
                if data.strip() == "[DONE]":
                    tally.done = True
                    break
                tally.read(parse_json(data, what=what), chat=request.chat, clock=clock)
        if tally.finish_reason is None and tally.done:
            # llama-cpp-python's server ends a stream it interrupts with [DONE] and no
            # finish_reason (llama_cpp/server/app.py, get_event_publisher).
            raise CallInterrupted(
                f"{what}: the server ended the stream with [DONE] before a finish_reason; "
                "another request interrupted the answer",
                hint=INTERRUPTED_HINT,
            )
        if tally.finish_reason is None:
            cut = "before a finish_reason or [DONE]"
            hint = EMPTY_STREAM_HINT if tally.events == 0 else None
            raise RuntimeCallError(
                f"{what}: the stream ended {cut}; the answer was cut short",
                retryable=True,
                hint=hint,
            )
        return await self._completion(request, tally, clock)

    async def _completion(
        self, request: CompletionRequest, tally: _StreamTally, clock: CallClock
    ) -> Completion:
        total_ms = clock.elapsed_ms()  # before any token counting below: that is not the call
        text = "".join(tally.parts)
        timings: dict[str, Any] = {}
        if tally.server_timings:
            timings["server_timings"] = tally.server_timings  # llama-server's own figures
        usage = tally.usage or {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        counted_locally = False
        if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
            timings["token_count_source"] = "server usage"
        else:
            counted_locally = True
            # llama.cpp-family servers stream one token per chunk.
            completion_tokens = tally.content_chunks
            prompt_tokens = await self._count_tokens(_prompt_text(request), request.model)
            timings["token_count_source"] = (
                "stream chunks; prompt via the server's tokenizer"
                + (" (message text only, no chat template)" if request.chat else "")
                if prompt_tokens is not None
                else "stream chunks; prompt tokens unknown"
            )
        warnings: list[str] = []
        if self.preset.ignores_num_ctx:
            warnings.append(OLLAMA_V1_NUM_CTX_WARNING)
        context = self._server_contexts.get(request.model, request.options.num_ctx)
        warning = context_warning(prompt_tokens, completion_tokens, context)
        if warning:
            warnings.append(warning)
        if not text:
            warnings.append(empty_completion_warning(tally.finish_reason))
        scores = None
        if request.prompt.choices and tally.positions:
            scores = choice_logprobs(tally.positions, request.prompt.choices)
            if scores is not None:
                timings["choice_logprobs_method"] = CHOICE_METHOD
        return Completion(
            text=text,
            total_ms=total_ms,
            ttft_ms=clock.ttft_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens_counted_locally=counted_locally,
            finish_reason=tally.finish_reason,
            choice_logprobs=scores,
            runtime_timings=timings,
            warnings=warnings,
        )

    async def _model_entries(self) -> list[dict[str, Any]]:
        try:
            listing = await self._http.get_json(f"{API_PREFIX}/models")
        except RuntimeCallError as exc:
            raise RuntimeUnavailable(
                f"no OpenAI-compatible server answers at {self.url}: {exc.message}",
                hint=f"start the server, or set runtime.url (default for this preset: "
                f"{self.preset.url}{API_PREFIX})",
            ) from exc
        data = listing.get("data") if isinstance(listing, dict) else None
        return [entry for entry in data or [] if isinstance(entry, dict)]

    async def _version(self, entries: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
        """The server's version where it tells one: vLLM's /version, llama-server's /props,
        Ollama's /api/version, llama-cpp-python's OpenAPI document. LM Studio says nothing."""
        for path, key in (("/version", "version"), ("/api/version", "version")):
            found = await self._optional_json(path)
            if isinstance(found, dict) and isinstance(found.get(key), str):
                return found[key], {}
        props = await self._optional_json("/props")
        if isinstance(props, dict) and props.get("build_info"):
            return str(props["build_info"]), {"server": "llama-server"}
        openapi = await self._optional_json("/openapi.json")
        about = openapi.get("info") if isinstance(openapi, dict) else None
        title = about.get("title") if isinstance(about, dict) else None
        if isinstance(title, str) and LLAMA_CPP_PYTHON_TITLE in title:
            version = about.get("version") if isinstance(about, dict) else None
            return (
                f"{LLAMA_CPP_PYTHON} {version}" if isinstance(version, str) else None,
                {"server": LLAMA_CPP_PYTHON},
            )
        if entries and all(
            e.get("owned_by") == "me" and e.get("permissions") == [] for e in entries
        ):
            return None, {"server": LLAMA_CPP_PYTHON}
        return None, {}

    async def _llama_server_context(self) -> int | None:
        props = await self._optional_json("/props")
        settings = props.get("default_generation_settings") if isinstance(props, dict) else None
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        return n_ctx if isinstance(n_ctx, int) else None

    async def _optional_json(self, path: str) -> Any:
        try:
            return await self._http.get_json(path)
        except RuntimeCallError:
            return None

    async def _count_tokens(self, text: str, model: str) -> int | None:
        """Tokens in `text` by the server's own tokenizer, when it has an endpoint for it."""
        async with self._tokenizer_lock:
            if not self._tokenizer_probed:
                self._tokenizer = await self._probe_tokenizer(model)
                self._tokenizer_probed = True
        if self._tokenizer is None:
            return None
        if (model, text) in self._token_counts:
            return self._token_counts[model, text]
        path, field, extra = self._tokenizer
        try:
            result = await self._http.post_json(path, {field: text, **extra})
        except RuntimeCallError:
            return None
        tokens = result.get("tokens") if isinstance(result, dict) else None
        if not isinstance(tokens, list):
            return None
        if len(self._token_counts) < TOKEN_COUNT_CACHE:
            self._token_counts[model, text] = len(tokens)
        return len(tokens)

    async def _probe_tokenizer(self, model: str) -> tuple[str, str, dict[str, Any]] | None:
        for path, field, extra in TOKENIZE_ENDPOINTS:
            try:
                result = await self._http.post_json(path, {field: "probe", **extra})
            except RuntimeCallError:
                continue
            if isinstance(result, dict) and isinstance(result.get("tokens"), list):
                return path, field, extra
        return None

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass
class _StreamTally:
    """What one stream has said so far."""

    done: bool = False
    finish_reason: str | None = None
    content_chunks: int = 0
    events: int = 0
    usage: dict[str, Any] | None = None
    server_timings: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.parts: list[str] = []
        self.positions: list[TokenPosition] = []

    def read(self, event: Any, *, chat: bool, clock: CallClock) -> None:
        self.events += 1
        if not isinstance(event, dict):
            raise RuntimeCallError(f"unexpected stream event: {event!r:.80}", retryable=True)
        if "error" in event:
            raise mid_stream_error("the server", event)
        if isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        if isinstance(event.get("timings"), dict):
            self.server_timings = event["timings"]
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            piece = _piece(choice, chat=chat)
            if piece:
                clock.saw_content()
                self.parts.append(piece)
                self.content_chunks += 1
            self.positions.extend(_positions(choice.get("logprobs"), chat=chat))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])


def _piece(choice: dict[str, Any], *, chat: bool) -> str:
    if chat:
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
    else:
        content = choice.get("text")
    return content if isinstance(content, str) else ""


def _positions(logprobs: Any, *, chat: bool) -> list[TokenPosition]:
    """Chat: {content: [{token, logprob, top_logprobs: [...]}]} (OpenAI's shape);
    completions: {tokens: [...], top_logprobs: [{token: logprob}, ...]} (the legacy shape)."""
    if not isinstance(logprobs, dict):
        return []
    if chat:
        return token_positions(logprobs.get("content"))
    tokens = logprobs.get("tokens") or []
    tops = logprobs.get("top_logprobs") or []
    return [
        TokenPosition(
            token=str(token),
            top={str(k): float(v) for k, v in top.items()} if isinstance(top, dict) else {},
        )
        for token, top in zip(tokens, tops, strict=False)
    ]


def _prompt_text(request: CompletionRequest) -> str:
    if request.chat:
        return "\n".join(message.get("content", "") for message in request.prompt.messages)
    return request.prompt.text


def _model_info(entry: dict[str, Any]) -> ModelInfo:
    details = {
        key: entry[key]
        for key in ("owned_by", "max_model_len", "root")
        if entry.get(key) is not None
    }
    return ModelInfo(name=str(entry.get("id")), details=details)


def _root_url(url: str) -> str:
    """The server root: users may give it with or without the `/v1` suffix."""
    url = normalise_base_url(url)
    path = urlsplit(url).path.rstrip("/")
    return url[: -len(API_PREFIX)] if path.endswith(API_PREFIX) else url


class OpenAIOptions(ServerOptions):
    kind: Literal["openai"] = "openai"
    preset: Literal["vllm", "llamacpp", "lmstudio", "ollama"] | None = Field(
        default=None, description="OpenAI-compatible server flavour (default URL and quirks)"
    )


def _create(options: OpenAIOptions, timeout_s: float) -> Runtime:
    return OpenAICompatibleRuntime(
        options.url,
        timeout_s=timeout_s,
        preset=options.preset,
        api_key=api_key_from_env(options.api_key_env),
    )


async def _diagnose(options: OpenAIOptions, required: bool, timeout_s: float) -> list[Check]:
    preset = PRESETS[options.preset] if options.preset else GENERIC
    label = "OpenAI-compatible server"
    return await diagnose_server(
        options,
        lambda: _create(options, timeout_s),
        f"{label} ({options.preset})" if options.preset else label,
        version_warning=preset.version_warning,
        notes=preset.doctor_notes,
    )


OPENAI = register_runtime(
    RuntimeKind(
        "openai",
        OpenAIOptions,
        _create,
        _diagnose,
        summary="any OpenAI-compatible server (/v1/completions, /v1/chat/completions); "
        "presets: vllm, llamacpp, lmstudio, ollama",
    )
)
