"""The registry's public log: every accepted and every withdrawn submission, hash-chained.

An entry is a JSON object: `seq` (1, 2, ...), `at` (UTC, ISO 8601), `action` ("accept" or
"withdraw"), `submission_id`, `kind`, `record` (what the leaderboard is computed from), `prev_hash`
(the previous entry's `hash`; 64 zeros for the first) and `hash`: the SHA-256 hex of the entry's
canonical JSON without `hash` (puma.jsonio.dumps_canonical: sorted keys, compact, UTF-8).

`append_entry` adds one under the log head's lock; `verify_log` checks a copy anyone fetched
(`read_log` reads a URL or a file), naming the first entry that breaks the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from puma.errors import InputFileError
from puma.hashing import sha256_json
from puma.jsonio import dumps_canonical, parse_json
from puma.registry.db import GENESIS_HASH, HEAD_ROW, LogEntryRow, LogHead

ACTIONS = ("accept", "withdraw")
LOG_PATH = "/api/v1/log"
_FIELDS = ("seq", "at", "action", "submission_id", "kind", "record", "prev_hash", "hash")


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash an entry must carry: over every field but `hash` itself."""
    return sha256_json({k: v for k, v in entry.items() if k != "hash"})


def lock_head(session: Session) -> LogHead:
    """The log head, locked until the session's transaction ends (`SELECT ... FOR UPDATE` on
    PostgreSQL; on SQLite the transaction began with BEGIN IMMEDIATE and holds the write lock)."""
    head = session.execute(
        select(LogHead).where(LogHead.id == HEAD_ROW).with_for_update()
    ).scalar_one()
    return head


def append_entry(
    session: Session,
    head: LogHead,
    *,
    action: str,
    submission_id: str,
    kind: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """Append one entry after `head` (locked with `lock_head` in this transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown log action {action!r}")
    entry: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "action": action,
        "submission_id": submission_id,
        "kind": kind,
        "record": record,
        "prev_hash": head.hash,
    }
    entry["hash"] = entry_hash(entry)
    session.add(
        LogEntryRow(
            seq=entry["seq"],
            prev_hash=entry["prev_hash"],
            hash=entry["hash"],
            body=dumps_canonical(entry),
        )
    )
    head.seq, head.hash = entry["seq"], entry["hash"]
    return entry


def log_entries(session: Session, *, after: int = 0, limit: int | None = None) -> list[Any]:
    """Entries with seq > `after`, in order, as the JSON objects that were hashed."""
    query = select(LogEntryRow.body).where(LogEntryRow.seq > after).order_by(LogEntryRow.seq)
    if limit is not None:
        query = query.limit(limit)
    return [json.loads(body) for body in session.execute(query).scalars()]


# --- checking a copy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LogVerdict:
    ok: bool
    n_entries: int
    head_hash: str  # the last entry's hash (64 zeros for an empty log)
    first_broken: int | None = None  # 1-based position of the first entry that breaks the chain
    reason: str | None = None  # what is wrong with it

    def describe(self) -> str:
        if self.ok:
            return f"log intact: {self.n_entries} entries, head {self.head_hash}"
        return f"log broken at entry {self.first_broken}: {self.reason}"


def verify_log(entries: list[Any]) -> LogVerdict:
    """Check a log: each entry well formed, its hash recomputes, it points at the one before it,
    and seq counts 1, 2, ... without a gap. Names the first entry that fails."""
    prev = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry, position, prev)
        if problem:
            return LogVerdict(False, len(entries), prev, first_broken=position, reason=problem)
        prev = entry["hash"]
    return LogVerdict(True, len(entries), prev)


def _entry_problem(entry: Any, position: int, prev: str) -> str | None:
    if not isinstance(entry, dict):
        return f"not a JSON object but {type(entry).__name__}"
    missing = [name for name in _FIELDS if name not in entry]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    extra = sorted(set(entry) - set(_FIELDS))
    if extra:
        return f"unknown field(s): {', '.join(extra)}"
    if entry["seq"] != position:
        return f"seq is {entry['seq']!r}, expected {position} (an entry is missing or moved)"
    if entry["action"] not in ACTIONS:
        return f"unknown action {entry['action']!r}"
    if entry["prev_hash"] != prev:
        return f"prev_hash {str(entry['prev_hash'])[:16]}… is not the previous hash {prev[:16]}…"
    try:
        recomputed = entry_hash(entry)
    except (TypeError, ValueError) as exc:
        return f"cannot be hashed: {exc}"
    if entry["hash"] != recomputed:
        return f"hash {str(entry['hash'])[:16]}… does not recompute ({recomputed[:16]}…)"
    return None


def read_log(source: str, *, timeout_s: float = 60.0) -> list[Any]:
    """A log from a registry URL (its base URL or the log's own) or from a file holding a JSON
    array or JSON lines. InputFileError when it cannot be had or read."""
    if source.startswith(("http://", "https://")):
        return _fetch_log(source, timeout_s)
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=source) from exc
    if raw.lstrip()[:1] == b"[":
        data = parse_json(raw, source)
        if not isinstance(data, list):
            raise InputFileError("expected a JSON array of log entries", where=source)
        return data
    from puma.jsonio import iter_jsonl

    return [entry for _, entry in iter_jsonl(path)]


def _fetch_log(url: str, timeout_s: float) -> list[Any]:
    from puma.event_loop import run_sync

    endpoint = url.rstrip("/")
    if not endpoint.endswith(LOG_PATH):
        endpoint += LOG_PATH
    data = run_sync(_get_json(endpoint, timeout_s))
    if not isinstance(data, list):
        raise InputFileError("expected a JSON array of log entries", where=endpoint)
    return data


async def _get_json(endpoint: str, timeout_s: float) -> Any:
    from urllib.parse import urlsplit

    from puma.runtimes.base import RuntimeCallError
    from puma.runtimes.http import HttpRuntimeClient

    parts = urlsplit(endpoint)
    client = HttpRuntimeClient(
        f"{parts.scheme}://{parts.netloc}",
        runtime="the registry",
        timeout_s=timeout_s,
        missing_model_hint=lambda model: "",
        trust_env=True,
    )
    try:
        return await client.get_json(parts.path + (f"?{parts.query}" if parts.query else ""))
    except RuntimeCallError as exc:
        raise InputFileError(f"cannot fetch the log: {exc.message}", where=endpoint) from exc
    finally:
        await client.aclose()
