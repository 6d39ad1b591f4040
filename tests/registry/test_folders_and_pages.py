"""Contributor folders on the wire (their checks are puma.submission.contributor's, reached
through one import), and the HTML pages, which never show an upload's text unescaped."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from puma.catalogue import BrokenFolder, build_leaderboard, read_contributor_folder
from puma.errors import CheckFailed, InputFileError
from puma.registry import intake
from registry.conftest import REPO_ROOT, Package, Registry

RUN = f"run-{uuid.UUID(int=7)}"
METADATA = {
    "schema_version": "metadata-1.0",
    "aggregates": [{"cell_id": "rtx-4090-pc/meta-llama/Llama-3-8B", "phase": "speed"}],
}


def folder_upload(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "contributor-folder",
        "handle": "ada-l",
        "device_tag": "rtx-4090-pc",
        "run": RUN,
        "files": {
            "manifest.json": "{}",
            "hardware.json": "{}",
            "run.jsonl": "",
            "metadata.json": json.dumps(METADATA),
            "run.md": "# Run\n<script>alert('run.md')</script>\n",
        },
    }
    body.update(changes)
    return body


class RecordingValidator:
    """Stands in for validate_contributor_folder: records the folder it was shown."""

    def __init__(self, error: Exception | None = None):
        self.error = error
        self.seen: list[tuple[Path, dict[str, str]]] = []

    def __call__(self, folder: Path) -> object:
        self.seen.append((folder, {p.name: p.read_text() for p in folder.iterdir()}))
        if self.error is not None:
            raise self.error
        return object()


@pytest.fixture
def validator(monkeypatch: pytest.MonkeyPatch) -> RecordingValidator:
    recording = RecordingValidator()
    monkeypatch.setattr(intake, "contributor_validator", lambda: recording)
    return recording


def error_of(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["check"], error["message"]


def test_a_folder_is_checked_in_its_conventional_place_and_accepted(
    registry: Registry, validator: RecordingValidator
):
    response = registry.upload(folder_upload())
    assert response.status_code == 201, response.text
    folder, files = validator.seen[0]
    assert folder.parts[-4:] == ("submissions", "ada-l", "rtx-4090-pc", RUN)
    assert set(files) == set(intake.FOLDER_FILES)
    view = response.json()
    assert view["submission_id"] == RUN.removeprefix("run-")
    assert view["kind"] == "contributor-folder"
    assert view["record"]["metadata"] == METADATA
    board = registry.client.get("/api/v1/leaderboard").json()
    assert board[0]["model"] == "meta-llama/Llama-3-8B" and board[0]["who"] == "ada-l"
    assert registry.upload(folder_upload()).status_code == 200


@pytest.mark.parametrize(
    "error",
    [CheckFailed("run.jsonl:3: the chain is broken"), InputFileError("hardware.json: not JSON")],
)
def test_a_folder_the_validator_refuses_is_a_422_with_its_message(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, error: Exception
):
    monkeypatch.setattr(intake, "contributor_validator", lambda: RecordingValidator(error))
    status, check, message = error_of(registry.upload(folder_upload()))
    assert (status, check) == (422, "contributor-folder") and str(error) in message
    assert registry.log() == []


def test_metadata_with_an_unpaired_surrogate_is_refused_not_a_crash(
    registry: Registry, validator: RecordingValidator
):
    body = folder_upload()
    body["files"]["metadata.json"] = '{"cells": [{"cell_id": "rtx-4090-pc/\\ud800"}]}'
    status, check, message = error_of(registry.upload(body))
    assert (status, check) == (422, "contributor-folder") and "surrogate" in message


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"handle": "Ada L"}, "handle"),
        ({"device_tag": "../etc"}, "device-tag"),
        ({"run": "run-1"}, "folder-name"),
        ({"run": "../../x"}, "folder-name"),
    ],
)
def test_folder_names_are_checked_before_anything_is_written(
    registry: Registry, validator: RecordingValidator, changes: dict[str, Any], check: str
):
    assert error_of(registry.upload(folder_upload(**changes)))[:2] == (422, check)
    assert validator.seen == []


def test_a_folder_must_hold_exactly_the_five_files(
    registry: Registry, validator: RecordingValidator
):
    body = folder_upload()
    del body["files"]["run.md"]
    assert error_of(registry.upload(body))[:2] == (422, "request")
    body = folder_upload()
    body["files"]["notes.txt"] = "x"
    assert error_of(registry.upload(body))[:2] == (422, "request")


def test_without_the_contributor_module_a_folder_is_refused_saying_so(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(intake, "contributor_validator", lambda: None)
    status, check, message = error_of(registry.upload(folder_upload()))
    assert (status, check) == (422, "contributor-folder")
    assert "send a submission package instead" in message


def test_the_contributors_own_example_folder_is_accepted(registry: Registry):
    runs = sorted(
        p for p in (REPO_ROOT / "submissions").glob("**/run-*") if (p / "run.jsonl").is_file()
    )
    if not runs:
        pytest.skip("no contributor folder under submissions/ to upload")
    run = runs[0]
    body = folder_upload(
        handle=run.parent.parent.name,
        device_tag=run.parent.name,
        run=run.name,
        files={name: (run / name).read_text(encoding="utf-8") for name in intake.FOLDER_FILES},
    )
    response = registry.upload(body)
    assert response.status_code == 201, response.text


# --- pages ---------------------------------------------------------------------------------------


def test_the_pages_escape_everything_an_upload_holds(
    registry: Registry, package: Package, validator: RecordingValidator
):
    hostile = package.edited(
        lambda d: d["run_metadata"].update(model="<script>alert('model')</script>")
    )
    assert registry.upload(hostile.wire()).status_code == 201
    assert registry.upload(folder_upload()).status_code == 201
    pages = [
        registry.client.get("/"),
        registry.client.get(f"/runs/{package.submission_id}"),
        registry.client.get(f"/runs/{RUN.removeprefix('run-')}"),
    ]
    for page in pages:
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<script>alert" not in page.text  # the index's one script is the catalogue's own
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "&lt;script&gt;alert(&#39;model&#39;)&lt;/script&gt;" in pages[0].text
    assert "&lt;script&gt;alert(&#39;run.md&#39;)" in pages[2].text


def test_the_leaderboard_page_shows_the_log_head_and_links_each_run(
    registry: Registry, package: Package
):
    assert registry.upload(package.wire()).status_code == 201
    page = registry.client.get("/").text
    assert registry.log()[-1]["hash"] in page
    assert f'href="/runs/{package.submission_id}"' in page
    missing = registry.client.get(f"/runs/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["check"] == "not-found"


def test_the_catalogue_json_is_the_board_the_catalogue_makes_of_the_same_folder_on_disk(
    registry: Registry,
):
    runs = sorted(
        p for p in (REPO_ROOT / "submissions").glob("**/run-*") if (p / "run.jsonl").is_file()
    )
    if not runs:
        pytest.skip("no contributor folder under submissions/ to upload")
    run = runs[0]
    empty = registry.client.get("/api/v1/catalogue").json()
    assert empty["leaderboard"]["cells"] == [] and empty["leaderboard"]["runs"] == 0
    body = folder_upload(
        handle=run.parent.parent.name,
        device_tag=run.parent.name,
        run=run.name,
        files={name: (run / name).read_text(encoding="utf-8") for name in intake.FOLDER_FILES},
    )
    assert registry.upload(body).status_code == 201
    served = registry.client.get("/api/v1/catalogue").json()
    assert served["log_head"]["hash"] == registry.log()[-1]["hash"]
    assert served["broken"] == []

    graded = read_contributor_folder(run)
    assert not isinstance(graded, BrokenFolder)
    on_disk = build_leaderboard([graded]).model_dump(mode="json")
    assert served["leaderboard"] == on_disk
    assert served["leaderboard"]["schema_version"] == "leaderboard-1.0"
    assert any(
        link["run_id"] == graded.run_id
        for cell in served["leaderboard"]["cells"]
        for link in cell["run_links"]
    )


def test_each_folder_is_graded_once_however_often_the_log_changes(
    registry: Registry, validator: RecordingValidator, monkeypatch: pytest.MonkeyPatch
):
    """Grading a folder (writing its files out, reading its ledger) is the costly part of a
    page; a stored folder never changes, so a new entry grades only the new folder, and a
    withdrawal grades nothing."""
    from puma.registry import leaderboard

    graded: list[str] = []

    def counting(folder: Path) -> Any:
        graded.append(folder.name)
        return read_contributor_folder(folder)

    monkeypatch.setattr(leaderboard, "read_contributor_folder", counting)
    second = f"run-{uuid.uuid4()}"
    assert registry.upload(folder_upload()).status_code == 201
    assert registry.client.get("/api/v1/catalogue").status_code == 200
    assert registry.client.get("/").status_code == 200  # the same log head: graded already
    assert graded == [RUN]
    assert registry.upload(folder_upload(run=second)).status_code == 201
    served = registry.client.get("/api/v1/catalogue").json()
    assert graded == [RUN, second]
    assert {b["folder"].rsplit("/", 1)[-1] for b in served["broken"]} == {RUN, second}

    withdrawn = registry.client.post(
        f"/api/v1/submissions/{RUN.removeprefix('run-')}/withdraw", headers=registry.headers()
    )
    assert withdrawn.status_code == 200
    served = registry.client.get("/api/v1/catalogue").json()
    assert graded == [RUN, second]  # nothing graded again
    assert [b["folder"].rsplit("/", 1)[-1] for b in served["broken"]] == [second]
