"""The ollama runtime: Ollama's native API (`/api/chat`, `/api/generate`, `/api/tags`, ...).

Streams NDJSON, records Ollama's own timings per call and the model digest from `/api/tags`.
Ollama silently truncates a prompt longer than its context, so every call sends `num_ctx` and a
call whose prompt came near it carries a warning.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from puma.errors import RuntimeUnavailable
from puma.runtimes.base import (
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
    iter_ndjson,
    mid_stream_error,
    normalise_base_url,
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
from puma.spec_fields import Text

DEFAULT_URL = "http://127.0.0.1:11434"
LOGPROBS_SINCE = (0, 12, 11)  # the first Ollama release that returns logprobs
# Ollama's own per-call figures (durations in nanoseconds), copied into Completion.runtime_timings.
TIMING_KEYS = (
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
    "total_duration",
)


def pull_hint(model: str) -> str:
    return f"ollama pull {model}"


class OllamaRuntime(Runtime):
    """Talks to one Ollama server; safe for many concurrent calls from one event loop."""

    name = "ollama"

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout_s: float = 120.0,
        keep_alive: str | None = None,
        api_key: str | None = None,
    ):
        base_url = normalise_base_url(base_url).removesuffix("/v1")  # the native API is at /api
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.keep_alive = keep_alive
        self._http = HttpRuntimeClient(
            base_url,
            runtime="ollama",
            timeout_s=timeout_s,
            missing_model_hint=pull_hint,
            api_key=api_key,
        )
        self._context_lengths: dict[str, int] = {}  # model -> trained context, from /api/show

    async def info(self) -> RuntimeInfo:
        try:
            version = await self._http.get_json("/api/version")
            tags = await self._http.get_json("/api/tags")
        except RuntimeCallError as exc:
            raise _unavailable(exc, self.base_url) from exc
        try:
            running = await self._http.get_json("/api/ps")
        except RuntimeCallError:
            running = {}  # older servers have no /api/ps; it only adds detail
        return RuntimeInfo(
            name=self.name,
            url=self.base_url,
            version=str(version.get("version")) if isinstance(version, dict) else None,
            models=tuple(_model_info(entry) for entry in _entries(tags)),
            build={
                "api": "ollama",
                "loaded_models": [
                    {
                        "name": entry.get("name"),
                        "size_vram": entry.get("size_vram"),
                        "expires_at": entry.get("expires_at"),
                    }
                    for entry in _entries(running)
                ],
            },
        )

    async def ensure_model(self, model: str) -> ModelInfo:
        try:
            tags = await self._http.get_json("/api/tags")
        except RuntimeCallError as exc:
            raise _unavailable(exc, self.base_url) from exc
        entry = next((e for e in _entries(tags) if _same_model(str(e.get("name")), model)), None)
        if entry is None:
            raise RuntimeUnavailable(
                f"Ollama at {self.base_url} has no model '{model}'",
                hint=pull_hint(model),
            )
        info = _model_info(entry, name=model)
        try:
            shown = await self._http.post_json("/api/show", {"model": model}, model=model)
        except RuntimeCallError:
            return info  # the digest and size from /api/tags are what matter
        details = dict(info.details)
        context = _context_length(shown)
        if context is not None:
            details["context_length"] = context
            self._context_lengths[model] = context
        return ModelInfo(
            name=info.name, digest=info.digest, size_bytes=info.size_bytes, details=details
        )

    async def generate(self, request: CompletionRequest) -> Completion:
        path, body = self.request_body(request)
        stops = request.options.stop
        async with call_deadline(self.timeout_s, f"ollama {path}"):
            completion = await self._stream(path, body, request)
            if stopped_before_answer(completion, stops):
                kept = [s for s in stops if s not in blank_lead_stops(stops)]
                options = {k: v for k, v in body["options"].items() if k != "stop"}
                options.update({"stop": kept} if kept else {})
                second = await self._stream(path, {**body, "options": options}, request)
                completion = answer_past_blank_lead(completion, second, stops)
            return completion

    def request_body(self, request: CompletionRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body for one call (public so tests can check the wire format)."""
        opts = request.options
        options: dict[str, Any] = {
            "temperature": opts.temperature,
            "top_p": opts.top_p,
            "top_k": opts.top_k,
            "seed": opts.seed,
            "num_predict": opts.max_tokens,
            # Always sent: Ollama's default context depends on the machine's memory.
            "num_ctx": opts.num_ctx,
        }
        if opts.stop:
            options["stop"] = list(opts.stop)
        body: dict[str, Any] = {"model": request.model, "stream": True, "options": options}
        if request.chat:
            path = "/api/chat"
            body["messages"] = [dict(message) for message in request.prompt.messages]
        else:
            path = "/api/generate"
            body["prompt"] = request.prompt.text
            body["raw"] = True  # a completion prompt goes to the model as is, no chat template
        if self.keep_alive is not None:
            body["keep_alive"] = _keep_alive_value(self.keep_alive)
        if request.prompt.choices:
            body["logprobs"] = True  # older servers ignore unknown fields
            body["top_logprobs"] = TOP_LOGPROBS
        return path, body

    async def _stream(
        self, path: str, body: dict[str, Any], request: CompletionRequest
    ) -> Completion:
        clock = CallClock()
        parts: list[str] = []
        positions: list[TokenPosition] = []
        final: dict[str, Any] | None = None
        what = f"ollama {path}"
        async with self._http.stream(path, body, model=request.model) as response:
            async for obj in iter_ndjson(response, what=what):
                if "error" in obj:
                    raise mid_stream_error("ollama", obj)
                piece = _content(obj, chat=request.chat)
                if piece:
                    clock.saw_content()
                    parts.append(piece)
                positions.extend(token_positions(obj.get("logprobs")))
                if obj.get("done"):
                    final = obj
                    break
        if final is None:
            raise RuntimeCallError(
                f"{what}: the stream ended before Ollama's final message", retryable=True
            )
        return self._completion(request, "".join(parts), clock, final, positions, len(parts))

    def _completion(
        self,
        request: CompletionRequest,
        text: str,
        clock: CallClock,
        final: dict[str, Any],
        positions: list[TokenPosition],
        content_chunks: int,
    ) -> Completion:
        timings: dict[str, Any] = {key: final[key] for key in TIMING_KEYS if key in final}
        warnings: list[str] = []
        prompt_tokens = _int_or_none(final.get("prompt_eval_count"))
        completion_tokens = _int_or_none(final.get("eval_count"))
        counted_locally = False
        if completion_tokens is None:
            # Ollama streams one token per chunk; its count is missing only on odd servers.
            completion_tokens, counted_locally = content_chunks, True
            timings["token_count_source"] = "stream chunks"
        if prompt_tokens is None:
            warnings.append(
                "ollama reported no prompt_eval_count (prompt served from its cache?); "
                "prompt tokens and prompt speed are unknown for this call"
            )
        context = request.options.num_ctx
        trained = self._context_lengths.get(request.model)
        if trained is not None and trained < context:
            context = trained
        warning = context_warning(prompt_tokens, completion_tokens, context)
        if warning:
            warnings.append(warning)
        finish_reason = final.get("done_reason")
        if not text:
            warnings.append(empty_completion_warning(finish_reason))
        scores = choice_logprobs(positions, request.prompt.choices) if positions else None
        if scores is not None:
            timings["choice_logprobs_method"] = CHOICE_METHOD
        return Completion(
            text=text,
            total_ms=clock.elapsed_ms(),
            ttft_ms=clock.ttft_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens_counted_locally=counted_locally,
            finish_reason=finish_reason,
            choice_logprobs=scores,
            runtime_timings=timings,
            warnings=warnings,
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _unavailable(exc: RuntimeCallError, url: str) -> RuntimeUnavailable:
    return RuntimeUnavailable(
        f"Ollama is not reachable at {url}: {exc.message}",
        hint="start it with `ollama serve` (or the Ollama app), or set runtime.url",
    )


def _entries(listing: Any) -> list[dict[str, Any]]:
    models = listing.get("models") if isinstance(listing, dict) else None
    return [m for m in models or [] if isinstance(m, dict)]


def _same_model(listed: str, wanted: str) -> bool:
    """Ollama names default to the tag `latest`: `llama3.2` is `llama3.2:latest`."""

    def full(name: str) -> str:
        return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"

    return full(listed) == full(wanted)


def _model_info(entry: dict[str, Any], name: str | None = None) -> ModelInfo:
    raw_details = entry.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    kept = {
        key: details[key]
        for key in ("format", "family", "parameter_size", "quantization_level")
        if details.get(key) is not None
    }
    size = entry.get("size")
    return ModelInfo(
        name=name or str(entry.get("name")),
        digest=entry.get("digest"),
        size_bytes=size if isinstance(size, int) else None,
        details=kept,
    )


def _context_length(shown: Any) -> int | None:
    """The model's trained context from /api/show's model_info (`<arch>.context_length`)."""
    info = shown.get("model_info") if isinstance(shown, dict) else None
    if not isinstance(info, dict):
        return None
    for key, value in info.items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def _content(obj: dict[str, Any], *, chat: bool) -> str:
    if chat:
        message = obj.get("message")
        return str(message.get("content") or "") if isinstance(message, dict) else ""
    return str(obj.get("response") or "")


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _keep_alive_value(value: str) -> str | int:
    """Ollama reads a bare number as seconds (-1: forever) but a string only as '5m', '1h'."""
    try:
        return int(value)
    except ValueError:
        return value


def version_warning(version: str) -> Check | None:
    """A warning for an Ollama too old to return logprobs (also used by the openai runtime's
    `preset: ollama`)."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if not match or tuple(int(part or 0) for part in match.groups()) >= LOGPROBS_SINCE:
        return None
    return Check(
        "runtime version",
        "warn",
        f"Ollama {version} returns no logprobs, so triage answers get no label probabilities "
        "(calibration metrics will be missing)",
        f"update Ollama to {'.'.join(map(str, LOGPROBS_SINCE))} or later",
    )


class OllamaOptions(ServerOptions):
    kind: Literal["ollama"] = "ollama"
    keep_alive: Text | None = Field(default=None, description="Ollama keep_alive, e.g. '5m'")


def _create(options: OllamaOptions, timeout_s: float) -> Runtime:
    return OllamaRuntime(
        options.url or DEFAULT_URL,
        timeout_s=timeout_s,
        keep_alive=options.keep_alive,
        api_key=api_key_from_env(options.api_key_env),
    )


async def _diagnose(options: OllamaOptions, required: bool, timeout_s: float) -> list[Check]:
    return await diagnose_server(
        options,
        lambda: _create(options, timeout_s),
        "Ollama (native API)",
        version_warning=version_warning,
    )


OLLAMA = register_runtime(
    RuntimeKind(
        "ollama",
        OllamaOptions,
        _create,
        _diagnose,
        summary="Ollama's native API (/api/generate, /api/chat): sets num_ctx on every call",
    )
)
