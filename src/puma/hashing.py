"""The one hashing function: SHA-256 hex over bytes, text or canonical JSON."""

from __future__ import annotations

import hashlib
from typing import Any

from puma.jsonio import dumps_canonical


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def sha256_json(obj: Any) -> str:
    return sha256_hex(dumps_canonical(obj))


def prompt_hash(prompt: str) -> str:
    """The first 16 hex of the SHA-256 of the exact prompt (PUMA 4.0's prompt_hash)."""
    return sha256_hex(prompt)[:16]
