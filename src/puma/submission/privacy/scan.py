"""Scanning a folder for private values, and redacting them with stable placeholders.

Reads every file under the folder: text files line by line (streamed, any encoding kept byte for
byte), Parquet files by their string columns in record batches; any other binary file is itself a
finding (`unscanned-file`), because nothing that was not read may leave. Redaction rewrites the
files atomically as one set and writes `redactions.json` (kinds, counts, file:line, never a value).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from puma.errors import InputFileError
from puma.jsonio import write_json
from puma.outputs import remove_files, temporary_path, writing
from puma.submission.privacy.detectors import (
    PRIVATE_KEY_END,
    UNSCANNED,
    Identity,
    line_hits,
)

REDACTIONS_FILE = "redactions.json"
REDACTIONS_SCHEMA = "redactions-1.0"
# Files whose bytes another hash covers: the ledger's chain and seal, the predictions hash, the
# prediction files share-results checks against the ledger. Redacting one breaks that check.
HASH_BEARING_NAMES = frozenset({"run.jsonl", "predictions.jsonl", "predictions_full.parquet"})
HASH_BEARING_SUFFIXES = (".predictions.jsonl",)
SKIPPED_DIRS = frozenset({".git"})
_SNIFF_BYTES = 8192
_PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 4096
_EXCERPT_CONTEXT = 24


@dataclass(frozen=True)
class Finding:
    """One private value: where it is and what kind. `excerpt` shows its line with every private
    value on it masked; `field` names the column for a Parquet file (`line` is then the row)."""

    path: Path
    line: int
    column: int
    kind: str
    excerpt: str
    field: str | None = None

    def location(self, root: Path | None = None) -> str:
        shown = self.path.relative_to(root) if root is not None else self.path
        where = f"{shown}:{self.line}:{self.column}"
        return f"{where} [{self.field}]" if self.field else where


@dataclass(frozen=True)
class Redaction:
    file: str
    line: int
    kind: str
    placeholder: str
    field: str | None = None


@dataclass
class RedactionReport:
    """What `redact_folder` did: each replacement (never the value), the files it rewrote, and the
    findings it left (in hash-bearing files, unless asked) with the record's path."""

    folder: Path
    redactions: list[Redaction] = field(default_factory=list)
    files_rewritten: list[Path] = field(default_factory=list)
    left: list[Finding] = field(default_factory=list)
    record: Path | None = None

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.kind for r in self.redactions).items()))


def is_hash_bearing(path: Path) -> bool:
    return path.name in HASH_BEARING_NAMES or path.name.endswith(HASH_BEARING_SUFFIXES)


def folder_files(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted, skipping .git; a missing folder is bad input."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise InputFileError(f"cannot scan: {what}", where=str(folder))
    files: list[Path] = []
    try:
        for dirpath, dirnames, filenames in os.walk(folder, onerror=_raise):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            files.extend(Path(dirpath) / name for name in filenames)
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(exc.filename)) from exc
    return sorted(files)


def _raise(exc: OSError) -> None:
    raise exc


def scan_folder(folder: Path, *, identity: Identity | None = None) -> list[Finding]:
    """Every private value in every file under `folder`, in file then line order."""
    ident = (identity or Identity.of_this_machine()).specific()
    findings: list[Finding] = []
    for path in folder_files(folder):
        findings.extend(scan_file(path, ident))
    return findings


def scan_file(path: Path, identity: Identity) -> list[Finding]:
    kind = _file_kind(path)
    if kind == "parquet":
        return list(_parquet_hits(path, identity))
    if kind == "text":
        return list(_text_hits(path, identity))
    note = "a symbolic link: not followed" if kind == "link" else "a binary file: not scanned"
    return [Finding(path, 0, 0, UNSCANNED, note)]


def _file_kind(path: Path) -> str:
    if path.is_symlink():
        return "link"
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return "binary" if b"\0" in head else "text"


def _open_text(path: Path) -> Any:
    # surrogateescape: any bytes round-trip, so a redacted file differs only where it was redacted.
    try:
        return path.open(encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with _open_text(path) as handle:
        try:
            yield from enumerate(handle, start=1)
        except OSError as exc:
            raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _split_ending(raw: str) -> tuple[str, str]:
    body = raw.rstrip("\r\n")
    return body, raw[len(body) :]


def _text_hits(path: Path, identity: Identity) -> Iterator[Finding]:
    """Each private value of a text file. A private key block opened on a line and not closed
    on it swallows the lines up to its END marker."""
    in_key_block = False
    for lineno, raw in _lines(path):
        body, _ = _split_ending(raw)
        if in_key_block:
            if PRIVATE_KEY_END.search(body):
                in_key_block = False
            continue
        hits = line_hits(body, identity)
        for start, end, kind in hits:
            if kind == "private-key" and end == len(body) and not PRIVATE_KEY_END.search(body):
                in_key_block = True
            yield Finding(path, lineno, start + 1, kind, excerpt(body, hits, start))


def mask(value: str) -> str:
    """The first few characters (a kind's prefix, like ghp_) and stars: enough to find it."""
    keep = min(4, len(value) // 4)
    return value[:keep] + "*" * 8


def excerpt(body: str, hits: list[tuple[int, int, str]], at: int) -> str:
    """The line around position `at`, with every private value on it masked."""
    parts: list[str] = []
    cursor = 0
    shown_at = 0
    for start, end, _ in hits:
        parts.append(body[cursor:start])
        if start == at:
            shown_at = sum(len(p) for p in parts)
        parts.append(mask(body[start:end]))
        cursor = end
    parts.append(body[cursor:])
    masked = "".join(parts)
    lo = max(0, shown_at - _EXCERPT_CONTEXT)
    hi = min(len(masked), shown_at + 8 + 4 + _EXCERPT_CONTEXT)
    text = masked[lo:hi].encode("utf-8", "replace").decode("utf-8")
    return ("…" if lo else "") + text + ("…" if hi < len(masked) else "")


# --- Parquet -----------------------------------------------------------------------------------


def _string_columns(schema: Any) -> list[str]:
    import pyarrow as pa

    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))
    ]


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputFileError(f"not a readable Parquet file: {exc}", where=str(path)) from exc


def _parquet_hits(path: Path, identity: Identity) -> Iterator[Finding]:
    parquet = _parquet_file(path)
    columns = _string_columns(parquet.schema_arrow)
    row0 = 0
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns or None):
        if columns:
            for name in columns:
                for i, value in enumerate(batch.column(name).to_pylist()):
                    if not value:
                        continue
                    for text_line in value.splitlines() or [value]:
                        hits = line_hits(text_line, identity)
                        for start, _, kind in hits:
                            note = excerpt(text_line, hits, start)
                            yield Finding(path, row0 + i + 1, start + 1, kind, note, name)
        row0 += batch.num_rows


# --- redaction ---------------------------------------------------------------------------------


class Placeholders:
    """`<redacted:KIND:N>`: the same value gets the same placeholder in every file; numbering per
    kind continues from an earlier redaction of the folder (read from its redactions.json)."""

    def __init__(self, start: dict[str, int] | None = None) -> None:
        self.next = dict(start or {})
        self.seen: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.seen:
            n = self.next.get(kind, 0) + 1
            self.next[kind] = n
            self.seen[key] = f"<redacted:{kind}:{n}>"
        return self.seen[key]


def _replace(body: str, hits: list[tuple[int, int, str]], name: Callable[[str, str], str]) -> str:
    placeholders = [name(kind, body[start:end]) for start, end, kind in hits]  # left to right
    for (start, end, _), placeholder in reversed(list(zip(hits, placeholders, strict=True))):
        body = body[:start] + placeholder + body[end:]
    return body


def redaction_record(folder: Path) -> Path:
    """Where `--redact` records what it replaced: inside the folder, except in a contributor
    folder (`run-<uuid>` holding run.md and metadata.json), which holds exactly five files:
    beside it, as `<run-folder>.redactions.json`, so that `submission validate` still passes and
    `publish` (which copies only the five files) never sends it."""
    from puma.submission.cells import RUN_FOLDER

    folder = Path(folder)
    names = ("run.md", "metadata.json")
    if RUN_FOLDER.fullmatch(folder.name) and all((folder / n).is_file() for n in names):
        return folder.parent / f"{folder.name}.{REDACTIONS_FILE}"
    return folder / REDACTIONS_FILE


def redact_folder(
    folder: Path,
    *,
    identity: Identity | None = None,
    include_hash_bearing: bool = False,
    record: Path | None = None,
) -> RedactionReport:
    """Replace every private value under `folder` with a stable placeholder. Hash-bearing files
    (run.jsonl, prediction files) are left as they are, their findings reported in `left`, unless
    `include_hash_bearing`: then they are redacted and their hash checks will fail."""
    folder = Path(folder)
    ident = (identity or Identity.of_this_machine()).specific()
    record = record if record is not None else redaction_record(folder)
    report = RedactionReport(folder=folder, record=record)
    names = Placeholders(_previous_counters(record))
    temporaries: dict[Path, Path] = {}
    try:
        for path in folder_files(folder):
            if path == record:
                continue
            if is_hash_bearing(path) and not include_hash_bearing:
                report.left.extend(scan_file(path, ident))
                continue
            kind = _file_kind(path)
            if kind == "text":
                done = _redact_text(path, ident, names, folder, report)
            elif kind == "parquet":
                done = _redact_parquet(path, ident, names, folder, report)
            else:
                report.left.extend(scan_file(path, ident))
                done = False
            if done:
                temporaries[path] = temporary_path(path)
        for path, tmp in temporaries.items():
            with writing(path):
                os.replace(tmp, path)
    except BaseException:
        remove_files(list(temporaries.values()))
        raise
    report.files_rewritten = sorted(temporaries)
    if report.redactions or report.left:
        write_json(record, _record_document(report, names))
    return report


def _previous_counters(record: Path) -> dict[str, int]:
    from puma.jsonio import read_json

    if not record.is_file():
        return {}
    previous = read_json(record)
    counters = previous.get("next_placeholder", {}) if isinstance(previous, dict) else {}
    return {str(k): int(v) for k, v in counters.items() if isinstance(v, int)}


def _redact_text(
    path: Path, identity: Identity, names: Placeholders, root: Path, report: RedactionReport
) -> bool:
    hits_by_line: dict[int, list[tuple[int, int, str]]] = {}
    key_blocks: set[int] = set()  # lines inside a multi-line key block: dropped
    in_block = False
    for lineno, raw in _lines(path):
        body, _ = _split_ending(raw)
        if in_block:
            key_blocks.add(lineno)
            if PRIVATE_KEY_END.search(body):
                in_block = False
            continue
        hits = line_hits(body, identity)
        if hits:
            hits_by_line[lineno] = hits
            _, last_end, last_kind = hits[-1]
            if last_kind == "private-key" and last_end == len(body):
                in_block = not PRIVATE_KEY_END.search(body)
    if not hits_by_line:
        return False
    relative = str(path.relative_to(root))
    tmp = temporary_path(path)
    with (
        writing(tmp),
        _open_text(path) as source,
        tmp.open("w", encoding="utf-8", errors="surrogateescape", newline="") as out,
    ):
        for lineno, raw in enumerate(source, start=1):
            if lineno in key_blocks:
                body, ending = _split_ending(raw)
                end = PRIVATE_KEY_END.search(body)
                if end:  # the block's last line: keep what follows its END marker
                    rest = body[end.end() :]
                    if rest.strip():
                        out.write(rest + ending)
                continue
            if lineno not in hits_by_line:
                out.write(raw)
                continue
            hits = hits_by_line[lineno]
            body, ending = _split_ending(raw)
            out.write(_replace(body, hits, names) + ending)
            for start, end_, kind in hits:
                placeholder = names(kind, body[start:end_])
                report.redactions.append(Redaction(relative, lineno, kind, placeholder))
    return True


def _redact_parquet(
    path: Path, identity: Identity, names: Placeholders, root: Path, report: RedactionReport
) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not any(True for _ in _parquet_hits(path, identity)):
        return False
    relative = str(path.relative_to(root))
    parquet = _parquet_file(path)
    schema = parquet.schema_arrow
    columns = set(_string_columns(schema))
    tmp = temporary_path(path)
    row0 = 0
    with writing(tmp), pq.ParquetWriter(tmp, schema) as writer:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            arrays = []
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                if name not in columns:
                    arrays.append(column)
                    continue
                values = column.to_pylist()
                for i, value in enumerate(values):
                    if value:
                        values[i] = _redact_cell(
                            value, identity, names, report, relative, row0 + i + 1, name
                        )
                arrays.append(pa.array(values, type=column.type))
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            row0 += batch.num_rows
    return True


def _redact_cell(
    value: str,
    identity: Identity,
    names: Placeholders,
    report: RedactionReport,
    relative: str,
    row: int,
    column: str,
) -> str:
    lines = value.splitlines(keepends=True) or [value]
    out = []
    for raw in lines:
        body, ending = _split_ending(raw)
        hits = line_hits(body, identity)
        for start, end, kind in hits:
            report.redactions.append(
                Redaction(relative, row, kind, names(kind, body[start:end]), column)
            )
        out.append(_replace(body, hits, names) + ending)
    return "".join(out)


def _record_document(report: RedactionReport, names: Placeholders) -> dict[str, Any]:
    def entry(r: Redaction) -> dict[str, Any]:
        item: dict[str, Any] = {"file": r.file, "line": r.line, "kind": r.kind}
        item["placeholder"] = r.placeholder
        if r.field:
            item["field"] = r.field
        return item

    return {
        "schema_version": REDACTIONS_SCHEMA,
        "counts": report.counts,
        "redacted": [entry(r) for r in report.redactions],
        "left_unredacted": [
            {
                "file": str(f.path.relative_to(report.folder)),
                "line": f.line,
                "kind": f.kind,
                "reason": "hash-bearing file" if is_hash_bearing(f.path) else "not text",
            }
            for f in report.left
        ],
        "next_placeholder": dict(sorted(names.next.items())),
    }
