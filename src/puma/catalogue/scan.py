"""Reading the submissions folder: every `<handle>/<device-tag>/run-<uuid>/` in a stable order,
each turned into a graded CatalogueRun from its own ledger, or into a BrokenFolder that says why.

Nothing in a folder is trusted: its figures are recomputed (puma.evaluate.metadata) and its
metadata.json is only compared with them. No folder, however malformed, stops the scan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from puma.catalogue.runs import CatalogueRun, catalogue_run
from puma.errors import InputFileError, PumaError
from puma.evaluate.metadata import aggregate_run
from puma.submission.cells import RUN_FOLDER, check_device_tag, check_handle

REQUIRED_FILES = ("manifest.json", "hardware.json", "run.jsonl")
FOLDER_FILES = (*REQUIRED_FILES, "metadata.json", "run.md")
# Top-level names that are not contributors: the contributor harness's synthetic example
# (submissions/EXAMPLE/, upper case so it can never be a handle) and hidden folders.
NOT_CONTRIBUTORS = frozenset({"EXAMPLE"})
# A link in a folder from a pull request could point anywhere on the machine that builds the
# catalogue, and a reason or a page could then show what it points at: links are not followed.
SYMLINK = "a symbolic link (links are not followed)"


class BrokenFolder(BaseModel):
    """A folder the catalogue could not grade, and why (listed on the site, never fatal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str  # relative to the submissions folder
    reason: str


def iter_run_folders(root: Path) -> Iterator[tuple[str, str, Path] | BrokenFolder]:
    """(handle, device tag, folder) of each run folder, sorted by path; a misplaced or misnamed
    entry is a BrokenFolder. Reads directory listings only, one folder at a time."""
    for handle_dir in _entries(root):
        if handle_dir.name.startswith(".") or handle_dir.name in NOT_CONTRIBUTORS:
            continue
        if handle_dir.is_symlink():
            yield BrokenFolder(folder=handle_dir.name, reason=SYMLINK)
            continue
        if not handle_dir.is_dir():
            continue  # overlay.yaml, a README: files beside the contributors
        problem = _name_problem(handle_dir.name, check_handle)
        if problem:
            yield BrokenFolder(folder=handle_dir.name, reason=problem)
            continue
        for tag_dir in _entries(handle_dir):
            where = f"{handle_dir.name}/{tag_dir.name}"
            if tag_dir.is_symlink():
                yield BrokenFolder(folder=where, reason=SYMLINK)
                continue
            if not tag_dir.is_dir():
                yield BrokenFolder(folder=where, reason="a file where a device-tag folder belongs")
                continue
            problem = _name_problem(tag_dir.name, check_device_tag)
            if problem:
                yield BrokenFolder(folder=where, reason=problem)
                continue
            for run_dir in _entries(tag_dir):
                here = f"{where}/{run_dir.name}"
                if run_dir.is_symlink():
                    yield BrokenFolder(folder=here, reason=SYMLINK)
                    continue
                if not run_dir.is_dir() or not RUN_FOLDER.fullmatch(run_dir.name):
                    yield BrokenFolder(
                        folder=here, reason="not a run folder (run-<uuid>, lower-case hex)"
                    )
                    continue
                yield handle_dir.name, tag_dir.name, run_dir


def _entries(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            return sorted((Path(e.path) for e in it), key=lambda p: p.name)
    except OSError:
        return []


def _name_problem(name: str, check: Any) -> str | None:
    try:
        check(name)
    except PumaError as exc:
        return exc.message
    return None


def read_run_folder(
    root: Path, handle: str, device_tag: str, folder: Path
) -> CatalogueRun | BrokenFolder:
    """Grade one run folder from its own files; a BrokenFolder for anything that stops it (a
    missing or malformed file, a ledger that does not verify, a name that does not match)."""
    relative = folder.relative_to(root).as_posix()
    try:
        return _read(root, handle, device_tag, folder, relative)
    except PumaError as exc:
        return BrokenFolder(folder=relative, reason=_reason(exc, folder))
    except Exception as exc:  # untrusted input must never stop the catalogue
        return BrokenFolder(folder=relative, reason=f"unreadable ({type(exc).__name__}: {exc})")


def read_contributor_folder(folder: Path) -> CatalogueRun | BrokenFolder:
    """One contributor folder (`<handle>/<device-tag>/run-<uuid>/`, wherever it lies) as the
    catalogue grades it: handle and device tag are its parents' names, as in a scan. The
    registry calls this for each accepted folder of its log."""
    folder = Path(folder)
    handle, tag = folder.parent.parent.name, folder.parent.name
    for name, check in ((handle, check_handle), (tag, check_device_tag)):
        problem = _name_problem(name, check)
        if problem is not None:
            return BrokenFolder(folder=f"{handle}/{tag}/{folder.name}", reason=problem)
    return read_run_folder(folder.parent.parent.parent, handle, tag, folder)


def _read(root: Path, handle: str, tag: str, folder: Path, relative: str) -> CatalogueRun:
    linked = [p.name for p in _entries(folder) if p.is_symlink()]
    if linked:
        raise InputFileError(f"{', '.join(linked)}: {SYMLINK}")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise InputFileError(f"missing {', '.join(missing)}")
    meta = aggregate_run(folder, device_tag=tag)
    named = folder.name.removeprefix("run-")
    if meta.run_id != named:
        raise InputFileError(f"the folder is run-{named} but manifest.json says run {meta.run_id}")
    flags = []
    metadata = folder / "metadata.json"
    if not metadata.is_file():
        flags.append("metadata.json is missing (figures recomputed from the ledger)")
    else:
        recorded = metadata.read_bytes()
        computed = meta.model_dump(mode="json")
        if _parsed(recorded) != computed:
            flags.append(
                "metadata.json disagrees with the ledger "
                f"({_first_difference(recorded, computed)}); "
                "the catalogue shows the ledger's figures"
            )
    if not (folder / "run.md").is_file():
        flags.append("run.md is missing")
    extra = sorted(p.name for p in _entries(folder) if p.name not in FOLDER_FILES)
    if extra:
        flags.append(f"unexpected file(s) in the folder: {', '.join(extra)}")
    return catalogue_run(meta, handle=handle, device_tag=tag, folder=relative, flags=flags)


def _parsed(recorded: bytes) -> Any:
    """metadata.json's content (its formatting is write_metadata's business, not a finding)."""
    try:
        return json.loads(recorded)
    except (ValueError, UnicodeDecodeError):
        return None


def _first_difference(recorded: bytes, computed: Any, path: str = "") -> str:
    """Where a metadata.json first differs from the recomputed document, e.g.
    `aggregates.0.quality.value.point`."""
    try:
        data = json.loads(recorded)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    return _diff(data, computed, path) or "formatting only"


def _diff(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}{key}"
            found = _diff(a[key], b[key], f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}length" if path else "length"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _diff(x, y, f"{path}{i}.")
            if found:
                return found
        return None
    return None if a == b else path.rstrip(".") or "(top level)"


def _reason(exc: PumaError, folder: Path) -> str:
    """The error's message with its place relative to the run folder (the build machine's paths
    are nobody's business)."""
    where = exc.where
    if where:
        prefix = str(folder).rstrip("/") + "/"
        where = where[len(prefix) :] if where.startswith(prefix) else Path(where).name
        return f"{where}: {exc.message}"
    return exc.message
