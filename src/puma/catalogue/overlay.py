"""The redaction overlay: `SUBMISSIONS_DIR/overlay.yaml`, a maintainer's list of runs to hide.

A redacted run leaves the browse surface (leaderboard, run pages, cell statistics) but keeps its
data: data/runs.parquet still holds it, with its visibility and the reason. The contributor's
folder is never edited. A malformed overlay stops the build (InputFileError): a redaction that
is silently ignored would publish what a maintainer meant to hide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from puma.errors import InputFileError

OVERLAY_FILE = "overlay.yaml"
Visibility = Literal["public", "redacted"]


class OverlayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    run_id: str
    visibility: Visibility
    reason: str


def read_overlay(submissions_dir: Path) -> dict[str, OverlayEntry]:
    """run id -> entry; empty when the folder has no overlay.yaml."""
    path = submissions_dir / OVERLAY_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the overlay: {exc}", where=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise InputFileError(f"not YAML: {getattr(exc, 'problem', exc)}", where=where) from None
    if data is None:
        return {}
    if not isinstance(data, list):
        raise InputFileError(
            "the overlay must be a list of entries",
            where=str(path),
            hint="- {run_id: <uuid>, visibility: redacted, reason: <why>}",
        )
    entries: dict[str, OverlayEntry] = {}
    for index, item in enumerate(data):
        try:
            entry = OverlayEntry.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "entry"
            raise InputFileError(
                f"entry {index + 1}: {field}: {error['msg']}", where=str(path)
            ) from None
        if not entry.reason.strip():
            raise InputFileError(f"entry {index + 1}: reason is empty", where=str(path))
        if entry.run_id in entries:
            raise InputFileError(
                f"entry {index + 1}: run {entry.run_id} is listed twice", where=str(path)
            )
        entries[entry.run_id] = entry
    return entries
