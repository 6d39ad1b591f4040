"""Asking a registry's verifier about a submission (`verify-hash --remote URL`).

Wire contract, version 1 (the registry implements the server side):

    POST {URL}/api/v1/verify            (URL may already end in /api/v1/verify)
    Content-Type: multipart/form-data
      part "submission":  the submission JSON file        (application/json)
      part "predictions": the predictions JSON-lines file (application/x-ndjson)
    200 OK, application/json:
      {"match": bool, "computed_hash": "<64 lower-case hex>", "n_rows": int (optional),
       "message": str (optional)}

Any other answer, or none, is "unavailable". The local check stays authoritative either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from puma.errors import RemoteUnavailable
from puma.event_loop import run_sync
from puma.runtimes.base import RuntimeCallError
from puma.runtimes.http import HttpRuntimeClient

VERIFY_PATH = "/api/v1/verify"
TIMEOUT_S = 30.0
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

__all__ = ["RemoteUnavailable", "RemoteVerdict", "ask_remote_verifier", "verify_endpoint"]


@dataclass(frozen=True)
class RemoteVerdict:
    url: str
    match: bool
    computed_hash: str
    message: str | None = None


def verify_endpoint(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith(VERIFY_PATH) else base + VERIFY_PATH


def ask_remote_verifier(
    url: str, submission: Path, predictions: Path, *, timeout_s: float = TIMEOUT_S
) -> RemoteVerdict:
    """`ask_remote_verifier_async`, waited for (inside a running event loop too)."""
    return run_sync(ask_remote_verifier_async(url, submission, predictions, timeout_s=timeout_s))


async def ask_remote_verifier_async(
    url: str, submission: Path, predictions: Path, *, timeout_s: float = TIMEOUT_S
) -> RemoteVerdict:
    """The verifier's verdict; RemoteUnavailable for no answer or one outside the contract."""
    endpoint = verify_endpoint(url)
    if not endpoint.startswith(("http://", "https://")):
        raise RemoteUnavailable(f"{url!r} is not an http(s) URL")
    parts = urlsplit(endpoint)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        # Read whole: schema v1 caps predictions at about 12 MiB.
        files = {
            "submission": (submission.name, submission.read_bytes(), "application/json"),
            "predictions": (predictions.name, predictions.read_bytes(), "application/x-ndjson"),
        }
    except OSError as exc:
        raise RemoteUnavailable(f"{type(exc).__name__}: {exc}") from exc
    client = HttpRuntimeClient(
        f"{parts.scheme}://{parts.netloc}",
        runtime="the registry verifier",
        timeout_s=timeout_s,
        missing_model_hint=lambda model: "",
        trust_env=True,
    )
    try:
        response = await client.post(path, files=files)
    except RuntimeCallError as exc:
        raise RemoteUnavailable(exc.message) from exc
    finally:
        await client.aclose()
    if response.status_code != 200:
        raise RemoteUnavailable(f"answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise RemoteUnavailable("answered something that is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("match"), bool):
        raise RemoteUnavailable("the answer has no boolean 'match'")
    computed = body.get("computed_hash")
    if not isinstance(computed, str) or not _HEX64.match(computed.lower().removeprefix("sha256:")):
        raise RemoteUnavailable("the answer has no 64-hex 'computed_hash'")
    message = body.get("message")
    return RemoteVerdict(
        url=endpoint,
        match=body["match"],
        computed_hash=computed.lower().removeprefix("sha256:"),
        message=message if isinstance(message, str) else None,
    )
