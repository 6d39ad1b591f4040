"""Sending to a community service: one request through PUMA's one HTTP client wrapper
(puma.runtimes.http), with every fault below HTTP turned into RemoteUnavailable (exit 4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from puma.errors import RemoteUnavailable
from puma.event_loop import run_sync
from puma.runtimes.base import RuntimeCallError
from puma.runtimes.http import HttpRuntimeClient

TIMEOUT_S = 60.0


def request(
    method: str, url: str, *, service: str, token: str | None = None, **content: Any
) -> httpx.Response:
    """The response whatever its status; RemoteUnavailable when there is none. A token goes in
    an `Authorization: Bearer` header and never into a message (messages name the host only)."""
    return run_sync(_request(method, url, service=service, token=token, **content))


async def _request(
    method: str, url: str, *, service: str, token: str | None, **content: Any
) -> httpx.Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteUnavailable(f"{service}: not an http(s) URL")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    client = HttpRuntimeClient(
        f"{parts.scheme}://{parts.netloc}",
        runtime=service,
        timeout_s=TIMEOUT_S,
        missing_model_hint=lambda model: "",
        api_key=token,
        trust_env=True,
    )
    try:
        return await client.send(method, path or "/", **content)
    except RuntimeCallError as exc:
        # The message may quote the URL, and a webhook's or a bot's URL is its secret.
        raise RemoteUnavailable(f"{service}: {_without_path(exc.message, url)}") from exc
    finally:
        await client.aclose()


def _without_path(message: str, url: str) -> str:
    parts = urlsplit(url)
    return (
        message.replace(url, f"{parts.scheme}://{parts.netloc}/…").replace(parts.path, "/…")
        if parts.path
        else message
    )


def expect_success(response: httpx.Response, service: str) -> Any:
    """The JSON body of a 2xx answer (None when empty); RemoteUnavailable otherwise."""
    if not 200 <= response.status_code < 300:
        detail = response.text[:200].replace("\n", " ")
        raise RemoteUnavailable(f"{service} answered HTTP {response.status_code}: {detail}")
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
