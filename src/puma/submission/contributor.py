"""The contributor folder `submissions/<handle>/<device-tag>/run-<uuid>/`: what a contributor sends
back to the catalogue, prepared from a finished run folder and validated on either side.

Reads a run folder's manifest.json, hardware.json and run.jsonl (copied byte for byte) and writes
them with metadata.json (metadata-1.0, puma.evaluate.metadata) and run.md (the narrative), all
five at once (a temporary folder renamed into place). Nothing is written unless the run's ledger
verifies and the privacy scan (puma.submission.privacy) finds nothing.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from puma.errors import CheckFailed, InputFileError, OutputWriteError
from puma.evaluate.metadata import aggregate_run
from puma.jsonio import parse_json
from puma.outputs import output_error, writing
from puma.runfolder import RunFolder
from puma.runfolder.hardware import HARDWARE_SCHEMA, HardwareReport
from puma.runfolder.ledger import judge_ledger
from puma.runfolder.manifest import MANIFEST_SCHEMA, Manifest
from puma.runfolder.metadata import metadata_bytes, read_metadata, write_metadata
from puma.runner.audit import raise_if_broken, require_finished, verify_run_ledger
from puma.submission.cells import RUN_FOLDER, check_device_tag, check_handle
from puma.submission.narrative import narrative_text
from puma.submission.privacy import KINDS, refuse_on_findings, scan_folder

# The five files, in the order run.md and `validate` name them.
CONTRIBUTOR_FILES = (
    RunFolder.MANIFEST,
    RunFolder.HARDWARE,
    RunFolder.LEDGER,
    RunFolder.METADATA,
    RunFolder.NARRATIVE,
)
COPIED_FILES = (RunFolder.HARDWARE, RunFolder.LEDGER)  # byte for byte; the manifest is blanked
# The manifest's fields that name this machine or its folders, which the privacy scan would
# refuse: the contributor folder's copy has the host name empty and the spec as its file name.
IDENTITY_FIELDS = ("hostname", "spec_path")
DEFAULT_ROOT = Path("submissions")
# The headings run.md must keep: `validate` checks them, a contributor adds text beneath them.
NARRATIVE_SECTIONS = (
    "## Headline numbers",
    "## Deviations",
    "## Caveats",
    "## Privacy attestation",
    "## Reproduce",
)
MAX_NARRATIVE_BYTES = 256 * 1024
ModelT = TypeVar("ModelT", bound=BaseModel)


# --- the privacy scan ---------------------------------------------------------------------------


def privacy_checks() -> tuple[str, ...]:
    """The kinds of private value the scan looks for, for run.md's attestation (the kinds only:
    a detector's description quotes examples, which the scan would then find in run.md)."""
    return tuple(str(kind) for kind in KINDS)


def refuse_private_values(folder: Path, what: str) -> None:
    """Scan `folder`; on any finding, CheckFailed (exit 1) listing each as file:line:column and
    kind (the scan's own refusal)."""
    refuse_on_findings(folder, list(scan_folder(folder)), what)


# --- the path convention ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributorPath:
    """What a contributor folder's path says: `<handle>/<device-tag>/run-<uuid>`."""

    handle: str
    device_tag: str
    run_id: str

    @property
    def relative(self) -> Path:
        return Path(self.handle) / self.device_tag / f"run-{self.run_id}"

    @classmethod
    def of(cls, folder: Path) -> ContributorPath:
        """Parse a folder's last three names; CheckFailed naming what does not fit."""
        folder = Path(os.path.abspath(folder))
        run, tag, handle = folder.name, folder.parent.name, folder.parent.parent.name
        problems = []
        if not RUN_FOLDER.fullmatch(run):
            problems.append(f"the folder name {run!r} is not run-<uuid> (lower-case hex)")
        for value, check in ((handle, check_handle), (tag, check_device_tag)):
            try:
                check(value)
            except InputFileError as exc:
                problems.append(exc.message)
        if problems:
            raise CheckFailed(
                "not a contributor folder path: " + "; ".join(problems),
                where=str(folder),
                hint="a contributor folder is submissions/<handle>/<device-tag>/run-<uuid>/, "
                "as `puma submission prepare` writes it",
            )
        return cls(handle, tag, run.removeprefix("run-"))


# --- prepare ------------------------------------------------------------------------------------


def prepare_contributor_folder(
    run_dir: Path,
    root: Path = DEFAULT_ROOT,
    handle: str = "",
    device_tag: str | None = None,
) -> Path:
    """Write `root/<handle>/<device-tag>/run-<uuid>/` from a finished run folder; returns it.

    The run's ledger must verify (chain and seal) and the run must have finished; the device tag
    defaults to hardware.json's suggestion, then to the manifest's. The folder is written whole
    or not at all, never over an existing one, and only once the privacy scan finds nothing."""
    check_handle(handle)
    checks = privacy_checks()  # before any work: no folder leaves without the scan
    source = RunFolder.open(run_dir)
    manifest = Manifest.load(source)
    require_finished(verify_run_ledger(source), source, "not prepared")
    if not source.hardware.is_file():
        raise InputFileError(
            "hardware.json is missing: a contributor folder needs the machine's description",
            where=str(source.hardware),
            hint="runs made by PUMA 5 write it at run start; make a new run",
        )
    hardware = _read_model(source.hardware, HardwareReport, "hardware.json")
    tag = check_device_tag(device_tag or _suggested_tag(hardware, manifest))
    target = Path(root) / handle / tag / f"run-{manifest.run_id}"
    # One run, one folder: under this device tag or any other.
    earlier = sorted((Path(root) / handle).glob(f"*/{target.name}"))
    if target.exists() or earlier:
        raise OutputWriteError(
            "this run was already prepared: a contributor folder is never written over",
            where=str(earlier[0] if earlier else target),
            hint="a re-run makes a new run folder (a new run-<uuid>); prepare that one",
        )
    with writing(target.parent, "create the contributor folder"):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with writing(staging, "write the contributor folder"):
            for name in COPIED_FILES:
                shutil.copyfile(source.root / name, staging / name)
            contributor_manifest(manifest).save(RunFolder(staging))
        metadata = aggregate_run(staging, device_tag=tag)
        write_metadata(metadata, staging / RunFolder.METADATA)
        narrative = narrative_text(manifest, metadata, tag, checks)
        with writing(staging / RunFolder.NARRATIVE):
            (staging / RunFolder.NARRATIVE).write_text(narrative, encoding="utf-8", newline="\n")
        refuse_private_values(staging, "the contributor folder")
        _publish_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def contributor_manifest(manifest: Manifest) -> Manifest:
    """The run's manifest as a contributor folder holds it: every field as the run wrote it
    except IDENTITY_FIELDS (host name "", spec_path its file name only)."""
    spec_path = manifest.spec_path
    if spec_path is not None:
        spec_path = PurePath(spec_path.replace("\\", "/")).name
    return manifest.model_copy(update={"hostname": "", "spec_path": spec_path})


def _suggested_tag(hardware: BaseModel, manifest: Manifest) -> str:
    suggestion = getattr(hardware, "device_tag_suggestion", None)
    for candidate in (suggestion, manifest.device_tag):
        if isinstance(candidate, str) and candidate and candidate != "auto":
            return candidate
    raise InputFileError(
        "no device tag: hardware.json suggests none and the manifest records none",
        hint="give one with --device-tag, e.g. rtx-4090-pc or mac-m1-8gb",
    )


def _publish_folder(staging: Path, target: Path) -> None:
    """Rename the whole staging folder into place; an existing target is never replaced."""
    with writing(staging, "sync the contributor folder"):
        for name in CONTRIBUTOR_FILES:
            fd = os.open(staging / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    if target.exists():  # rename() would replace an empty folder in the way
        raise OutputWriteError("a folder appeared in the way", where=str(target))
    try:
        os.rename(staging, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise OutputWriteError(
                "this run was already prepared: a contributor folder is never written over",
                where=str(target),
            ) from None
        raise output_error(exc, target, "create the contributor folder") from exc


# --- validate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributorReport:
    """A contributor folder that verifies: what it is, and what was checked."""

    folder: Path
    path: ContributorPath
    model: str
    ledger_lines: int
    ledger_head: str
    seal: str  # "sealed" (manifest.json records the head) or "older" (a PUMA before the seal)
    metadata_rows: int
    checks: tuple[str, ...]


def validate_contributor_folder(folder: Path) -> ContributorReport:
    """Check the convention (path, names, exactly the five files), each file against its model,
    the ledger's chain and seal, and that metadata.json is what the ledger gives.

    InputFileError (exit 2) when the folder or a file cannot be read or parsed (bad JSON, an
    unknown schema version); CheckFailed (exit 1) when it reads but does not verify."""
    folder = Path(folder)
    try:
        is_dir = folder.is_dir()
    except OSError as exc:
        raise InputFileError(f"cannot open: {exc.strerror}", where=str(folder)) from None
    if not is_dir:
        raise InputFileError("no such folder", where=str(folder))
    if not any((folder / name).exists() for name in CONTRIBUTOR_FILES):
        # Another kind of folder altogether (a package's, a run's parent): the wrong input, not
        # a contributor folder that fails a check.
        raise InputFileError(
            f"not a contributor folder: it holds none of {', '.join(CONTRIBUTOR_FILES)}",
            where=str(folder),
            hint="give a folder `puma submission prepare` wrote, or a package's <id>.json",
        )
    path = ContributorPath.of(folder)
    _check_file_set(folder)

    run = RunFolder(folder)
    manifest = _read_model(run.manifest, Manifest, "manifest.json", MANIFEST_SCHEMA)
    if manifest.run_id != path.run_id:
        raise CheckFailed(
            f"the folder is named for run {path.run_id} but manifest.json is run {manifest.run_id}",
            where=str(run.manifest),
            hint="each run has its own run-<uuid> folder; prepare it again from its run folder",
        )
    _check_manifest_identity(run, manifest)
    _read_model(run.hardware, HardwareReport, "hardware.json", HARDWARE_SCHEMA)
    verdict = judge_ledger(run.ledger, manifest.ledger_seal)
    raise_if_broken(verdict, run, "does not verify")
    if not verdict.finished:  # prepare copies finished runs only: the seal was removed since
        raise CheckFailed(
            f"does not verify: the ledger is {verdict.message}",
            where=str(run.ledger),
            hint="prepare the folder again from its run folder",
        )
    metadata_rows = _check_metadata(folder, path.device_tag)
    _check_narrative(run.narrative)
    return ContributorReport(
        folder=folder,
        path=path,
        model=", ".join(m.name for m in manifest.models),
        ledger_lines=verdict.report.lines,
        ledger_head=verdict.report.last_hash or "",
        seal=verdict.state,
        metadata_rows=metadata_rows,
        checks=(
            "path is <handle>/<device-tag>/run-<uuid>",
            "exactly the five files",
            "manifest.json is manifest-1.0 of this run, host name and spec folder blanked",
            "hardware.json is hardware-1.0",
            f"run.jsonl chain intact, {verdict.message}",
            "metadata.json is what the ledger gives (recomputed)",
            "run.md has its sections",
        ),
    )


def _check_manifest_identity(run: RunFolder, manifest: Manifest) -> None:
    """manifest.json is exactly what prepare writes: the run's manifest with IDENTITY_FIELDS
    blanked, in the run folder's own serialisation (any other edit shows as other bytes)."""
    blanked = contributor_manifest(manifest)
    if blanked != manifest:
        changed = [f for f in IDENTITY_FIELDS if getattr(blanked, f) != getattr(manifest, f)]
        raise CheckFailed(
            f"manifest.json names this machine ({', '.join(changed)}): a contributor folder "
            "holds the host name empty and the spec as its file name only",
            where=str(run.manifest),
            hint="prepare the folder again with `puma submission prepare`",
        )
    if manifest.text().encode("utf-8") != _read_bytes(run.manifest):
        raise CheckFailed(
            "manifest.json is not as `prepare` writes it (edited, or reformatted)",
            where=str(run.manifest),
            hint="prepare the folder again from its run folder",
        )


def _check_file_set(folder: Path) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise InputFileError(f"cannot list: {exc.strerror}", where=str(folder)) from None
    names = {p.name for p in entries}
    problems = []
    missing = [n for n in CONTRIBUTOR_FILES if n not in names]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    extra = sorted(names - set(CONTRIBUTOR_FILES))
    if extra:
        problems.append(f"files that do not belong: {', '.join(extra)}")
    not_files = [p.name for p in entries if p.name in CONTRIBUTOR_FILES and not p.is_file()]
    if not_files:
        problems.append(f"not plain files: {', '.join(not_files)}")
    if problems:
        raise CheckFailed(
            "the folder does not hold exactly the five files: " + "; ".join(problems),
            where=str(folder),
            hint=f"a contributor folder holds {', '.join(CONTRIBUTOR_FILES)} and nothing else",
        )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _read_model(path: Path, model: type[ModelT], label: str, schema: str | None = None) -> ModelT:
    """A JSON file as its model; InputFileError (exit 2) for bad JSON, another schema version, or
    a field that does not fit, naming the field."""
    data = parse_json(_read_bytes(path), path)
    if schema is not None and isinstance(data, dict) and data.get("schema_version") != schema:
        raise InputFileError(
            f"{label} has schema_version {data.get('schema_version')!r}; this PUMA reads "
            f"{schema!r}",
            where=str(path),
            hint="prepare the folder again with this PUMA",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or label
        raise InputFileError(f"{label}: {field}: {error['msg']}", where=str(path)) from None


def _check_metadata(folder: Path, device_tag: str) -> int:
    """metadata.json must read as metadata-1.0 and be, byte for byte, what aggregate_run gives
    for this folder's ledger; returns its number of (cell, phase) rows."""
    path = folder / RunFolder.METADATA
    stored = read_metadata(path)
    expected = aggregate_run(folder, device_tag=device_tag)
    if metadata_bytes(expected) != _read_bytes(path):
        where, stored_value, expected_value = _first_difference(
            json.loads(_read_bytes(path)), expected.model_dump(mode="json")
        )
        raise CheckFailed(
            f"metadata.json is not what the ledger gives: at {where or 'the top'} it says "
            f"{_short(stored_value)}, recomputed from run.jsonl {_short(expected_value)}",
            where=str(path),
            hint="metadata.json is computed, never edited: prepare the folder again",
        )
    return len(stored.aggregates)


def _first_difference(a: Any, b: Any, where: str = "") -> tuple[str, Any, Any]:
    """The first path (`aggregates[2].n_calls`) where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, _MISSING) != b.get(key, _MISSING):
                return _first_difference(
                    a.get(key, _MISSING), b.get(key, _MISSING), f"{where}.{key}".lstrip(".")
                )
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
        if len(a) != len(b):
            return f"{where} (length)", len(a), len(b)
    return where, a, b


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _check_narrative(path: Path) -> None:
    raw = _read_bytes(path)
    if len(raw) > MAX_NARRATIVE_BYTES:
        raise CheckFailed(
            f"run.md is {len(raw)} bytes; at most {MAX_NARRATIVE_BYTES}", where=str(path)
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"run.md is not UTF-8 (offset {exc.start})", where=str(path)) from None
    lines = {line.rstrip() for line in text.splitlines()}
    missing = [s for s in NARRATIVE_SECTIONS if s not in lines]
    if missing:
        raise CheckFailed(
            f"run.md lacks the section(s) {', '.join(repr(s) for s in missing)}",
            where=str(path),
            hint="keep the headings `prepare` wrote; add your text beneath them",
        )
