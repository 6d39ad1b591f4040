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

import httpx

VERIFY_PATH = "/api/v1/verify"
TIMEOUT_S = 30.0
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class RemoteUnavailable(Exception):
    """The verifier could not be asked, or gave an answer outside the contract."""


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
    endpoint = verify_endpoint(url)
    if not endpoint.startswith(("http://", "https://")):
        raise RemoteUnavailable(f"{url!r} is not an http(s) URL")
    try:
        with submission.open("rb") as sub, predictions.open("rb") as preds:
            response = httpx.post(
                endpoint,
                files={
                    "submission": (submission.name, sub, "application/json"),
                    "predictions": (predictions.name, preds, "application/x-ndjson"),
                },
                timeout=timeout_s,
            )
    except (httpx.HTTPError, OSError) as exc:
        raise RemoteUnavailable(f"{type(exc).__name__}: {exc}") from exc
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
