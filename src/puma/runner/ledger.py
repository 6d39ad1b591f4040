"""The ledger `run.jsonl`: an append-only, hash-chained record of everything a run did.

Line 1 is `type=meta`; then `type=call` / `type=skipped` (and `type=resume` when a run is
resumed); the last line is `type=footer`. Each line carries `prev_hash`, the SHA-256 of the
previous line's bytes, and is flushed as soon as it is written, so a crash loses no completed call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from puma.errors import InputFileError
from puma.hashing import sha256_hex
from puma.jsonio import dumps_line

LEDGER_SCHEMA = "ledger-1.0"
EVENT_TYPES = ("meta", "call", "skipped", "resume", "footer")


def line_hash(line: bytes) -> str:
    """The hash the next line records as `prev_hash`: SHA-256 of the line without its newline."""
    return sha256_hex(line.rstrip(b"\n"))


class LedgerWriter:
    """Appends events to a ledger. One writer per run; `seq` increases strictly."""

    def __init__(self, path: Path, handle: TextIO, prev_hash: str | None, next_seq: int):
        self.path = path
        self._handle = handle
        self._prev_hash = prev_hash
        self._seq = next_seq

    @classmethod
    def create(cls, path: Path) -> LedgerWriter:
        return cls(path, path.open("x", encoding="utf-8", newline="\n"), None, 0)

    @classmethod
    def reopen(cls, path: Path) -> LedgerWriter:
        """Continue an existing ledger, first cutting off a partial last line left by a crash."""
        state = read_ledger(path, repair_tail=True)
        return cls(
            path,
            path.open("a", encoding="utf-8", newline="\n"),
            state.last_hash,
            state.last_seq + 1,
        )

    @property
    def last_hash(self) -> str | None:
        return self._prev_hash

    @property
    def next_seq(self) -> int:
        return self._seq

    def append(self, event_type: str, record: dict[str, Any]) -> dict[str, Any]:
        """Write one event; returns it as written (with seq, type, prev_hash)."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown ledger event type {event_type!r}")
        event = {"type": event_type, "seq": self._seq, **record, "prev_hash": self._prev_hash}
        line = dumps_line(event)
        self._handle.write(line + "\n")
        self._handle.flush()
        self._prev_hash = sha256_hex(line)
        self._seq += 1
        return event

    def close(self, sync: bool = True) -> None:
        if sync:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        self._handle.close()


@dataclass
class LedgerState:
    events: list[dict[str, Any]]
    last_hash: str | None
    last_seq: int


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    lines: int
    broken_line: int | None = None
    reason: str | None = None
    last_hash: str | None = None
    complete: bool = False  # the last line is a footer (the run ended, possibly with failures)


def _iter_raw(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            yield from handle
    except OSError as exc:
        raise InputFileError(f"cannot read ledger: {exc.strerror}", where=str(path)) from exc


def read_ledger(path: Path, *, repair_tail: bool = False) -> LedgerState:
    """Read every event. A partial last line (no newline: the process died mid-write) is cut
    off when `repair_tail` is set, and is an error otherwise."""
    events: list[dict[str, Any]] = []
    last_hash: str | None = None
    good_bytes = 0
    raws = list(_iter_raw(path))
    for lineno, raw in enumerate(raws, start=1):
        if not raw.endswith(b"\n") and lineno == len(raws):
            if repair_tail:
                with path.open("r+b") as handle:
                    handle.truncate(good_bytes)
                break
            raise InputFileError(
                "partial last line (the run was interrupted mid-write)",
                where=f"{path}:{lineno}",
                hint="`puma run --resume` repairs it",
            )
        try:
            events.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise InputFileError(f"not valid JSON: {exc.msg}", where=f"{path}:{lineno}") from exc
        last_hash = line_hash(raw)
        good_bytes += len(raw)
    if not events:
        raise InputFileError("the ledger is empty", where=str(path))
    return LedgerState(events=events, last_hash=last_hash, last_seq=int(events[-1]["seq"]))


def verify_chain(path: Path) -> ChainReport:
    """Check the hash chain, seq order and event shape line by line; say which line breaks it."""
    prev: str | None = None
    last_seq = -1
    lineno = 0
    last_type = None
    for lineno, raw in enumerate(_iter_raw(path), start=1):

        def broken(reason: str, at: int = lineno) -> ChainReport:
            return ChainReport(ok=False, lines=at, broken_line=at, reason=reason)

        if not raw.endswith(b"\n"):
            return broken("partial line (the run was interrupted mid-write)")
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            return broken("not valid JSON")
        if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
            return broken("not a ledger event (missing or unknown 'type')")
        if lineno == 1 and event["type"] != "meta":
            return broken("the first line must be the meta event")
        if event.get("prev_hash") != prev:
            return broken(
                "prev_hash does not match the previous line (edited, removed or reordered lines)"
            )
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= last_seq:
            return broken(f"seq {seq!r} does not increase")
        last_seq = seq
        last_type = event["type"]
        prev = line_hash(raw)
    if lineno == 0:
        return ChainReport(ok=False, lines=0, broken_line=None, reason="the ledger is empty")
    return ChainReport(ok=True, lines=lineno, last_hash=prev, complete=last_type == "footer")
