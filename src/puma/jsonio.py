"""The one canonical JSON dumper, and JSON-lines reading with file:line errors.

Canonical form (sorted keys, compact separators, UTF-8, no NaN) is what every hash is computed
over; `dump_pretty` is for files people read. Writes go through puma.outputs (atomic, with
OutputWriteError on a fault).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from puma.errors import InputFileError
from puma.outputs import write_files

ModelT = TypeVar("ModelT", bound=BaseModel)


def dumps_canonical(obj: Any) -> str:
    """Compact, key-sorted JSON: same object, same bytes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def dumps_line(obj: Any) -> str:
    """A JSON-lines record in the field order given (for files people also read)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dump_pretty(obj: Any) -> str:
    """A JSON file for people: indent 2, sorted keys, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, obj: Any) -> None:
    """Write a human-readable JSON file atomically; a write fault is an OutputWriteError."""
    write_text_atomic(path, dump_pretty(obj))


def write_text_atomic(path: Path, text: str) -> None:
    write_files({path: text})


def parse_json(raw: bytes, path: Path | str, lineno: int | None = None) -> Any:
    """One JSON document from the bytes of a file, or of its line `lineno`; anything unreadable
    is an InputFileError at file:line, never a decoder's own exception."""
    where = f"{path}:{lineno}" if lineno is not None else str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", where=where
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = where if lineno is not None else f"{path}:{exc.lineno}"
        raise InputFileError(f"invalid JSON: {json_error_text(exc)}", where=at) from None
    except RecursionError:
        raise InputFileError("JSON nested too deeply to read", where=where) from None


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
    return parse_json(raw, path)


def read_model(path: Path, model: type[ModelT], what: str | None = None) -> ModelT:
    """A JSON file validated into a Pydantic model. A missing file or a failed field is an
    InputFileError naming the file and the field path, never a traceback."""
    label = f"{what}: " if what else ""
    if not path.is_file():
        raise InputFileError(f"{what or 'file'} is missing", where=str(path))
    try:
        return model.model_validate(read_json(path))
    except ValidationError as exc:
        raise InputFileError(f"{label}{first_problem(exc)}", where=str(path)) from None


def first_problem(exc: ValidationError, prefix: str = "") -> str:
    """`field.path: what is wrong` for the first error of a validation."""
    error = exc.errors()[0]
    field = ".".join(str(p) for p in (*([prefix] if prefix else []), *error["loc"]))
    return f"{field or '(top level)'}: {error['msg']}"


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
                obj = parse_json(raw, path, lineno)
            except InputFileError as exc:
                if raw.endswith(b"\n"):
                    raise
                raise InputFileError(f"truncated line: {exc.message}", where=exc.where) from None
            if not isinstance(obj, dict):
                raise InputFileError("expected a JSON object", where=f"{path}:{lineno}")
            yield lineno, obj
