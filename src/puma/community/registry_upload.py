"""Sending a package or a contributor folder to a PUMA registry.

    POST <PUMA_REGISTRY_URL>/api/v1/submissions     Authorization: Bearer <PUMA_REGISTRY_TOKEN>
    {"kind": "package", "files": {"submission": TEXT, "predictions": TEXT, "provenance": TEXT}}
    {"kind": "contributor-folder", "handle": H, "device_tag": T, "run": "run-<uuid>",
     "files": {"manifest.json": TEXT, "hardware.json": ..., "run.jsonl": ..., "metadata.json": ...,
               "run.md": ...}}
    201 (stored) or 200 (this exact upload was stored before): {"submission_id" or "id": ID,
    "status": "accepted", ...}; a rejection: 4xx {"error": {"check": NAME, "message": TEXT}}.

A rejection is CheckFailed (exit 1) naming the registry's check; no answer, or a 5xx, is
RemoteUnavailable (exit 4). The registry's side is docs/commands/registry.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from puma.community.http import request
from puma.community.publish import CONTRIBUTOR_FILES, Prepared, PublishOutcome
from puma.errors import CheckFailed, InputFileError, RemoteUnavailable

SUBMISSIONS_PATH = "/api/v1/submissions"


def upload_body(prepared: Prepared) -> dict[str, Any]:
    folder = prepared.folder
    if prepared.kind == "contributor-folder":
        return {
            "kind": "contributor-folder",
            "handle": prepared.facts["handle"],
            "device_tag": prepared.facts["device_tag"],
            "run": prepared.facts["run"],
            "files": {name: _text(folder / name) for name in CONTRIBUTOR_FILES},
        }
    (submission,) = [
        p
        for p in folder.glob("*.json")
        if p.with_name(p.name.removesuffix(".json") + ".predictions.jsonl").is_file()
    ]
    stem = submission.name.removesuffix(".json")
    files = {
        "submission": _text(submission),
        "predictions": _text(folder / f"{stem}.predictions.jsonl"),
    }
    provenance = folder / f"{stem}.provenance.jsonld"
    if provenance.is_file():
        files["provenance"] = _text(provenance)
    return {"kind": "package", "files": files}


def _text(path: Any) -> str:
    try:
        text: str = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read: {exc}", where=str(path)) from exc
    return text


def upload_to_registry(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    base = env["PUMA_REGISTRY_URL"].rstrip("/")
    url = base if base.endswith(SUBMISSIONS_PATH) else base + SUBMISSIONS_PATH
    token = env.get("PUMA_REGISTRY_TOKEN")
    if not token:
        raise InputFileError(
            "the registry needs an API token: PUMA_REGISTRY_TOKEN is not set",
            hint="ask the registry's maintainer for one (`puma registry token create`)",
        )
    response = request("POST", url, service="the registry", token=token, json=upload_body(prepared))
    try:
        body = response.json()
    except ValueError:
        body = None
    if 400 <= response.status_code < 500:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            check, text = error.get("check", "?"), error.get("message", "")
            raise CheckFailed(
                f"the registry rejected the upload (HTTP {response.status_code}, check "
                f"{check}): {text}"
            )
        raise CheckFailed(f"the registry rejected the upload (HTTP {response.status_code})")
    if response.status_code not in (200, 201) or not isinstance(body, dict):
        raise RemoteUnavailable(f"the registry answered HTTP {response.status_code}")
    submission_id = body.get("submission_id", body.get("id"))
    if not isinstance(submission_id, str) or body.get("status") != "accepted":
        raise RemoteUnavailable("the registry's answer has no submission id or is not accepted")
    return PublishOutcome(
        "registry",
        submission_id,
        f"{base}/api/v1/submissions/{submission_id}",
        {"status": body["status"], "stored_before": response.status_code == 200},
    )
