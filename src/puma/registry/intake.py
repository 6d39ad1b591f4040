"""What an upload is on the wire, and the checks it must pass before the registry accepts it.

Two wire forms, both one JSON object (documented in docs/commands/registry.md):

    {"kind": "package", "files": {"submission": TEXT, "predictions": TEXT, "provenance": TEXT?}}
    {"kind": "contributor-folder", "handle": H, "device_tag": T, "run": "run-<uuid>",
     "files": {"manifest.json": TEXT, "hardware.json": TEXT, "run.jsonl": TEXT,
               "metadata.json": TEXT, "run.md": TEXT}}

A package is re-verified with puma.submission (schema, predictions hash, metrics re-scored against
the bundled suite); a folder with puma.submission.contributor. A failed check is an UploadRejected
naming the check, with the HTTP status the server answers.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from puma.errors import InputFileError, PumaError
from puma.hashing import sha256_json
from puma.jsonio import dumps_canonical
from puma.submission.cells import RUN_FOLDER, check_device_tag, check_handle
from puma.submission.package import SubmissionFiles

PACKAGE = "package"
FOLDER = "contributor-folder"
FOLDER_FILES = ("manifest.json", "hardware.json", "run.jsonl", "metadata.json", "run.md")
# The v1 metrics a leaderboard shows; f1_per_class and the confusion matrix stay in the package.
HEADLINE_METRICS = ("f1_macro", "accuracy", "mae", "mdae", "ece")


class UploadRejected(PumaError):
    """An upload (or a request) the registry refuses: `check` names what failed, `status` is
    the HTTP status answered."""

    def __init__(
        self, check: str, message: str, *, status: int = 422, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.check = check
        self.status = status
        self.headers = headers or {}


class PackageFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission: str = Field(description="`<id>.json` (schema v1) as `puma share-results` wrote")
    predictions: str = Field(description="`<id>.predictions.jsonl`, the predictions hashed")
    provenance: str | None = Field(
        default=None, description="`<id>.provenance.jsonld` (optional; names the suite)"
    )


class PackageUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["package"]
    files: PackageFiles


class FolderFiles(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    manifest: str = Field(alias="manifest.json")
    hardware: str = Field(alias="hardware.json")
    ledger: str = Field(alias="run.jsonl")
    metadata: str = Field(alias="metadata.json")
    run_md: str = Field(alias="run.md")


class FolderUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["contributor-folder"]
    handle: str = Field(max_length=64)
    device_tag: str = Field(max_length=64)
    run: str = Field(max_length=64, description="the folder's name, `run-<uuid>`")
    files: FolderFiles


Upload = Annotated[PackageUpload | FolderUpload, Field(discriminator="kind")]


@dataclass(frozen=True)
class Vetted:
    """An upload that passed every check: what the registry stores and logs."""

    submission_id: str
    kind: str
    content_sha256: str
    record: dict[str, Any]  # the log entry's record: what the leaderboard is computed from
    files: dict[str, bytes]


def identify(upload: PackageUpload | FolderUpload) -> tuple[str, str]:
    """(submission id, content digest): cheap, so a repeated upload is answered before the
    costly checks. The digest is the SHA-256 of the upload's canonical JSON: the same files give
    the same digest whatever the JSON's spacing or key order."""
    try:
        digest = sha256_json(upload.model_dump(mode="json", by_alias=True))
    except UnicodeEncodeError as exc:
        # JSON may escape half of a surrogate pair ("\ud800"); no file's UTF-8 can hold it.
        raise UploadRejected(
            "request",
            f"the upload holds an unpaired surrogate {exc.object[exc.start]!r}, which no UTF-8 "
            "file can",
            status=400,
        ) from None
    if isinstance(upload, FolderUpload):
        if not RUN_FOLDER.fullmatch(upload.run):
            raise UploadRejected(
                "folder-name", f"run {upload.run[:80]!r} is not a folder name run-<uuid>"
            )
        return upload.run.removeprefix("run-"), digest
    data = _submission_json(upload.files.submission)
    raw_id = data.get("submission_id")
    try:
        return str(uuid.UUID(str(raw_id))), digest
    except ValueError:
        raise UploadRejected(
            "schema", f"submission_id: {str(raw_id)[:80]!r} is not a UUID"
        ) from None


def vet(upload: PackageUpload | FolderUpload) -> Vetted:
    """Run every check on an upload; UploadRejected names the first that fails."""
    submission_id, digest = identify(upload)
    if isinstance(upload, FolderUpload):
        record, files = _vet_folder(upload)
    else:
        record, files = _vet_package(upload, submission_id)
    try:
        dumps_canonical(record).encode("utf-8")
    except UnicodeEncodeError:
        check = "contributor-folder" if isinstance(upload, FolderUpload) else "schema"
        raise UploadRejected(check, "a text field holds an unpaired surrogate") from None
    return Vetted(submission_id, upload.kind, digest, record, files)


def _submission_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UploadRejected("json", f"the submission is not JSON: {exc}", status=400) from None
    if not isinstance(data, dict):
        raise UploadRejected("json", "the submission is not a JSON object", status=400)
    return data


# --- a package -----------------------------------------------------------------------------------


def _vet_package(
    upload: PackageUpload, submission_id: str
) -> tuple[dict[str, Any], dict[str, bytes]]:
    from puma.submission.schema import submission_problems
    from puma.submission.verify import rescore_submission, verify_submission

    data = _submission_json(upload.files.submission)
    problems = submission_problems(data)
    if problems:
        listed = "; ".join(f"{p.where}: {p.message}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise UploadRejected("schema", listed + more)
    files = {
        f"{submission_id}.json": upload.files.submission.encode("utf-8"),
        f"{submission_id}.predictions.jsonl": upload.files.predictions.encode("utf-8"),
    }
    if upload.files.provenance is not None:
        files[f"{submission_id}.provenance.jsonld"] = upload.files.provenance.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="puma-registry-") as folder:
        paths = SubmissionFiles.in_folder(Path(folder), submission_id)
        for name, content in files.items():
            (Path(folder) / name).write_bytes(content)
        try:
            verification = verify_submission(paths.submission)
        except PumaError as exc:
            raise UploadRejected("predictions", _plain(exc, folder)) from None
        check = verification.check
        if not check.match:
            raise UploadRejected(
                "hash",
                f"the predictions hash to {check.computed}, the submission declares "
                f"{check.declared}: {verification.mismatch}",
            )
        declared_n = data["run_metadata"]["n_instances"]
        if declared_n != check.n_rows:
            raise UploadRejected(
                "predictions",
                f"the submission declares {declared_n} instances, the predictions hold "
                f"{check.n_rows} rows",
            )
        provenance = _provenance(upload.files.provenance)
        try:
            rescore = rescore_submission(data, paths.predictions, None, provenance, [])
        except PumaError as exc:
            raise UploadRejected("rescore", _plain(exc, folder)) from None
    if not rescore.ok:
        raise UploadRejected(
            "rescore",
            f"the declared metrics are not what the predictions give on suite {rescore.suite_id}: "
            + "; ".join(rescore.differences),
        )
    run = data["run_metadata"]
    record = {
        "submitter": data["submitter"]["name_or_alias"],
        "model": run["model"],
        "scenario": run["scenario"],
        "strategy": run["strategy"],
        "suite_id": rescore.suite_id,
        "n_instances": check.n_rows,
        "hardware_profile": data["hardware_profile"]["profile_id"],
        "puma_version": data["puma_version"],
        "predictions_hash": check.computed,
        # Declared and re-verified: the declared value where the predictions gave it back.
        "metrics": {
            name: rescore.computed[name]
            for name in HEADLINE_METRICS
            if data["metrics"].get(name) is not None and rescore.computed.get(name) is not None
        },
    }
    return record, files


def _provenance(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UploadRejected("provenance", "the provenance sidecar is not JSON") from None
    return data if isinstance(data, dict) else None


def _plain(exc: PumaError, folder: str) -> str:
    """An error's text without the temporary folder it was checked in."""
    return str(exc).replace(str(Path(folder)) + "/", "")


# --- a contributor folder ------------------------------------------------------------------------

FolderValidator = Callable[[Path], Any]


def contributor_validator() -> FolderValidator | None:
    """`puma.submission.contributor.validate_contributor_folder`, or None where it is not
    installed. The one import of the contributor-folder checks."""
    try:
        module = importlib.import_module("puma.submission.contributor")
    except ImportError:
        return None
    validator: FolderValidator = module.validate_contributor_folder
    return validator


def _vet_folder(upload: FolderUpload) -> tuple[dict[str, Any], dict[str, bytes]]:
    for check, value in (("handle", upload.handle), ("device-tag", upload.device_tag)):
        try:
            (check_handle if check == "handle" else check_device_tag)(value)
        except InputFileError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise UploadRejected(check, exc.message + hint) from None
    texts = upload.files.model_dump(by_alias=True)
    files = {name: texts[name].encode("utf-8") for name in FOLDER_FILES}
    validate = contributor_validator()
    if validate is None:
        raise UploadRejected(
            "contributor-folder",
            "this registry cannot verify contributor folders (puma.submission.contributor is "
            "not installed); send a submission package instead",
        )
    with tempfile.TemporaryDirectory(prefix="puma-registry-") as tmp:
        folder = Path(tmp, "submissions", upload.handle, upload.device_tag, upload.run)
        folder.mkdir(parents=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        try:
            validate(folder)
        except PumaError as exc:
            raise UploadRejected("contributor-folder", _plain(exc, tmp)) from None
    try:
        metadata = json.loads(texts["metadata.json"])
    except ValueError:  # the validator read it; a validator that did not is a bug to surface
        raise UploadRejected("contributor-folder", "metadata.json is not JSON") from None
    record = {
        "handle": upload.handle,
        "device_tag": upload.device_tag,
        "run": upload.run,
        "metadata": metadata,
    }
    return record, files
