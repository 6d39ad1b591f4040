"""The SHA-256 of a model file, computed once and cached by path, size and modification time.

A GGUF is hundreds of megabytes to tens of gigabytes: hashing it on every run would cost seconds
to minutes. The cache is one small JSON file, `model-digests.json`, in PUMA's cache folder
($PUMA_CACHE_DIR, else $XDG_CACHE_HOME/puma, else ~/.cache/puma). An entry counts only while the
file's absolute path, size and mtime (in nanoseconds) are what they were when it was hashed, so a
replaced or touched file is hashed again. The cache is a convenience: when it cannot be read or
written the digest is simply computed, never refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from puma.errors import OutputWriteError
from puma.jsonio import write_json
from puma.userconfig import cache_dir

CACHE_FILE = "model-digests.json"
CACHE_ENTRIES = 256  # the most recently hashed files are kept
CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of `path`'s bytes, from the cache when the file has not changed."""
    path = path.resolve()
    stat = path.stat()
    stamp = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_path = cache_dir() / CACHE_FILE
    entries = _read_cache(cache_path)
    for entry in entries:
        if all(entry.get(k) == v for k, v in stamp.items()):
            digest = entry.get("sha256")
            if isinstance(digest, str) and len(digest) == 64:
                return digest
    digest = _hash_file(path)
    kept = [e for e in entries if e.get("path") != stamp["path"]][-(CACHE_ENTRIES - 1) :]
    _write_cache(cache_path, [*kept, {**stamp, "sha256": digest}])
    return digest


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _read_cache(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _write_cache(path: Path, entries: list[dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {"schema_version": "model-digests-1.0", "entries": entries})
    except (OSError, ValueError, OutputWriteError):
        pass  # a read-only or full cache folder costs a re-hash next time, nothing more
