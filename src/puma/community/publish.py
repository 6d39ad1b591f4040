"""`puma community publish DIR --channel NAME`: validate, privacy-scan, then send.

DIR is a submission package (what `share-results` wrote), a contributor folder
(`submissions/<handle>/<device-tag>/run-<uuid>/`) or, for the mirrors, a catalogue folder (what
`puma catalogue build` wrote, with `data/*.parquet`). Nothing is sent unless the folder validates
and the privacy scan finds nothing; each send is recorded in the local history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from puma.community.channels import channel_named
from puma.community.history import record_submission
from puma.errors import InputFileError
from puma.jsonio import read_json

FolderKind = Literal["package", "contributor-folder", "catalogue"]
CONTRIBUTOR_FILES = ("manifest.json", "hardware.json", "run.jsonl", "metadata.json", "run.md")
# Notifications and the registry carry one result; mirrors carry the whole catalogue.
ACCEPTS: dict[str, tuple[FolderKind, ...]] = {
    "notification": ("package", "contributor-folder"),
    "registry": ("package", "contributor-folder"),
    "mirror": ("catalogue",),
}


@dataclass(frozen=True)
class Prepared:
    """A folder that validated and scanned clean, with what a message says about it."""

    kind: FolderKind
    folder: Path
    identifier: str  # submission id, run-<uuid>, or the catalogue folder's name
    summary: str  # one line for people: model, where, who, headline
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishOutcome:
    channel: str
    identifier: str
    where: str  # what the service answered: a URL, a deposition, a submission id
    details: dict[str, Any] = field(default_factory=dict)


def folder_kind(folder: Path) -> FolderKind:
    if not folder.is_dir():
        raise InputFileError("not a folder", where=str(folder))
    if (folder / "data").is_dir() and any((folder / "data").glob("*.parquet")):
        return "catalogue"
    if all((folder / name).is_file() for name in CONTRIBUTOR_FILES):
        return "contributor-folder"
    if _package_submission(folder) is not None:
        return "package"
    raise InputFileError(
        "neither a submission package, a contributor folder nor a catalogue folder",
        where=str(folder),
        hint="give the folder `puma share-results`, `puma submission prepare` or "
        "`puma catalogue build` wrote",
    )


def _package_submission(folder: Path) -> Path | None:
    found = [
        p
        for p in sorted(folder.glob("*.json"))
        if p.with_name(p.name.removesuffix(".json") + ".predictions.jsonl").is_file()
    ]
    if len(found) > 1:
        raise InputFileError(
            f"{len(found)} submissions in one folder: publish one at a time",
            where=str(folder),
        )
    return found[0] if found else None


def prepare(folder: Path) -> Prepared:
    """Validate `folder` for its kind and privacy-scan it; CheckFailed or InputFileError when
    it does not pass."""
    from puma.submission.privacy import refuse_on_findings, scan_folder

    folder = Path(folder)
    kind = folder_kind(folder)
    if kind == "package":
        prepared = _prepare_package(folder)
    elif kind == "contributor-folder":
        prepared = _prepare_contributor(folder)
    else:
        prepared = _prepare_catalogue(folder)
    refuse_on_findings(folder, scan_folder(folder), "nothing")
    return prepared


def _prepare_package(folder: Path) -> Prepared:
    from puma.submission.verify import verify_submission

    submission = _package_submission(folder)
    assert submission is not None  # folder_kind found it
    verify_submission(submission).raise_if_failed()
    data = read_json(submission)
    run = data.get("run_metadata", {})
    metrics = {k: v for k, v in data.get("metrics", {}).items() if isinstance(v, int | float)}
    headline = next(
        (f"{k} {metrics[k]:.3f}" for k in ("accuracy", "f1_macro", "mae") if k in metrics), ""
    )
    who = (data.get("submitter") or {}).get("name", "anonymous")
    summary = f"{run.get('model', '?')} on {run.get('scenario', '?')} by {who}"
    return Prepared(
        "package",
        folder,
        str(data.get("submission_id", submission.stem)),
        summary + (f": {headline}" if headline else ""),
        {"model": run.get("model"), "scenario": run.get("scenario"), "metrics": metrics},
    )


def _prepare_contributor(folder: Path) -> Prepared:
    try:
        # helper contrib's module; this is the one place that imports it.
        from puma.submission.contributor import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            validate_contributor_folder,
        )
    except ImportError as exc:
        raise InputFileError(
            "this PUMA cannot validate contributor folders yet", where=str(folder)
        ) from exc
    validate_contributor_folder(folder)
    manifest = read_json(folder / "manifest.json")
    models = ", ".join(str(m.get("name", "?")) for m in manifest.get("models", []))
    handle, device_tag = folder.parent.parent.name, folder.parent.name
    return Prepared(
        "contributor-folder",
        folder,
        folder.name,
        f"{models or '?'} on {device_tag} by {handle}",
        {"handle": handle, "device_tag": device_tag, "run": folder.name},
    )


def _prepare_catalogue(folder: Path) -> Prepared:
    import pyarrow.parquet as pq

    tables = sorted((folder / "data").glob("*.parquet"))
    rows = {}
    for path in tables:
        try:
            rows[path.name] = pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as exc:
            raise InputFileError(f"not a readable Parquet file: {exc}", where=str(path)) from exc
    counts = ", ".join(f"{name} {n} rows" for name, n in rows.items())
    return Prepared("catalogue", folder, folder.name, f"PUMA catalogue ({counts})", {"rows": rows})


def publish(folder: Path, channel: str, env: Mapping[str, str] | None = None) -> PublishOutcome:
    """Validate, scan and send `folder` to `channel`; record the send in the local history."""
    env = os.environ if env is None else env
    target = channel_named(channel)
    if not target.configured(env):
        raise InputFileError(
            f"{target.name} is not configured: {target.env_var} is not set",
            hint=f"set {target.env_var} (see `puma community channels`)",
        )
    kind = folder_kind(Path(folder))
    if kind not in ACCEPTS[target.kind]:
        wanted = " or ".join(ACCEPTS[target.kind])
        raise InputFileError(
            f"{target.name} takes a {wanted}, not a {kind}",
            where=str(folder),
        )
    prepared = prepare(Path(folder))
    outcome = target.send()(prepared, env)
    record_submission(f"publish:{target.slug}", outcome.identifier, outcome.where)
    return outcome
