"""The one canonical JSON dumper, and JSON-lines reading with file:line errors.

Canonical form (sorted keys, compact separators, UTF-8, no NaN) is what every hash is computed
over; `dump_pretty` is for files people read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from puma.errors import InputFileError

ModelT = TypeVar("ModelT", bound=BaseModel)


def dumps_canonical(obj: Any) -> str:
    """Compact, key-sorted JSON: same object, same bytes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def dumps_line(obj: Any) -> str:
    """A JSON-lines record in the field order given (for files people also read)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def write_json(path: Path, obj: Any) -> None:
    """Write a human-readable JSON file atomically (indent 2, sorted keys, trailing newline)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def json_error_text(exc: json.JSONDecodeError, column_offset: int = 0) -> str:
    """ "Unterminated string starting at column 5": Python's own message ends some errors with
    "at" (a position it does not print), so a plain "at column" suffix would say "at at".
    `column_offset` counts characters stripped from the line before it was parsed."""
    return f"{exc.msg.removesuffix(' at')} at column {exc.colno + column_offset}"


def read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"not UTF-8 (byte {exc.start}: 0x{raw[exc.start]:02x})", where=str(path)
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"invalid JSON: {json_error_text(exc)}", where=f"{path}:{exc.lineno}"
        ) from exc


def read_model(path: Path, model: type[ModelT], what: str | None = None) -> ModelT:
    """A JSON file validated into a Pydantic model. A missing file or a failed field is an
    InputFileError naming the file and the field path, never a traceback."""
    label = f"{what}: " if what else ""
    if not path.is_file():
        raise InputFileError(f"{what or 'file'} is missing", where=str(path))
    try:
        return model.model_validate(read_json(path))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise InputFileError(f"{label}{field}: {error['msg']}", where=str(path)) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; errors name the file and line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                    where=f"{path}:{lineno}",
                ) from exc
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                what = "truncated line" if not raw.endswith(b"\n") else "not valid JSON"
                raise InputFileError(f"{what}: {exc.msg}", where=f"{path}:{lineno}") from exc
            if not isinstance(obj, dict):
                raise InputFileError("expected a JSON object", where=f"{path}:{lineno}")
            yield lineno, obj
