"""The predictions hash of a submission (PUMA 4.0's `predictions_summary_hash`) and its check.

Reads a predictions JSON-lines file as a stream and renders the four canonical columns as CSV,
byte for byte what PUMA 4.0's community tooling (`puma-cp`) hashes; memory stays flat.
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
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path
from typing import Any, TypeVar

from puma.errors import InputFileError
from puma.outputs import writing

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
    """One CSV cell as PUMA 4.0 writes it: null empty, a float with six decimals, else its text.

    Quoting is minimal: a cell holding a comma, a double quote, a CR or an LF is quoted and its
    quotes doubled. Python's csv module quotes a lone CR only from 3.13 on; we always quote it.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        text = format(value, ".6f")
    elif isinstance(value, str | int):  # bool is an int: str(True) == "True", as in PUMA
        text = str(value)
    else:
        raise TypeError(f"a cell must be a string, a number or null, not {type(value).__name__}")
    return _quote(text)


def _quote(text: str) -> str:
    if any(c in text for c in _QUOTE_TRIGGERS):
        return '"' + text.replace('"', '""') + '"'
    return text


def render_row(row: Mapping[str, Any]) -> str:
    return ",".join(render_cell(row.get(column)) for column in HASH_COLUMNS)


def sort_key(instance_id: Any) -> str:
    """Rows are ordered by `str(instance_id)`, code point by code point (PUMA 4.0's rule)."""
    return str(instance_id)


def predictions_summary_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """The hash of rows held in memory: SHA-256 hex of their CSV rendering in id order."""
    ordered = sorted(rows, key=lambda row: sort_key(row.get("instance_id")))
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


# --- streaming the file ------------------------------------------------------------------------


@dataclass
class _Batch:
    """Rows parsed from consecutive lines: sort keys, rendered CSV lines and line numbers."""

    keys: list[str]
    lines: list[str]
    linenos: Sequence[int]


class _NotSorted(Exception):
    pass


def _raw_blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes of whole lines) in blocks of about BLOCK_BYTES."""
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
            if not data:
                break
            data = carry + data
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
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield lineno, block
            lineno += block.count(b"\n")
        if carry:
            yield lineno, carry


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
    """Line by line, with the file and line of the first problem."""
    rows: list[Any] = []
    linenos: list[int] = []
    for offset, raw in enumerate(block.split(b"\n")):
        lineno = first_lineno + offset
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", where=where
            ) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            last = lineno == first_lineno + block.count(b"\n") and not block.endswith(b"\n")
            what = "truncated line (the file ends mid-row)" if last else "not valid JSON"
            raise InputFileError(f"{what}: {exc.msg} at column {exc.colno}", where=where) from None
        except (ValueError, RecursionError) as exc:
            raise InputFileError(f"not usable JSON: {exc}", where=where) from None
        if not isinstance(obj, dict):
            raise InputFileError(
                f"expected a JSON object, got {type(obj).__name__}", where=where
            ) from None
        rows.append(obj)
        linenos.append(lineno)
    return rows, linenos


def _render_column(path: Path, column: str, values: list[Any], linenos: Sequence[int]) -> list[str]:
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


def _render_batch(path: Path, rows: list[Any], linenos: Sequence[int]) -> _Batch:
    try:
        columns = [list(map(pick, rows)) for pick in _PICK_COLUMNS]
    except (KeyError, TypeError):
        for row, lineno in zip(rows, linenos, strict=True):
            if not isinstance(row, dict):
                raise InputFileError("expected a JSON object", where=f"{path}:{lineno}") from None
            missing = [name for name in HASH_COLUMNS if name not in row]
            if missing:
                raise InputFileError(
                    f"row lacks {', '.join(missing)} (each row needs {', '.join(HASH_COLUMNS)}; "
                    "null is allowed except for instance_id)",
                    where=f"{path}:{lineno}",
                ) from None
        raise
    ids = columns[0]
    if None in ids:
        lineno = linenos[ids.index(None)]
        raise InputFileError("instance_id is null", where=f"{path}:{lineno}")
    keys = ids if set(map(type, ids)) <= {str} else [sort_key(v) for v in ids]
    cells = [
        _render_column(path, name, values, linenos)
        for name, values in zip(HASH_COLUMNS, columns, strict=True)
    ]
    return _Batch(keys=keys, lines=list(map(",".join, zip(*cells, strict=True))), linenos=linenos)


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
    hashing it, plus a missing column."""
    path = Path(path)
    for rows, linenos in _parsed_blocks(path):
        _render_batch(path, rows, linenos)  # the same checks as hashing: columns, cell types
        yield from zip(linenos, rows, strict=True)


def _check_ascending(batch: _Batch, previous: str | None) -> None:
    keys = batch.keys
    if previous is not None and keys[0] <= previous:
        raise _NotSorted
    if any(map(operator.ge, keys, islice(keys, 1, None))):
        raise _NotSorted


def _in_order_or_raise(path: Path) -> Iterator[_Batch]:
    """The file's rows as they stand, raising _NotSorted at the first row out of order (or a
    repeated id). Every file PUMA writes is in order, so this is the path that counts."""
    previous: str | None = None
    for batch in _file_batches(path):
        _check_ascending(batch, previous)
        previous = batch.keys[-1]
        yield batch


def _consume_in_hash_order(path: Path, consume: Callable[[Iterator[_Batch]], _T]) -> _T:
    """Feed `consume` the rows in hash order, in bounded memory.

    A file in order streams through once. Otherwise `consume` starts over on the rows sorted in
    runs of SORT_RUN_ROWS spilled to temporary files and merged: memory stays bounded by one run
    (about 200 bytes a row) whatever the file's size, at the cost of a second read.
    """
    try:
        return consume(_in_order_or_raise(path))
    except _NotSorted:
        return consume(_externally_sorted(path))


def _externally_sorted(path: Path) -> Iterator[_Batch]:
    spill_to = Path(tempfile.gettempdir())
    with (
        writing(spill_to, "sort the rows in a temporary folder (TMPDIR chooses another)"),
        tempfile.TemporaryDirectory(prefix="puma-sort-") as tmp,
    ):
        runs: list[list[tuple[str, str, int]]] = []
        spilled: list[Path] = []
        current: list[tuple[str, str, int]] = []
        for batch in _file_batches(path):
            current.extend(zip(batch.keys, batch.lines, batch.linenos, strict=True))
            if len(current) >= SORT_RUN_ROWS:
                spilled.append(_spill(Path(tmp), len(spilled), current))
                current = []
        current.sort(key=operator.itemgetter(0))
        runs.append(current)
        sources: list[Iterable[tuple[str, str, int]]] = [_read_spill(p) for p in spilled]
        sources.extend(runs)
        merged = heapq.merge(*sources, key=operator.itemgetter(0))
        yield from _batched_without_duplicates(path, merged)


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


def _batched_without_duplicates(
    path: Path, rows: Iterator[tuple[str, str, int]], size: int = 10_000
) -> Iterator[_Batch]:
    batch = _Batch(keys=[], lines=[], linenos=[])
    last: tuple[str, int] | None = None
    for key, line, lineno in rows:
        if last is not None and key == last[0]:
            first, second = sorted((last[1], lineno))
            raise InputFileError(
                f"instance_id {key!r} appears twice (lines {first} and {second}); "
                "a predictions file holds one row per instance",
                where=str(path),
            )
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


def hash_predictions_file(path: Path) -> PredictionsDigest:
    """Stream a predictions JSON-lines file and compute its `predictions_summary_hash`.

    Raises InputFileError (with file and line) for anything that is not a readable predictions
    file: bad UTF-8, a line that is not a JSON object, a truncated last line, a missing column,
    a nested value, two rows with one instance_id, or no rows at all.
    """
    path = Path(path)

    def consume(batches: Iterator[_Batch]) -> tuple[str, int]:
        digest = hashlib.sha256()
        n_rows = 0
        for batch in batches:
            if n_rows:
                digest.update(b"\n")
            digest.update(_encode_lines(path, batch))
            n_rows += len(batch.lines)
        if n_rows == 0:
            raise InputFileError("no prediction rows: the file is empty", where=str(path))
        return digest.hexdigest(), n_rows

    workers = _worker_count(path)
    try:
        if workers > 1:
            try:
                sha, n_rows = _hash_in_parallel(path, workers)
            except (BrokenProcessPool, OSError):  # no processes here (sandbox, OOM): one is enough
                sha, n_rows = consume(_in_order_or_raise(path))
        else:
            sha, n_rows = consume(_in_order_or_raise(path))
        return PredictionsDigest(sha256=sha, n_rows=n_rows, in_order=True)
    except _NotSorted:
        sha, n_rows = consume(_externally_sorted(path))
        return PredictionsDigest(sha256=sha, n_rows=n_rows, in_order=False)


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
    """What a worker returns for one block: its CSV rows (UTF-8, LF-joined) and its key range, or
    the error to raise (an exception would lose `where` and `hint` on the way back)."""

    text: bytes
    n_rows: int
    first_key: str | None
    last_key: str | None
    in_order: bool
    error: tuple[str, str | None, str | None] | None = None


def _render_block(path_text: str, first_lineno: int, block: bytes) -> _RenderedBlock:
    path = Path(path_text)
    try:
        rows, linenos = _parse_block(path, first_lineno, block)
        if not rows:
            return _RenderedBlock(b"", 0, None, None, True)
        batch = _render_batch(path, rows, linenos)
        text = _encode_lines(path, batch)
    except InputFileError as exc:
        return _RenderedBlock(b"", 0, None, None, True, (exc.message, exc.where, exc.hint))
    keys = batch.keys
    in_order = not any(map(operator.ge, keys, islice(keys, 1, None)))
    return _RenderedBlock(text, len(keys), keys[0], keys[-1], in_order)


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


def _hash_in_parallel(path: Path, workers: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    n_rows = 0
    previous: str | None = None
    for block in _rendered_blocks(path, workers):
        if block.error is not None:
            message, where, hint = block.error
            raise InputFileError(message, where=where, hint=hint)
        if not block.n_rows:
            continue
        assert block.first_key is not None
        if not block.in_order or (previous is not None and block.first_key <= previous):
            raise _NotSorted
        previous = block.last_key
        if n_rows:
            digest.update(b"\n")
        digest.update(block.text)
        n_rows += block.n_rows
    if n_rows == 0:
        raise InputFileError("no prediction rows: the file is empty", where=str(path))
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
    ordered = sorted(rows, key=lambda row: sort_key(row.get("instance_id")))
    return [(sort_key(row.get("instance_id")), row_digest(render_row(row))) for row in ordered]


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

    @property
    def match(self) -> bool:
        return self.declared == self.computed


def verify_predictions_hash(predictions: Path, declared: Any, *, where: str = "") -> HashCheck:
    """Recompute a predictions file's hash and compare it with a declared one (a `sha256:`
    prefix and upper-case hex are accepted; anything but such a string is refused)."""
    expected = normalize_declared_hash(declared, where=where or str(predictions))
    digest = hash_predictions_file(predictions)
    return HashCheck(
        declared=expected, computed=digest.sha256, n_rows=digest.n_rows, in_order=digest.in_order
    )
