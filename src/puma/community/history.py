"""The local history of what this machine sent: `config_dir()/history.jsonl`, one line a send.

`share-results` and `publish` append to it; `puma community status` shows the last line. It holds
what was sent and where, never a token. A line that cannot be read is skipped: the history only
informs, it never stops a command.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from puma.jsonio import dumps_line
from puma.userconfig import config_dir

HISTORY_FILE = "history.jsonl"
HISTORY_SCHEMA = "history-1.0"


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_version: str = HISTORY_SCHEMA
    ts: str  # UTC, ISO 8601 with Z
    kind: str  # "package" (share-results), "publish:<channel>"
    identifier: str  # the submission id, run id or catalogue folder
    where: str  # the folder written, or the channel's target


def history_path() -> Path:
    return config_dir() / HISTORY_FILE


def record_submission(kind: str, identifier: str, where: str) -> HistoryEntry | None:
    """Append one entry (creating the folder with mode 0700: it also holds credentials). None
    when it cannot be written: the history only informs, and a read-only config folder must not
    fail a command whose work is done."""
    entry = HistoryEntry(
        ts=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kind=kind,
        identifier=identifier,
        where=where,
    )
    path = history_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_APPEND: one write per line, so two PUMAs appending at once never interleave a line.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (dumps_line(entry.model_dump()) + "\n").encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:
        return None
    return entry


def last_submission() -> HistoryEntry | None:
    """The last readable entry, or None when there is no history."""
    try:
        lines = history_path().read_bytes().splitlines()
    except OSError:
        return None
    for raw in reversed(lines):
        with contextlib.suppress(ValueError, ValidationError):
            return HistoryEntry.model_validate(json.loads(raw))
    return None
