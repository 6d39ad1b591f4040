"""The predictions hash of a submission (PUMA 4.0's `predictions_summary_hash`) and its check.

The rule, in four steps: render each row's four columns as a CSV line (`render_row`), quoting a
cell only where CSV needs it; sort the lines by `str(instance_id)`, stably; join them with LF;
SHA-256 the UTF-8 bytes. Byte for byte what PUMA 4.0's community tooling (`puma-cp`) hashes.

A file is read by the one JSON-lines reader (`puma.jsonio.iter_jsonl`), as PUMA 4.0 reads it.
What PUMA 4.0 accepts but a PUMA file never holds (rows that share an id, a null or absent id or
column, a nested value, no rows) is hashed the same way and reported in `warnings`. Schema v1
caps a submission at 100,000 rows (about 12 MiB): the file is held in memory, in one process.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from puma.errors import InputFileError
from puma.jsonio import iter_jsonl

# PUMA 4.0's hashed columns, fixed by its schema; the same as puma.predictions.CANONICAL_COLUMNS
# (a test holds them equal), not imported from there: it would pull PyArrow into verify-hash.
HASH_COLUMNS: tuple[str, ...] = ("instance_id", "predicted_label", "predicted_value", "prompt_hash")
ROW_DIGEST_HEX = 16

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HASH_KEYS = frozenset(HASH_COLUMNS)


# --- the rule ----------------------------------------------------------------------------------


def render_cell(value: Any) -> str:
    """One CSV cell as PUMA 4.0 writes it: null empty, a float with six decimals, else `str()`.

    Quoting is minimal: a cell holding a comma, a double quote, a CR or an LF is quoted and its
    quotes doubled. Python's csv module quotes a lone CR only from 3.13 on; we always quote it.
    A JSON array or object (never in a PUMA file) is Python's `str()` of it, as PUMA 4.0 renders it.
    """
    return _quote(_text(value))


def _text(value: Any) -> str:
    if value.__class__ is str:  # the common case first: this runs four times a row
        return str(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".6f")
    if isinstance(value, str | int | list | dict):  # bool is an int: str(True) == "True"
        return str(value)
    raise TypeError(f"a cell must be a JSON value, not {type(value).__name__}")


def _quote(text: str) -> str:
    if "," in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def render_row(row: Mapping[str, Any]) -> str:
    """A row's CSV line; an absent column is read as null, as PUMA 4.0 reads it."""
    cells = [_text(row.get(column)) for column in HASH_COLUMNS]
    line = ",".join(cells)
    if line.count(",") == 3 and '"' not in line and "\r" not in line and "\n" not in line:
        return line  # no cell needs quotes (checked on the line: one test, not four)
    return ",".join([_quote(cell) for cell in cells])


def row_sort_key(row: Mapping[str, Any]) -> str:
    """A row's place in hash order: `str(instance_id)`, code point by code point (a null id
    sorts as the text "None", an absent one as "", first), ties in file order."""
    return str(row.get("instance_id", ""))


def predictions_summary_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """The hash of rows held in memory: SHA-256 hex of their CSV lines in hash order."""
    lines = [render_row(row) for row in sorted(rows, key=row_sort_key)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def row_digest(line: str) -> str:
    """A short digest of one rendered row, to say which instance differs on a mismatch."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:ROW_DIGEST_HEX]


def rendered_row_digests(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(sort key, row digest) for each row in hash order: what a package keeps to locate a
    later difference (see `first_difference`)."""
    ordered = sorted(rows, key=row_sort_key)
    return [(row_sort_key(row), row_digest(render_row(row))) for row in ordered]


# --- a file ------------------------------------------------------------------------------------

# What PUMA 4.0 accepts and PUMA never writes, each hashed exactly as PUMA 4.0 hashes it.
_FINDING_TEXT = {
    "missing_id": (
        "{count} row(s) have no instance_id (first: line {line}); hashed as PUMA 4.0 does: an "
        "empty cell, sorted first"
    ),
    "missing_column": (
        "{count} row(s) lack a column (first: line {line}, {detail}); hashed as PUMA 4.0 does: "
        "as null, an empty cell"
    ),
    "null_id": (
        "{count} row(s) have a null instance_id (first: line {line}); hashed as PUMA 4.0 does: "
        "an empty cell, sorted as the text 'None'"
    ),
    "nested_value": (
        "{count} cell(s) hold a JSON array or object (first: line {line}, {detail}); hashed as "
        "PUMA 4.0 does: Python's str() of the value"
    ),
    "duplicate_id": (
        "{count} row(s) repeat an instance_id already seen (first: {detail}); hashed in "
        "PUMA 4.0's order: by str(instance_id), rows that share one in file order"
    ),
    "no_rows": (
        "the file holds no prediction rows; hashed as PUMA 4.0 does: the SHA-256 of no bytes"
    ),
}


_Line = tuple[str, str, int]  # (sort key, CSV line, line number in the file)


class _Findings:
    """Per kind: how many, and the line and a word on the first."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, str]] = {}
        self.count: dict[str, int] = {}

    def note(self, kind: str, line: int, detail: str = "") -> None:
        self.first.setdefault(kind, (line, detail))
        self.count[kind] = self.count.get(kind, 0) + 1

    def describe(self, path: Path, kinds: Sequence[str]) -> tuple[str, ...]:
        return tuple(
            f"{path}: "
            + _FINDING_TEXT[kind].format(
                count=self.count[kind], line=self.first[kind][0], detail=self.first[kind][1]
            )
            for kind in kinds
            if kind in self.count
        )


def _note_row(row: dict[str, Any], lineno: int, findings: _Findings) -> None:
    if "instance_id" not in row:
        findings.note("missing_id", lineno)
    elif row["instance_id"] is None:
        findings.note("null_id", lineno)
    missing = [name for name in HASH_COLUMNS[1:] if name not in row]
    if missing:
        findings.note("missing_column", lineno, "no " + ", ".join(missing))
    for name in HASH_COLUMNS:
        if isinstance(row.get(name), list | dict):
            findings.note("nested_value", lineno, name)


def _hash_order(path: Path, findings: _Findings) -> tuple[list[_Line], bool]:
    """Every row's (sort key, CSV line, line number) in hash order, and whether the file was in
    that order already (every file PUMA writes is)."""
    rows: list[_Line] = []
    for lineno, row in iter_jsonl(path):
        line = render_row(row)
        # Cheap tests first: a row of PUMA's has its four keys, an id, and no array or object.
        if "[" in line or "{" in line or row.keys() != _HASH_KEYS or row["instance_id"] is None:
            _note_row(row, lineno, findings)
        rows.append((row_sort_key(row), line, lineno))
    keys = [key for key, _, _ in rows]
    in_order = all(map(operator.le, keys, islice(keys, 1, None)))
    if not in_order:
        rows.sort(key=operator.itemgetter(0))  # stable: rows sharing an id keep file order
    if len(set(keys)) < len(keys):
        for (key, _, before), (next_key, _, lineno) in pairwise(rows):
            if key == next_key:
                findings.note("duplicate_id", lineno, f"{key!r}, lines {before} and {lineno}")
    return rows, in_order


def _encoded(path: Path, rows: list[_Line]) -> bytes:
    """The hashed bytes; a lone surrogate (JSON allows the escape, UTF-8 cannot encode it) is
    refused at its line."""
    try:
        return "\n".join([line for _, line, _ in rows]).encode("utf-8")
    except UnicodeEncodeError:
        for _, line, lineno in rows:
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputFileError(
                    f"holds an unpaired surrogate {exc.object[exc.start]!r}, which UTF-8 cannot "
                    "encode",
                    where=f"{path}:{lineno}",
                ) from None
        raise


@dataclass(frozen=True)
class PredictionsDigest:
    sha256: str
    n_rows: int
    in_order: bool  # False when the file was not sorted by instance_id and had to be sorted
    # What PUMA 4.0 accepts but a PUMA file never holds (rows that share an id, a null id, a
    # missing column, a nested value, no rows): hashed as PUMA 4.0 hashes it, and said here.
    warnings: tuple[str, ...] = ()


def hash_predictions_file(path: Path) -> PredictionsDigest:
    """A predictions JSON-lines file's `predictions_summary_hash`.

    Raises InputFileError (with file and line) for what PUMA 4.0's verifier cannot read either:
    bad UTF-8, a byte-order mark, a line that is not a JSON object, a truncated last line, an
    unpaired surrogate; and for a line over 1 MiB.
    """
    path = Path(path)
    findings = _Findings()
    rows, in_order = _hash_order(path, findings)
    sha = hashlib.sha256(_encoded(path, rows)).hexdigest()
    if not rows:
        findings.note("no_rows", 0)
    kinds = ["missing_id", "missing_column", "null_id", "nested_value"]
    # Rows that share an id are seen while reading a file in order, after it when sorting.
    kinds = ["duplicate_id", *kinds] if in_order else [*kinds, "duplicate_id"]
    warnings = findings.describe(path, [*kinds, "no_rows"])
    return PredictionsDigest(sha256=sha, n_rows=len(rows), in_order=in_order, warnings=warnings)


def first_difference(path: Path, reference: Sequence[Sequence[str]]) -> str | None:
    """Which instance first differs between a predictions file and the (key, digest) pairs
    recorded when it was packaged; None when every row is the same."""
    rows, _ = _hash_order(Path(path), _Findings())
    for (key, line, lineno), (ref_key, ref_digest) in zip(rows, reference, strict=False):
        if key > ref_key:
            return f"instance {ref_key!r} is missing from the predictions file"
        if key < ref_key:
            return f"instance {key!r} (line {lineno}) was not in the packaged predictions"
        if row_digest(line) != ref_digest:
            return f"the first differing row is instance {key!r} (line {lineno})"
    if len(rows) > len(reference):
        key, _, lineno = rows[len(reference)]
        return f"instance {key!r} (line {lineno}) was not in the packaged predictions"
    if len(reference) > len(rows):
        return f"instance {reference[len(rows)][0]!r} is missing from the predictions file"
    return None


# --- the declared hash -------------------------------------------------------------------------


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
