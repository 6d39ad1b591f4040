"""The predictions hash of a submission (PUMA 4.0's `predictions_summary_hash`) and its check.

Reads a predictions JSON-lines file as a stream and renders the four canonical columns as CSV,
byte for byte what PUMA 4.0's community tooling (`puma-cp`) hashes; memory stays flat.

Every file PUMA 4.0's verifier reads is read here too, with the digest it gives: lines ended by LF,
CR LF or a lone CR (it reads in text mode), blank lines, rows that share an instance_id, a null or
absent instance_id or column, a nested value, no rows at all. What a PUMA file never holds is
hashed the same way and reported in `PredictionsDigest.warnings`.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import multiprocessing
import operator
import os
import re
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice, repeat
from pathlib import Path
from typing import Any, TypeVar

from puma.errors import InputFileError
from puma.jsonio import json_error_text

# PUMA 4.0's hashed columns, fixed by its schema; the same as puma.predictions.CANONICAL_COLUMNS
# (a test holds them equal). Not imported from there: worker processes import this module alone,
# and puma.predictions would pull in pyarrow.
HASH_COLUMNS: tuple[str, ...] = ("instance_id", "predicted_label", "predicted_value", "prompt_hash")
BLOCK_BYTES = 1 << 20  # read size; a block holds whole lines only
MAX_LINE_BYTES = 1 << 20  # a prediction row is ~100 bytes; a longer line is not a predictions file
SORT_RUN_ROWS = 200_000  # an unsorted file is sorted in runs of this many rows, then merged
PARALLEL_MIN_BYTES = 16 << 20  # from this size, parsing is spread over worker processes
MAX_WORKERS = 4
ROW_DIGEST_HEX = 16

_T = TypeVar("_T")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_QUOTE_TRIGGERS = (",", '"', "\r", "\n")
_PICK_COLUMNS = tuple(operator.itemgetter(name) for name in HASH_COLUMNS)
# Bytes dropped to see a block's structure: all but quotes, brackets and newlines.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"{}[]\n')


# --- the CSV rendering -------------------------------------------------------------------------


def render_cell(value: Any) -> str:
    """One CSV cell as PUMA 4.0 writes it: null empty, a float with six decimals, else `str()`.

    Quoting is minimal: a cell holding a comma, a double quote, a CR or an LF is quoted and its
    quotes doubled. Python's csv module quotes a lone CR only from 3.13 on; we always quote it.
    A JSON array or object (never in a PUMA file) is Python's `str()` of it, as PUMA 4.0 renders it.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        text = format(value, ".6f")
    elif isinstance(value, str | int | list | dict):  # bool is an int: str(True) == "True"
        text = str(value)
    else:
        raise TypeError(f"a cell must be a JSON value, not {type(value).__name__}")
    return _quote(text)


def _quote(text: str) -> str:
    if any(c in text for c in _QUOTE_TRIGGERS):
        return '"' + text.replace('"', '""') + '"'
    return text


def render_row(row: Mapping[str, Any]) -> str:
    return ",".join(render_cell(row.get(column)) for column in HASH_COLUMNS)


def sort_key(instance_id: Any) -> str:
    """Rows are ordered by `str(instance_id)`, code point by code point (PUMA 4.0's rule), ties in
    file order: a null id sorts as the text "None"."""
    return str(instance_id)


def row_sort_key(row: Mapping[str, Any]) -> str:
    """A row's place in hash order; with no instance_id it sorts as "" (first), as in PUMA 4.0."""
    return sort_key(row.get("instance_id", ""))


def predictions_summary_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """The hash of rows held in memory: SHA-256 hex of their CSV rendering in id order."""
    ordered = sorted(rows, key=row_sort_key)
    text = "\n".join(render_row(row) for row in ordered)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_digest(line: str) -> str:
    """A short digest of one rendered row, to say which instance differs on a mismatch."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:ROW_DIGEST_HEX]


def normalize_declared_hash(text: Any, *, where: str) -> str:
    """A declared hash in canonical form: `sha256:` prefix dropped, lower case, 64 hex."""
    if not isinstance(text, str) or not text.strip():
        raise InputFileError("no predictions hash declared", where=where)
    value = text.strip()
    if value[:7].lower() == "sha256:":
        value = value[7:]
    value = value.lower()
    if not _HEX64.match(value):
        raise InputFileError(
            f"the declared hash is not 64 hexadecimal digits: {text[:80]!r}", where=where
        )
    return value


def declared_hash_remark(text: str) -> str | None:
    """What to tell about a declared hash accepted in a freer form than schema v1's, or None.

    We accept surrounding blanks, a `sha256:` prefix and upper-case hex (the hash is still
    unambiguous); schema v1 allows only 64 lower-case hex digits, and PUMA 4.0's verifier
    compares the text as it stands after lower-casing it, so blanks or a prefix fail there."""
    forms = []
    if text != text.strip():
        forms.append("blanks around it")
    if text.strip()[:7].lower() == "sha256:":
        forms.append("a 'sha256:' prefix")
    if text != text.lower():
        forms.append("upper-case letters")
    if not forms:
        return None
    remark = f"the declared hash has {' and '.join(forms)}: accepted here, but schema v1 allows "
    remark += "only 64 lower-case hexadecimal digits"
    if forms[0] != "upper-case letters":
        remark += " and PUMA 4.0's verifier would report a mismatch"
    return remark


# --- what PUMA 4.0 accepts and PUMA never writes -----------------------------------------------


@dataclass
class _Finding:
    """Rows of one kind: how many, the line of the first, and a word on it."""

    count: int
    line: int
    detail: str = ""


_Findings = dict[str, _Finding]

# Each kind is hashed exactly as PUMA 4.0's verifier hashes it; the text says how.
_FINDING_TEXT = {
    "duplicate_id": (
        "{count} row(s) repeat an instance_id already seen (first: {detail}); hashed in "
        "PUMA 4.0's order: by str(instance_id), rows that share one in file order"
    ),
    "null_id": (
        "{count} row(s) have a null instance_id (first: line {line}); hashed as PUMA 4.0 does: "
        "an empty cell, sorted as the text 'None'"
    ),
    "missing_id": (
        "{count} row(s) have no instance_id (first: line {line}); hashed as PUMA 4.0 does: an "
        "empty cell, sorted first"
    ),
    "missing_column": (
        "{count} row(s) lack a column (first: line {line}, {detail}); hashed as PUMA 4.0 does: "
        "as null, an empty cell"
    ),
    "nested_value": (
        "{count} cell(s) hold a JSON array or object (first: line {line}, {detail}); hashed as "
        "PUMA 4.0 does: Python's str() of the value"
    ),
    "no_rows": (
        "the file holds no prediction rows; hashed as PUMA 4.0 does: the SHA-256 of no bytes"
    ),
}


def _note(findings: _Findings, kind: str, line: int, detail: str = "", count: int = 1) -> None:
    found = findings.get(kind)
    if found is None:
        findings[kind] = _Finding(count, line, detail)
    else:
        found.count += count


def _merge(into: _Findings, findings: _Findings) -> None:
    for kind, found in findings.items():
        _note(into, kind, found.line, found.detail, found.count)


def _describe(path: Path, findings: _Findings) -> tuple[str, ...]:
    return tuple(
        f"{path}: " + _FINDING_TEXT[kind].format(count=f.count, line=f.line, detail=f.detail)
        for kind, f in findings.items()
    )


# --- streaming the file ------------------------------------------------------------------------


@dataclass
class _Batch:
    """Rows parsed from consecutive lines: sort keys, rendered CSV lines and line numbers."""

    keys: list[str]
    lines: list[str]
    linenos: Sequence[int]
    findings: _Findings = field(default_factory=dict)


class _NotSorted(Exception):
    pass


def _raw_blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes of whole lines) in blocks of about BLOCK_BYTES.

    Lines end at LF, CR LF or a lone CR, as in Python's text mode, which PUMA 4.0 reads in: each
    ending becomes one LF here (a CR LF split across two reads too), so line numbers are those an
    editor shows."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    lineno = 1
    carry = b""
    with handle:
        while True:
            try:
                data = handle.read(BLOCK_BYTES)
            except OSError as exc:
                raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
            at_end = not data
            data = carry + data
            held = b""
            if b"\r" in data:
                if not at_end and data.endswith(b"\r"):  # its LF may be in the next read
                    data, held = data[:-1], b"\r"
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if at_end:
                if data:
                    yield lineno, data
                return
            cut = data.rfind(b"\n") + 1
            # Only the first line can be too long: the carry holds no newline, so every later
            # line lies within the block just read.
            if len(data) > MAX_LINE_BYTES and data.find(b"\n", 0, MAX_LINE_BYTES + 1) == -1:
                raise InputFileError(
                    f"a line longer than {MAX_LINE_BYTES // 1024} KiB: "
                    "not a predictions file (one JSON object per line)",
                    where=f"{path}:{lineno}",
                )
            if cut == 0:
                carry = data + held
                continue
            block, carry = data[:cut], data[cut:] + held
            yield lineno, block
            lineno += block.count(b"\n")


def _parse_block_fast(block: bytes) -> list[Any] | None:
    """Parse a block of one-flat-object-per-line JSON in one call, or None to go line by line.

    One `json.loads` over the whole block is twice as fast as one per line. It is only trusted
    when every line is provably one value: no escapes, each line's structure outside strings is
    exactly `{}`, and the count of values equals the count of lines.
    """
    if b"\\" in block:
        return None
    n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    # Keep quotes, brackets and newlines, then drop every `""` pair: what is left is the
    # structure outside strings, and any string holding a bracket leaves an odd quote behind.
    skeleton = block.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    expected = b"{}\n" * n_lines if block.endswith(b"\n") else b"{}\n" * (n_lines - 1) + b"{}"
    if skeleton != expected:
        return None
    try:
        text = block.decode("utf-8")
        # Newlines stay in the text: a raw newline inside a string is then still invalid JSON.
        rows = json.loads("[" + text.rstrip("\n").replace("\n", ",\n") + "]")
    except (ValueError, RecursionError):
        return None
    return rows if len(rows) == n_lines else None


def _parse_block_slow(path: Path, first_lineno: int, block: bytes) -> tuple[list[Any], list[int]]:
    """Line by line, with the file and line of the first problem.

    A line is stripped of blanks as `str.strip` does (PUMA 4.0's reading) before it is parsed,
    and a line of blanks alone is skipped."""
    rows: list[Any] = []
    linenos: list[int] = []
    for offset, raw in enumerate(block.split(b"\n")):
        lineno = first_lineno + offset
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
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            last = lineno == first_lineno + block.count(b"\n") and not block.endswith(b"\n")
            cut_short = exc.pos >= len(text) or exc.msg.startswith("Unterminated string")
            what = (
                "truncated line (the file ends mid-row)" if last and cut_short else "not valid JSON"
            )
            stripped = len(decoded) - len(decoded.lstrip())
            raise InputFileError(f"{what}: {json_error_text(exc, stripped)}", where=where) from None
        except (ValueError, RecursionError) as exc:
            raise InputFileError(f"not usable JSON: {exc}", where=where) from None
        if not isinstance(obj, dict):
            raise InputFileError(
                f"expected a JSON object, got {type(obj).__name__}", where=where
            ) from None
        rows.append(obj)
        linenos.append(lineno)
    return rows, linenos


def _render_column(
    path: Path, column: str, values: list[Any], linenos: Sequence[int], findings: _Findings
) -> list[str]:
    kinds = set(map(type, values))
    if kinds <= {str}:
        cells: list[str] = values
    elif kinds <= {float}:
        cells = list(map(format, values, repeat(".6f")))
    elif kinds <= {str, type(None)}:
        cells = ["" if v is None else v for v in values]
    elif kinds <= {float, type(None)}:
        cells = ["" if v is None else format(v, ".6f") for v in values]
    else:
        cells = []
        for value, lineno in zip(values, linenos, strict=True):
            if isinstance(value, list | dict):
                _note(findings, "nested_value", lineno, column)
            try:
                cells.append(render_cell(value))
            except TypeError as exc:
                raise InputFileError(f"{column}: {exc}", where=f"{path}:{lineno}") from None
        return cells
    # Quote only where needed: scan the column once, quote cell by cell only if something needs it.
    joined = "".join(cells)
    if any(c in joined for c in _QUOTE_TRIGGERS):
        cells = [_quote(cell) for cell in cells]
    return cells


def _columns_of_uneven_rows(
    path: Path, rows: list[Any], linenos: Sequence[int], findings: _Findings
) -> tuple[list[list[Any]], set[int]]:
    """The columns of rows some of which lack a column (null, as PUMA 4.0 reads them), and the
    indexes of the rows without an instance_id."""
    columns: list[list[Any]] = [[] for _ in HASH_COLUMNS]
    no_id: set[int] = set()
    for index, (row, lineno) in enumerate(zip(rows, linenos, strict=True)):
        if not isinstance(row, dict):
            raise InputFileError("expected a JSON object", where=f"{path}:{lineno}")
        missing = [name for name in HASH_COLUMNS[1:] if name not in row]
        if "instance_id" not in row:
            no_id.add(index)
            _note(findings, "missing_id", lineno)
        if missing:
            _note(findings, "missing_column", lineno, "no " + ", ".join(missing))
        for values, name in zip(columns, HASH_COLUMNS, strict=True):
            values.append(row.get(name))
    return columns, no_id


def _render_batch(path: Path, rows: list[Any], linenos: Sequence[int]) -> _Batch:
    findings: _Findings = {}
    no_id: set[int] = set()
    try:
        columns = [list(map(pick, rows)) for pick in _PICK_COLUMNS]
    except (KeyError, TypeError):
        columns, no_id = _columns_of_uneven_rows(path, rows, linenos, findings)
    ids = columns[0]
    if set(map(type, ids)) <= {str}:
        keys = ids
    else:
        keys = [sort_key(v) for v in ids]
        for index in sorted(no_id):
            keys[index] = ""
        for index, value in enumerate(ids):
            if value is None and index not in no_id:
                _note(findings, "null_id", linenos[index])
    cells = [
        _render_column(path, name, values, linenos, findings)
        for name, values in zip(HASH_COLUMNS, columns, strict=True)
    ]
    return _Batch(
        keys=keys,
        lines=list(map(",".join, zip(*cells, strict=True))),
        linenos=linenos,
        findings=findings,
    )


def _parse_block(path: Path, first_lineno: int, block: bytes) -> tuple[list[Any], Sequence[int]]:
    """The block's rows and their line numbers: fast when it can be, precise when it fails."""
    rows = _parse_block_fast(block)
    if rows is None:
        return _parse_block_slow(path, first_lineno, block)
    return rows, range(first_lineno, first_lineno + len(rows))


def _parsed_blocks(path: Path) -> Iterator[tuple[list[Any], Sequence[int]]]:
    """(rows, their line numbers), block by block in file order."""
    for first_lineno, block in _raw_blocks(path):
        rows, linenos = _parse_block(path, first_lineno, block)
        if rows:
            yield rows, linenos


def _file_batches(path: Path) -> Iterator[_Batch]:
    """Rendered rows in file order, block by block."""
    for rows, linenos in _parsed_blocks(path):
        yield _render_batch(path, rows, linenos)


def iter_prediction_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a predictions file in file order, streamed; the same errors as
    hashing it. A row may lack a column (PUMA 4.0 reads it as null): use `row.get`."""
    path = Path(path)
    for rows, linenos in _parsed_blocks(path):
        _render_batch(path, rows, linenos)  # the same checks as hashing: cell types, encoding
        yield from zip(linenos, rows, strict=True)


def _note_ties(
    keys: Sequence[str],
    linenos: Sequence[int],
    previous: tuple[str, int] | None,
    findings: _Findings,
) -> None:
    """Note each row whose id is the one just before it (in hash order)."""
    if previous is not None and keys[0] == previous[0]:
        _note(
            findings,
            "duplicate_id",
            linenos[0],
            f"{keys[0]!r}, lines {previous[1]} and {linenos[0]}",
        )
    for index in range(1, len(keys)):
        if keys[index] == keys[index - 1]:
            first, second = linenos[index - 1], linenos[index]
            _note(findings, "duplicate_id", second, f"{keys[index]!r}, lines {first} and {second}")


def _check_order(batch: _Batch, previous: tuple[str, int] | None, findings: _Findings) -> None:
    """Raise _NotSorted at a row whose id sorts before the one above it. Rows that share an id
    (PUMA 4.0 hashes them in file order: its sort is stable) are in order, and noted."""
    keys = batch.keys
    follows = previous is not None and keys[0] <= previous[0]
    if follows or any(map(operator.ge, keys, islice(keys, 1, None))):
        if (previous is not None and keys[0] < previous[0]) or any(
            map(operator.gt, keys, islice(keys, 1, None))
        ):
            raise _NotSorted
        _note_ties(keys, batch.linenos, previous, findings)


def _in_order_or_raise(path: Path, findings: _Findings) -> Iterator[_Batch]:
    """The file's rows as they stand, raising _NotSorted at the first row out of order. Every
    file PUMA writes is in order, so this is the path that counts."""
    previous: tuple[str, int] | None = None
    for batch in _file_batches(path):
        _check_order(batch, previous, findings)
        _merge(findings, batch.findings)
        previous = (batch.keys[-1], batch.linenos[-1])
        yield batch


def _consume_in_hash_order(path: Path, consume: Callable[[Iterator[_Batch]], _T]) -> _T:
    """Feed `consume` the rows in hash order, in bounded memory.

    A file in order streams through once. Otherwise `consume` starts over on the rows sorted in
    runs of SORT_RUN_ROWS spilled to temporary files and merged: memory stays bounded by one run
    (about 200 bytes a row) whatever the file's size, at the cost of a second read.
    """
    try:
        return consume(_in_order_or_raise(path, {}))
    except _NotSorted:
        return consume(_externally_sorted(path, {}))


def _externally_sorted(path: Path, findings: _Findings) -> Iterator[_Batch]:
    # Stable throughout, as PUMA 4.0's sort is: each run is sorted stably, and heapq.merge takes
    # equal keys from earlier runs (earlier lines) first.
    with tempfile.TemporaryDirectory(prefix="puma-sort-") as tmp:
        runs: list[list[tuple[str, str, int]]] = []
        spilled: list[Path] = []
        current: list[tuple[str, str, int]] = []
        for batch in _file_batches(path):
            _merge(findings, batch.findings)
            current.extend(zip(batch.keys, batch.lines, batch.linenos, strict=True))
            if len(current) >= SORT_RUN_ROWS:
                spilled.append(_spill(Path(tmp), len(spilled), current))
                current = []
        current.sort(key=operator.itemgetter(0))
        runs.append(current)
        sources: list[Iterable[tuple[str, str, int]]] = [_read_spill(p) for p in spilled]
        sources.extend(runs)
        merged = heapq.merge(*sources, key=operator.itemgetter(0))
        yield from _batched_noting_ties(merged, findings)


def _spill(folder: Path, index: int, rows: list[tuple[str, str, int]]) -> Path:
    rows.sort(key=operator.itemgetter(0))
    target = folder / f"run-{index:05d}.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=True))
            out.write("\n")
    return target


def _read_spill(path: Path) -> Iterator[tuple[str, str, int]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            key, text, lineno = json.loads(line)
            yield key, text, lineno


def _batched_noting_ties(
    rows: Iterator[tuple[str, str, int]], findings: _Findings, size: int = 10_000
) -> Iterator[_Batch]:
    batch = _Batch(keys=[], lines=[], linenos=[])
    last: tuple[str, int] | None = None
    for key, line, lineno in rows:
        if last is not None and key == last[0]:
            _note(findings, "duplicate_id", lineno, f"{key!r}, lines {last[1]} and {lineno}")
        last = (key, lineno)
        batch.keys.append(key)
        batch.lines.append(line)
        batch.linenos.append(lineno)  # type: ignore[attr-defined]
        if len(batch.keys) >= size:
            yield batch
            batch = _Batch(keys=[], lines=[], linenos=[])
    if batch.keys:
        yield batch


# --- the public checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionsDigest:
    sha256: str
    n_rows: int
    in_order: bool  # False when the file was not sorted by instance_id and had to be sorted
    # What PUMA 4.0 accepts but a PUMA file never holds (rows that share an id, a null id, a
    # missing column, a nested value, no rows): hashed as PUMA 4.0 hashes it, and said here.
    warnings: tuple[str, ...] = ()


def hash_predictions_file(path: Path) -> PredictionsDigest:
    """Stream a predictions JSON-lines file and compute its `predictions_summary_hash`.

    Raises InputFileError (with file and line) for what PUMA 4.0's verifier cannot read either:
    bad UTF-8, a byte-order mark, a line that is not a JSON object, a truncated last line, an
    unpaired surrogate; and for a line over MAX_LINE_BYTES.
    """
    path = Path(path)
    findings: _Findings = {}

    def consume(batches: Iterator[_Batch]) -> tuple[str, int]:
        digest = hashlib.sha256()
        n_rows = 0
        for batch in batches:
            if n_rows:
                digest.update(b"\n")
            digest.update(_encode_lines(path, batch))
            n_rows += len(batch.lines)
        return digest.hexdigest(), n_rows

    in_order = True
    workers = _worker_count(path)
    try:
        if workers > 1:
            try:
                sha, n_rows = _hash_in_parallel(path, workers, findings)
            except (BrokenProcessPool, OSError):  # no processes here (sandbox, OOM): one is enough
                findings.clear()
                sha, n_rows = consume(_in_order_or_raise(path, findings))
        else:
            sha, n_rows = consume(_in_order_or_raise(path, findings))
    except _NotSorted:
        findings.clear()
        sha, n_rows = consume(_externally_sorted(path, findings))
        in_order = False
    if n_rows == 0:
        _note(findings, "no_rows", 0)
    return PredictionsDigest(
        sha256=sha, n_rows=n_rows, in_order=in_order, warnings=_describe(path, findings)
    )


def _worker_count(path: Path) -> int:
    if not sys.platform.startswith("linux"):  # fork is only safe enough on Linux
        return 1
    try:
        size = path.stat().st_size
    except OSError:
        return 1  # let the single-process path say what is wrong with the file
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_WORKERS) if size >= PARALLEL_MIN_BYTES else 1


# --- the same, block by block in worker processes ----------------------------------------------


@dataclass(frozen=True)
class _RenderedBlock:
    """What a worker returns for one block: its CSV rows (UTF-8, LF-joined), its key range and
    their lines, or the error to raise (an exception would lose `where` and `hint` on the way
    back)."""

    text: bytes = b""
    n_rows: int = 0
    first_key: str = ""
    last_key: str = ""
    first_line: int = 0
    last_line: int = 0
    in_order: bool = True
    findings: _Findings = field(default_factory=dict)
    error: tuple[str, str | None, str | None] | None = None


def _render_block(path_text: str, first_lineno: int, block: bytes) -> _RenderedBlock:
    path = Path(path_text)
    try:
        rows, linenos = _parse_block(path, first_lineno, block)
        if not rows:
            return _RenderedBlock()
        batch = _render_batch(path, rows, linenos)
        text = _encode_lines(path, batch)
    except InputFileError as exc:
        return _RenderedBlock(error=(exc.message, exc.where, exc.hint))
    keys = batch.keys
    in_order = True
    if any(map(operator.ge, keys, islice(keys, 1, None))):
        in_order = not any(map(operator.gt, keys, islice(keys, 1, None)))
        if in_order:
            _note_ties(keys, batch.linenos, None, batch.findings)
    return _RenderedBlock(
        text=text,
        n_rows=len(keys),
        first_key=keys[0],
        last_key=keys[-1],
        first_line=batch.linenos[0],
        last_line=batch.linenos[-1],
        in_order=in_order,
        findings=batch.findings,
    )


def _rendered_blocks(path: Path, workers: int) -> Iterator[_RenderedBlock]:
    """Blocks rendered by `workers` processes, in file order, with a bounded number in flight
    (so memory stays flat however large the file)."""
    # fork: a worker starts in milliseconds with this module already loaded. spawn and
    # forkserver would re-import the `puma` script, and with it every command, in each worker.
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: deque[Future[_RenderedBlock]] = deque()
    try:
        for first_lineno, block in _raw_blocks(path):
            pending.append(pool.submit(_render_block, str(path), first_lineno, block))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _hash_in_parallel(path: Path, workers: int, findings: _Findings) -> tuple[str, int]:
    digest = hashlib.sha256()
    n_rows = 0
    previous: tuple[str, int] | None = None
    for block in _rendered_blocks(path, workers):
        if block.error is not None:
            message, where, hint = block.error
            raise InputFileError(message, where=where, hint=hint)
        if not block.n_rows:
            continue
        if not block.in_order or (previous is not None and block.first_key < previous[0]):
            raise _NotSorted
        if previous is not None and block.first_key == previous[0]:
            _note_ties([block.first_key], [block.first_line], previous, findings)
        _merge(findings, block.findings)
        previous = (block.last_key, block.last_line)
        if n_rows:
            digest.update(b"\n")
        digest.update(block.text)
        n_rows += block.n_rows
    return digest.hexdigest(), n_rows


def _encode_lines(path: Path, batch: _Batch) -> bytes:
    try:
        return "\n".join(batch.lines).encode("utf-8")
    except UnicodeEncodeError:
        for line, lineno in zip(batch.lines, batch.linenos, strict=True):
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputFileError(
                    f"holds an unpaired surrogate {exc.object[exc.start]!r}, which UTF-8 cannot "
                    "encode",
                    where=f"{path}:{lineno}",
                ) from None
        raise


def rendered_row_digests(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(sort key, row digest) for each row in hash order: what a package keeps to locate a
    later difference (see `first_difference`)."""
    ordered = sorted(rows, key=row_sort_key)
    return [(row_sort_key(row), row_digest(render_row(row))) for row in ordered]


def first_difference(path: Path, reference: Sequence[Sequence[str]]) -> str | None:
    """Which instance first differs between a predictions file and the (key, digest) pairs
    recorded when it was packaged; None when every row is the same."""
    path = Path(path)

    def consume(batches: Iterator[_Batch]) -> str | None:
        expected = iter(reference)
        for batch in batches:
            for key, line, lineno in zip(batch.keys, batch.lines, batch.linenos, strict=True):
                pair = next(expected, None)
                if pair is None:
                    return f"instance {key!r} (line {lineno}) was not in the packaged predictions"
                ref_key, ref_digest = pair[0], pair[1]
                if key > ref_key:
                    return f"instance {ref_key!r} is missing from the predictions file"
                if key < ref_key:
                    return f"instance {key!r} (line {lineno}) was not in the packaged predictions"
                if row_digest(line) != ref_digest:
                    return f"the first differing row is instance {key!r} (line {lineno})"
        leftover = next(expected, None)
        if leftover is not None:
            return f"instance {leftover[0]!r} is missing from the predictions file"
        return None

    return _consume_in_hash_order(path, consume)


@dataclass(frozen=True)
class HashCheck:
    declared: str
    computed: str
    n_rows: int
    in_order: bool
    warnings: tuple[str, ...] = ()  # the file's (see PredictionsDigest) and the declared hash's

    @property
    def match(self) -> bool:
        return self.declared == self.computed


def verify_predictions_hash(predictions: Path, declared: Any, *, where: str = "") -> HashCheck:
    """Recompute a predictions file's hash and compare it with a declared one (blanks around it,
    a `sha256:` prefix and upper-case hex are accepted, with a warning; anything but such a
    string is refused)."""
    expected = normalize_declared_hash(declared, where=where or str(predictions))
    digest = hash_predictions_file(predictions)
    remark = declared_hash_remark(declared)
    warnings = digest.warnings + ((f"{where}: {remark}" if where else remark,) if remark else ())
    return HashCheck(
        declared=expected,
        computed=digest.sha256,
        n_rows=digest.n_rows,
        in_order=digest.in_order,
        warnings=warnings,
    )
