"""Bundled suites: the data folders under suites/data/<id>/, their manifest and content hash.

A folder holds suite.json, items.jsonl, examples.jsonl, schema.json and DATASHEET.md (written by
scripts/make_suites.py). Loading checks every hashed file against suite.json before parsing it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from puma.errors import InputFileError, SuiteError
from puma.hashing import sha256_hex
from puma.jsonio import iter_jsonl, read_json
from puma.suites.model import Suite

DATA_DIR = Path(__file__).parent / "data"
MANIFEST_NAME = "suite.json"
ITEMS_NAME = "items.jsonl"
EXAMPLES_NAME = "examples.jsonl"
SCHEMA_NAME = "schema.json"
DATASHEET_NAME = "DATASHEET.md"
# The files the content hash covers, in hashing order. The manifest, schema and datasheet describe
# the data; they are not part of what a result was computed on.
HASHED_FILES = (ITEMS_NAME, EXAMPLES_NAME)
REGENERATE_HINT = (
    "reinstall puma-bench, or regenerate the data with `python scripts/make_suites.py` "
    "in a source checkout"
)


class SuiteCounts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: int
    examples: int
    gold: dict[str, int]  # gold value (as text) -> number of test items


class SuiteManifest(BaseModel):
    """suite.json: what a bundled suite is, and the hashes its data files must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal["suite-1.0"] = "suite-1.0"
    id: str
    version: str
    task: str  # a task kind of puma.tasks
    labels: tuple[str, ...]
    description: str
    license: str
    content_hash: str
    files: dict[str, str]  # file name -> SHA-256 hex of its bytes
    counts: SuiteCounts
    generator: str

    def gold_order(self) -> list[str]:
        """Gold values in a reader's order: the labels, or the points from small to large."""
        return list(self.labels) or sorted(self.counts.gold, key=float)


class SuiteOverview(BaseModel):
    """What `puma suites show` prints: the manifest, the datasheet's summary and one item."""

    model_config = ConfigDict(frozen=True)

    manifest: SuiteManifest
    summary: str
    gold_distribution: dict[str, int]
    example_item: dict[str, Any]
    datasheet_path: str


def suite_content_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 over, for each name in HASHED_FILES: name, LF, byte length in decimal, LF, bytes.

    The length prefix makes the concatenation unambiguous (no file can absorb its neighbour)."""
    chunks: list[bytes] = []
    for name in HASHED_FILES:
        data = files[name]
        chunks += [name.encode("utf-8"), b"\n", str(len(data)).encode("ascii"), b"\n", data]
    return sha256_hex(b"".join(chunks))


def bundled_ids(data_dir: Path = DATA_DIR) -> list[str]:
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if (p / MANIFEST_NAME).is_file())


def read_manifest(folder: Path) -> SuiteManifest:
    path = folder / MANIFEST_NAME
    try:
        data = read_json(path)
    except InputFileError as exc:
        raise SuiteError(exc.message, where=exc.where, hint=REGENERATE_HINT) from exc
    try:
        manifest = SuiteManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise SuiteError(f"invalid manifest: {field}: {first['msg']}", where=str(path)) from exc
    # The task kinds are registered by puma.tasks, which builds on this package (a task's
    # scenario reads a Suite): the name is checked once the registry exists, at load time.
    from puma.tasks import task_names

    if manifest.task not in task_names(runnable=True):
        raise SuiteError(
            f"invalid manifest: task: {manifest.task!r} is no task kind PUMA runs",
            where=str(path),
            hint=f"task kinds: {', '.join(task_names(runnable=True))}",
        )
    return manifest


def list_suites(data_dir: Path = DATA_DIR) -> list[SuiteManifest]:
    """The manifests of every bundled suite, sorted by id (no hash check: cheap)."""
    return [read_manifest(data_dir / suite_id) for suite_id in bundled_ids(data_dir)]


def suite_folder(suite_id: str, data_dir: Path = DATA_DIR) -> Path:
    folder = data_dir / suite_id
    if suite_id in ("", ".", "..") or "/" in suite_id or not (folder / MANIFEST_NAME).is_file():
        known = ", ".join(bundled_ids(data_dir)) or "none"
        raise SuiteError(
            f"unknown suite {suite_id!r}; bundled suites: {known}",
            hint="see `puma suites list`; for your own data use id: local with path and format",
        )
    return folder


def load_bundled_suite(suite_id: str, *, data_dir: Path = DATA_DIR) -> Suite:
    """A bundled suite by id, after checking its bytes against its content hash."""
    return load_suite_folder(suite_folder(suite_id, data_dir))


def load_suite_folder(folder: Path) -> Suite:
    """Load a suite folder; a file whose bytes do not match suite.json raises SuiteError."""
    return _load_checked(folder)[1]


def _load_checked(folder: Path) -> tuple[SuiteManifest, Suite]:
    manifest = read_manifest(folder)
    files = {name: _read_hashed_file(folder / name, manifest) for name in HASHED_FILES}
    actual = suite_content_hash(files)
    if actual != manifest.content_hash:
        raise SuiteError(
            f"content hash mismatch: expected {manifest.content_hash}, got {actual}",
            where=str(folder / MANIFEST_NAME),
            hint=REGENERATE_HINT,
        )
    items = _parse_items(folder / ITEMS_NAME)
    examples = _parse_items(folder / EXAMPLES_NAME)
    overlap = {i["instance_id"] for i in items} & {e["instance_id"] for e in examples}
    if overlap:
        raise SuiteError(
            f"instance ids in both items and examples: {', '.join(sorted(overlap)[:5])}",
            where=str(folder),
        )
    return manifest, Suite(
        id=manifest.id,
        version=manifest.version,
        task=manifest.task,
        labels=manifest.labels,
        content_hash=manifest.content_hash,
        items=tuple(items),
        examples=tuple(examples),
        source="bundled",
        description=manifest.description,
    )


def suite_overview(suite_id: str, *, data_dir: Path = DATA_DIR) -> SuiteOverview:
    """A bundled suite's manifest, datasheet summary, gold distribution and first item."""
    folder = suite_folder(suite_id, data_dir)
    manifest, suite = _load_checked(folder)
    counts = Counter(str(item["gold"]) for item in suite.items)
    datasheet = folder / DATASHEET_NAME
    return SuiteOverview(
        manifest=manifest,
        summary=datasheet_summary(datasheet),
        gold_distribution={label: counts[label] for label in manifest.gold_order()},
        example_item=suite.items[0],
        datasheet_path=str(datasheet),
    )


def datasheet_summary(path: Path) -> str:
    """The paragraph under the datasheet's first '## ' heading ('What it measures')."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    sections = text.split("\n## ")
    if len(sections) < 2:
        return ""
    body = sections[1].split("\n", 1)[1] if "\n" in sections[1] else ""
    return body.strip().split("\n\n")[0].replace("\n", " ")


def _read_hashed_file(path: Path, manifest: SuiteManifest) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(
            f"cannot read suite file: {exc.strerror}", where=str(path), hint=REGENERATE_HINT
        ) from exc
    expected = manifest.files.get(path.name)
    actual = sha256_hex(data)
    if expected != actual:
        raise SuiteError(
            f"bytes do not match the suite's hash: expected sha256 {expected}, got {actual}",
            where=str(path),
            hint=f"the file was modified or damaged; {REGENERATE_HINT}",
        )
    return data


def _parse_items(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    try:
        for lineno, row in iter_jsonl(path):
            if "instance_id" not in row or "gold" not in row:
                raise SuiteError("item lacks instance_id or gold", where=f"{path}:{lineno}")
            instance_id = str(row["instance_id"])
            if instance_id in seen:
                raise SuiteError(
                    f"duplicate instance_id {instance_id!r} (first on line {seen[instance_id]})",
                    where=f"{path}:{lineno}",
                )
            seen[instance_id] = lineno
            rows.append(row)
    except InputFileError as exc:
        raise SuiteError(exc.message, where=exc.where, hint=REGENERATE_HINT) from exc
    return rows
