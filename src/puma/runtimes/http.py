"""The one HTTP client wrapper (remote runtimes, a registry's verifier): a pooled httpx.AsyncClient.

It turns every transport fault and HTTP status into a RuntimeCallError (retryable or not, with
Retry-After), and reads streamed bodies as NDJSON objects (Ollama) or SSE data payloads (OpenAI).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from puma.errors import SpecError
from puma.jsonio import json_error_text
from puma.runtimes.base import PromptTooLong, RuntimeCallError

# Statuses where the same request may succeed later: overload, gateway trouble, timeouts.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
CONNECT_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 64
ERROR_BODY_CHARS = 300
# How servers say "the prompt does not fit the context": the error code of OpenAI and
# llama-cpp-python, vLLM's message, llama-server's error type and message.
CONTEXT_EXCEEDED_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "exceed_context_size_error",
    "exceeds the available context size",
    "exceed context window",
)


class HttpRuntimeClient:
    """A pooled async HTTP client bound to one runtime's base URL.

    `missing_model_hint(model)` returns the command that installs or serves a model; it goes into
    the error raised when the server answers 404 for a model.
    """

    def __init__(
        self,
        base_url: str,
        *,
        runtime: str,
        timeout_s: float,
        missing_model_hint: Callable[[str], str],
        api_key: str | None = None,
        trust_env: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.runtime = runtime
        self.timeout_s = timeout_s
        self._missing_model_hint = missing_model_hint
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # The read timeout is per socket read: a server that stops sending mid-stream fails
        # after timeout_s of silence rather than hanging the run.
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
            ),
            # A proxy from the environment must not sit between us and a local runtime; a remote
            # registry may need one.
            trust_env=trust_env,
        )

    async def get_json(self, path: str, *, model: str | None = None) -> Any:
        return await self._request_json("GET", path, None, model)

    async def post_json(self, path: str, body: dict[str, Any], *, model: str | None = None) -> Any:
        return await self._request_json("POST", path, body, model)

    async def _request_json(
        self, method: str, path: str, body: dict[str, Any] | None, model: str | None
    ) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, path) from exc
        if response.status_code >= 400:
            raise self.status_error(response.status_code, response.text, response.headers, model)
        return parse_json(response.text, what=f"{self.runtime} {path}")

    async def post(self, path: str, **content: Any) -> httpx.Response:
        """POST (`json=`, `files=`...) and return the response whatever its status, for a caller
        with its own contract for statuses and bodies (a registry's verifier)."""
        return await self.send("POST", path, **content)

    async def send(self, method: str, path: str, **content: Any) -> httpx.Response:
        """Any method (Zenodo's file bucket takes PUT), the response whatever its status."""
        try:
            return await self._client.request(method, path, **content)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, path) from exc

    @asynccontextmanager
    async def stream(
        self, path: str, body: dict[str, Any], *, model: str | None = None
    ) -> AsyncIterator[httpx.Response]:
        """POST `body` and yield the streaming response; a status >= 400 raises at once."""
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    text = (await response.aread()).decode("utf-8", errors="replace")
                    raise self.status_error(response.status_code, text, response.headers, model)
                yield response
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, path) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def transport_error(self, exc: httpx.HTTPError, path: str) -> RuntimeCallError:
        """A fault below HTTP: refused, reset, timed out or cut off. All may pass, so retryable."""
        where = self.url(path)
        if isinstance(exc, httpx.ConnectTimeout):
            message = f"connecting to {self.runtime} at {where} timed out"
        elif isinstance(exc, httpx.ConnectError):
            message = f"cannot connect to {self.runtime} at {where} ({_reason(exc)})"
        elif isinstance(exc, httpx.ReadTimeout):
            message = f"{self.runtime} sent nothing for {self.timeout_s:g} s ({where})"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"{self.runtime} request timed out after {self.timeout_s:g} s ({where})"
        elif isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            message = f"{self.runtime} closed the connection mid-response ({where}: {_reason(exc)})"
        else:
            message = f"HTTP error talking to {self.runtime} at {where}: {_reason(exc)}"
        return RuntimeCallError(
            message, retryable=True, hint=f"check that the {self.runtime} server is running"
        )

    def status_error(
        self, status: int, text: str, headers: httpx.Headers, model: str | None
    ) -> RuntimeCallError:
        """Map an HTTP error status (with the server's own message) to a RuntimeCallError."""
        detail = error_message(text)
        shown = f": {detail}" if detail else ""
        if status in (400, 413, 500) and context_exceeded(text):
            return PromptTooLong(
                f"{self.runtime} refused the prompt as longer than the model's context "
                f"(HTTP {status}{shown})"
            )
        if status == 404 and model is not None and _mentions_model(detail, model):
            return RuntimeCallError(
                f"{self.runtime} has no model '{model}' (HTTP 404{shown})",
                retryable=False,
                hint=self._missing_model_hint(model),
            )
        if status == 404:
            return RuntimeCallError(
                f"{self.runtime} answered 404 Not Found{shown}",
                retryable=False,
                hint=f"check the runtime URL ({self.base_url}) and that the server speaks "
                f"the {self.runtime} API",
            )
        if status in (401, 403):
            return RuntimeCallError(
                f"{self.runtime} refused the request (HTTP {status}{shown})",
                retryable=False,
                hint="set runtime.api_key_env to the name of an environment variable that "
                "holds the server's API key",
            )
        retryable = status in RETRYABLE_STATUSES or status >= 500
        return RuntimeCallError(
            f"{self.runtime} answered HTTP {status}{shown}",
            retryable=retryable,
            retry_after_s=retry_after_seconds(headers.get("retry-after")) if retryable else None,
            hint=None if retryable else "the server rejected the request; see its message",
        )


def normalise_base_url(url: str) -> str:
    """A base URL without trailing slash; `localhost:11434` gets its missing `http://`."""
    url = url.strip().rstrip("/")
    url = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise SpecError(
            f"not an http(s) URL: {url!r}",
            where="runtime.url",
            hint="e.g. http://127.0.0.1:11434 (Ollama) or http://127.0.0.1:8000 (vLLM)",
        )
    return url


def api_key_from_env(name: str | None) -> str | None:
    """The API key held by the environment variable a spec names (never the key itself)."""
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise SpecError(
            f"environment variable {name} is not set",
            where="runtime.api_key_env",
            hint=f"export {name}=<the server's API key>, or remove runtime.api_key_env",
        )
    return value


@asynccontextmanager
async def call_deadline(timeout_s: float, what: str) -> AsyncIterator[None]:
    """The per-call time limit (spec `timeout_s`), whatever the server sends meanwhile."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError as exc:
        raise RuntimeCallError(
            f"{what} did not finish within {timeout_s:g} s",
            retryable=True,
            hint="raise timeout_s in the spec if the model is simply slow",
        ) from exc


def parse_json(text: str, *, what: str) -> Any:
    """Parse a response body; a malformed one is a retryable RuntimeCallError (it may be cut)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuntimeCallError(
            f"{what} returned malformed JSON ({json_error_text(exc)}): {text[:80]!r}",
            retryable=True,
        ) from exc


def context_exceeded(text: str) -> bool:
    """Whether a server's error text says the prompt does not fit the model's context."""
    lowered = text.lower()
    return any(marker in lowered for marker in CONTEXT_EXCEEDED_MARKERS)


def mid_stream_error(runtime: str, event: dict[str, Any]) -> RuntimeCallError:
    """An error object sent inside a stream: a prompt too long for the context cannot succeed
    on a retry; anything else (an overloaded or restarting server) may."""
    detail = error_detail(event)
    if context_exceeded(json.dumps(event)):
        return PromptTooLong(f"{runtime} refused the prompt as longer than the context: {detail}")
    return RuntimeCallError(f"{runtime} reported an error mid-answer: {detail}", retryable=True)


def error_message(text: str) -> str:
    """The server's own error message from a response body, or the body's start."""
    text = text.strip()
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return text[:ERROR_BODY_CHARS]
    return error_detail(body) or text[:ERROR_BODY_CHARS]


def error_detail(body: Any) -> str | None:
    """The message of an error object: Ollama's {"error": "..."}, OpenAI's
    {"error": {"message": ...}}, FastAPI's {"detail": ...}."""
    if not isinstance(body, dict):
        return None
    error = body.get("error", body.get("detail", body.get("message")))
    if isinstance(error, dict):
        error = error.get("message", error)
    return None if error is None else str(error)[:ERROR_BODY_CHARS]


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


async def iter_ndjson(response: httpx.Response, *, what: str) -> AsyncIterator[dict[str, Any]]:
    """Yield each JSON object of a newline-delimited JSON stream (Ollama's streaming format)."""
    async for line in response.aiter_lines():
        if not line.strip():
            continue
        obj = parse_json(line, what=what)
        if not isinstance(obj, dict):
            raise RuntimeCallError(
                f"{what} streamed a non-object line: {line[:80]!r}", retryable=True
            )
        yield obj


async def iter_sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """Yield the data payload of each server-sent event; comments and other fields are skipped.

    Multi-line data fields are joined with newlines, as the SSE specification says.
    """
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment, e.g. llama-cpp-python's keep-alive pings
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _mentions_model(detail: str, model: str) -> bool:
    lowered = detail.lower()
    return "model" in lowered or model.lower() in lowered


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
