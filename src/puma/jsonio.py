"""The one canonical JSON dumper, and JSON-lines reading with file:line errors.

Canonical form (sorted keys, compact separators, UTF-8, no NaN) is what every hash is computed
over; `dump_pretty` is for files people read. Writes go through puma.outputs (atomic, with
OutputWriteError on a fault).
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from puma.errors import InputFileError
from puma.outputs import write_files

ModelT = TypeVar("ModelT", bound=BaseModel)

BLOCK_BYTES = 1 << 20  # JSON-lines files are read in blocks of this size
MAX_LINE_BYTES = 1 << 20  # a longer line is refused: a JSON-lines record of PUMA is ~100 bytes
# typeshed types make_scanner as the C scanner class, whose constructor takes a decoder.
_scan_value: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


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
    """(line number, object) for each line that is not blank, as PUMA 4.0's tools read JSON
    lines: in Python's text mode (LF, CR LF or a lone CR ends a line), each line stripped as
    `str.strip` does. Errors name the file and line: unreadable, not UTF-8, a byte-order mark,
    not JSON (a last line cut short is called truncated), not an object, over MAX_LINE_BYTES."""
    for lineno, raw, ended in _text_lines(path):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", where=where
            ) from None
        text = decoded.strip()
        if not text:
            continue
        if text.startswith("\ufeff"):
            raise InputFileError(
                "starts with a byte-order mark (BOM), which is not JSON; PUMA 4.0's verifier "
                "cannot read it either",
                where=where,
                hint="save the file as UTF-8 without a BOM",
            )
        try:
            obj = _loads_stripped(text)
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(text) or exc.msg.startswith("Unterminated string")
            what = "truncated line (the file ends mid-row)" if cut_short and not ended else None
            stripped = len(decoded) - len(decoded.lstrip())
            raise InputFileError(
                f"{what or 'not valid JSON'}: {json_error_text(exc, stripped)}", where=where
            ) from None
        except RecursionError:
            raise InputFileError("JSON nested too deeply to read", where=where) from None
        except ValueError as exc:  # an integer of 5,000 digits
            raise InputFileError(f"not usable JSON: {exc}", where=where) from None
        if not isinstance(obj, dict):
            raise InputFileError(f"expected a JSON object, got {type(obj).__name__}", where=where)
        yield lineno, obj


def _loads_stripped(text: str) -> Any:
    """`json.loads` of a stripped line, without its two whitespace scans and three Python calls
    (a third faster, which counts at 100,000 lines); anything short of one whole value is left
    to `json.loads`, which raises with its own message."""
    try:
        value, end = _scan_value(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else json.loads(text)


def _text_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without the line end, whether it had one), read in blocks so that a
    line over MAX_LINE_BYTES is refused without reading it whole."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    lineno = 0
    pending = b""
    with handle:
        while True:
            try:
                block = handle.read(BLOCK_BYTES)
            except OSError as exc:
                raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
            pending += block
            # A CR at the end of a block may be half of a CR LF: it waits for the next block.
            cut = len(pending) - 1 if block and pending.endswith(b"\r") else len(pending)
            lines = pending[:cut].replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            tail = lines.pop()
            for line in lines:
                lineno += 1
                if len(line) > MAX_LINE_BYTES:  # one that ended within this read
                    raise _too_long(path, lineno)
                yield lineno, line, True
            if not block:
                if tail:
                    yield lineno + 1, tail, False
                return
            pending = tail + pending[cut:]
            if len(pending) > MAX_LINE_BYTES:
                raise _too_long(path, lineno + 1)


def _too_long(path: Path, lineno: int) -> InputFileError:
    return InputFileError(
        f"a line longer than {MAX_LINE_BYTES // 1024} KiB: "
        "not a JSON-lines file (one JSON object per line)",
        where=f"{path}:{lineno}",
    )
