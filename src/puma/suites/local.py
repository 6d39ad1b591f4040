"""Local suites: a user's own Jira- or TAWOS-shaped data from a CSV, JSONL or Parquet file.

Jira issue-priority data becomes a triage suite (Blocker/Critical/Major/Minor/Trivial onto the four
labels); TAWOS story-point data becomes an estimation suite (Fibonacci points only). Every problem
raises SuiteError naming the file, the row or line, and the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from puma.errors import InputFileError, SuiteError
from puma.hashing import sha256_hex, sha256_json
from puma.jsonio import iter_jsonl
from puma.predictions import canonical_number
from puma.suites.model import FIBONACCI_POINTS, TRIAGE_LABELS, Suite

LocalFormat = Literal["jira", "tawos"]

# Canonical column -> names it is found under (compared lower-case, letters and digits only).
JIRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "key": ("key", "issuekey", "id"),
    "project": ("project", "projectkey", "projectname"),
    "component": ("component", "components"),
    "title": ("title", "summary"),
    "description": ("description", "body"),
    "priority": ("priority", "priorityname"),
    "reporter": ("reporter", "reportername"),
}
TAWOS_COLUMNS: dict[str, tuple[str, ...]] = {
    "key": ("key", "issuekey", "id"),
    "project": ("project", "projectkey", "projectname"),
    "title": ("title", "summary"),
    "description": ("description", "descriptiontext"),
    "storypoint": ("storypoint", "storypoints", "points"),
}
REQUIRED = {"jira": ("title", "priority"), "tawos": ("title", "storypoint")}
PRIORITY_MAP = {
    "blocker": "Critical",
    "critical": "Critical",
    "major": "Major",
    "minor": "Minor",
    "trivial": "Trivial",
}
EXAMPLE_SHARE = 10  # one row in ten goes to the few-shot pool...
MAX_EXAMPLES = 40  # ...up to this many
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class Row:
    where: str  # "path:line" or "path, row N": what an error message names
    cells: dict[str, Any]


def load_local_suite(
    path: Path, format: LocalFormat | None = None, columns: Mapping[str, str] | None = None
) -> Suite:
    """Read a Jira (triage) or TAWOS (estimation) file into a Suite.

    Without `format`, a file with a priority column is Jira and one with a story-point column is
    TAWOS. `columns` maps canonical names (see JIRA_COLUMNS / TAWOS_COLUMNS) to the file's own
    column names. The content hash is the SHA-256 of the file's bytes; examples are the rows
    whose instance id hashes lowest (about one in ten, at most 40), so they never overlap the
    items."""
    path = Path(path)
    if format is not None and format not in REQUIRED:
        raise SuiteError(
            f"unknown local format {format!r}; expected jira or tawos", where=str(path)
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"cannot read local suite: {exc.strerror}", where=str(path)) from exc
    rows = list(_read_rows(path, data))
    if not rows:
        raise SuiteError(
            "no data rows", where=str(path), hint="the file must hold at least one issue"
        )
    if format is None:
        format = _infer_format(path, rows, columns or {})
    known = JIRA_COLUMNS if format == "jira" else TAWOS_COLUMNS
    mapping = _resolve_columns(path, rows, known, REQUIRED[format], columns or {})
    make = _jira_item if format == "jira" else _tawos_item
    items = _with_ids([(row, make(row, mapping)) for row in rows], mapping)
    examples_ids = _example_ids([item["instance_id"] for item in items])
    # Jira priorities are triage data; TAWOS story points are estimation data.
    task = "triage" if format == "jira" else "estimation"
    return Suite(
        id=local_suite_id(path),
        version="local",
        task=task,
        labels=TRIAGE_LABELS if format == "jira" else (),
        content_hash=sha256_hex(data),
        items=tuple(i for i in items if i["instance_id"] not in examples_ids),
        examples=tuple(i for i in items if i["instance_id"] in examples_ids),
        source=str(path),
        description=f"local {format} data from {path.name}",
    )


def local_suite_id(path: Path) -> str:
    """'local-' and the file's stem in lower-case letters, digits and hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return f"local-{slug or 'data'}"


def _read_rows(path: Path, data: bytes) -> Iterator[Row]:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SuiteError(
            f"unknown file type {path.suffix or '(none)'!r}",
            where=str(path),
            hint="use a .csv, .jsonl (or .ndjson) or .parquet file",
        )
    if kind == "csv":
        yield from _csv_rows(path, data)
    elif kind == "jsonl":
        try:
            for lineno, obj in iter_jsonl(path):
                yield Row(f"{path}:{lineno}", obj)
        except InputFileError as exc:
            raise SuiteError(exc.message, where=exc.where) from exc
    else:
        yield from _parquet_rows(path, data)


def _csv_rows(path: Path, data: bytes) -> Iterator[Row]:
    body = data.removeprefix(codecs.BOM_UTF8)  # spreadsheet exports often start with one
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise SuiteError(
            f"not UTF-8 (byte 0x{body[exc.start]:02x})",
            where=f"{path}:{line}",
            hint="save the file as UTF-8",
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if None in record:
                raise SuiteError("row has more cells than the header has columns", where=where)
            yield Row(where, {k: v for k, v in record.items() if k is not None})
    except csv.Error as exc:
        raise SuiteError(f"malformed CSV: {exc}", where=f"{path}:{reader.line_num}") from exc


def _parquet_rows(path: Path, data: bytes) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise SuiteError(f"not a readable Parquet file: {exc}", where=str(path)) from exc
    for number, record in enumerate(table.to_pylist(), start=1):
        yield Row(f"{path}, row {number}", record)


def _infer_format(path: Path, rows: list[Row], explicit: Mapping[str, str]) -> LocalFormat:
    names = {_normal(name) for row in rows for name in row.cells}
    jira = "priority" in explicit or bool(names & set(JIRA_COLUMNS["priority"]))
    tawos = "storypoint" in explicit or bool(names & set(TAWOS_COLUMNS["storypoint"]))
    if jira == tawos:
        raise SuiteError(
            "cannot tell whether this is Jira (priority) or TAWOS (story points) data",
            where=str(path),
            hint="give the format: jira or tawos",
        )
    return "jira" if jira else "tawos"


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _resolve_columns(
    path: Path,
    rows: list[Row],
    known: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    explicit: Mapping[str, str],
) -> dict[str, str]:
    """Canonical name -> the file's column, from the explicit mapping or the known synonyms."""
    # JSONL rows may differ in keys: a column exists if any row has it.
    present = list(dict.fromkeys(name for row in rows for name in row.cells))
    unknown = [name for name in explicit if name not in known]
    if unknown:
        raise SuiteError(
            f"unknown canonical column {unknown[0]!r} in 'columns'",
            where=str(path),
            hint=f"canonical names: {', '.join(known)}",
        )
    mapping: dict[str, str] = {}
    by_normal = {_normal(name): name for name in present}
    for canonical, synonyms in known.items():
        if canonical in explicit:
            column = explicit[canonical]
            if column not in present:
                raise SuiteError(
                    f"column {column!r} (mapped to {canonical!r}) is not in the file",
                    where=str(path),
                    hint=f"columns in the file: {', '.join(present) or 'none'}",
                )
            mapping[canonical] = column
            continue
        found = next((by_normal[s] for s in synonyms if s in by_normal), None)
        if found is not None:
            mapping[canonical] = found
    missing = [name for name in required if name not in mapping]
    if missing:
        raise SuiteError(
            f"missing column {missing[0]!r}",
            where=str(path),
            hint=f"columns in the file: {', '.join(present) or 'none'}; map one with "
            f"columns: {{{missing[0]}: <your column>}} in the spec",
        )
    return mapping


def _cell(row: Row, mapping: dict[str, str], name: str) -> str:
    """A cell as trimmed text: lists are joined with ', ', {'name': x} objects give x."""
    column = mapping.get(name)
    value = row.cells.get(column) if column is not None else None
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list | tuple):
        value = ", ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _required_cell(row: Row, mapping: dict[str, str], name: str) -> str:
    text = _cell(row, mapping, name)
    if not text:
        raise SuiteError(f"column {mapping[name]!r} ({name}) is empty", where=row.where)
    return text


def _jira_item(row: Row, mapping: dict[str, str]) -> dict[str, Any]:
    priority = _required_cell(row, mapping, "priority")
    label = PRIORITY_MAP.get(priority.lower())
    if label is None:
        raise SuiteError(
            f"column {mapping['priority']!r}: unknown priority {priority!r}",
            where=row.where,
            hint="expected Blocker, Critical, Major, Minor or Trivial",
        )
    item = {
        "project": _cell(row, mapping, "project"),
        "component": _cell(row, mapping, "component"),
        "title": _required_cell(row, mapping, "title"),
        "description": _cell(row, mapping, "description"),
        "gold": label,
    }
    if "reporter" in mapping:
        item["reporter"] = _cell(row, mapping, "reporter")
    return item


def _tawos_item(row: Row, mapping: dict[str, str]) -> dict[str, Any]:
    raw = _required_cell(row, mapping, "storypoint")
    points = canonical_number(raw)
    if points not in FIBONACCI_POINTS:
        raise SuiteError(
            f"column {mapping['storypoint']!r}: {raw!r} is not a story point on the scale",
            where=row.where,
            hint=f"accepted values: {', '.join(map(str, FIBONACCI_POINTS))}; "
            "fix or drop the row (values are never snapped)",
        )
    return {
        "project": _cell(row, mapping, "project"),
        "title": _required_cell(row, mapping, "title"),
        "description": _cell(row, mapping, "description"),
        "gold": points,
    }


def _with_ids(
    made: list[tuple[Row, dict[str, Any]]], mapping: dict[str, str]
) -> list[dict[str, Any]]:
    """Give each item its instance id: the issue key, or `row-` + a hash of its text fields."""
    seen: dict[str, str] = {}
    repeats: dict[str, int] = {}
    items = []
    for row, item in made:
        key = _cell(row, mapping, "key")
        if key:
            if key in seen:
                raise SuiteError(
                    f"duplicate issue key {key!r} (first at {seen[key]})", where=row.where
                )
        else:
            text = {k: v for k, v in item.items() if k != "gold"}
            key = "row-" + sha256_json(text)[:12]
            # Identical rows without a key are told apart by their order of appearance.
            repeats[key] = repeats.get(key, 0) + 1
            if repeats[key] > 1:
                key = f"{key}-{repeats[key]}"
        seen[key] = row.where
        items.append({"instance_id": key, **item})
    return items


def _example_ids(ids: list[str]) -> set[str]:
    count = min(MAX_EXAMPLES, len(ids) // EXAMPLE_SHARE)
    return set(sorted(ids, key=lambda i: sha256_hex(i))[:count])
