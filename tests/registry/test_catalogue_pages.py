"""The registry serves the catalogue's pages live: contributor folders made by `puma submission
prepare`, uploaded to a real registry (uvicorn on loopback), graded by the catalogue's own code
from the files the registry stored, and a log that `puma catalogue verify-log` checks by URL and
as a saved file (an edited entry fails, exit 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from contributor_folders import folder, write_folder
from puma.registry.intake import FOLDER_FILES
from puma.submission.contributor import prepare_contributor_folder
from registry.conftest import REPO_ROOT, LiveServer


def prepared(tmp_path: Path, handle: str, seed: int) -> Path:
    """A contributor folder made by prepare from a (synthetic, sealed) run of qwen2.5:7b on an
    RTX 4090."""
    spec = folder(handle, seed)
    run = write_folder(tmp_path / "runs" / handle, spec)
    return prepare_contributor_folder(run, tmp_path / "submissions", handle, run.parent.name)


def upload_body(made: Path) -> dict[str, Any]:
    return {
        "kind": "contributor-folder",
        "handle": made.parent.parent.name,
        "device_tag": made.parent.name,
        "run": made.name,
        "files": {name: (made / name).read_text(encoding="utf-8") for name in FOLDER_FILES},
    }


def verify_log(source: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puma.cli.app", "catalogue", "verify-log", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
    )


def test_two_prepared_folders_show_as_one_cell_and_the_log_verifies(
    live_registry: LiveServer, tmp_path: Path
) -> None:
    made = [prepared(tmp_path, "ada-l", 1), prepared(tmp_path, "bo-k", 2)]
    token = live_registry.token()
    with httpx.Client(base_url=live_registry.url, timeout=60) as client:
        for each in made:
            response = client.post(
                "/api/v1/submissions",
                json=upload_body(each),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.text
        index = client.get("/")
        run_id = made[0].name.removeprefix("run-")
        run_page = client.get(f"/runs/{run_id}")
        log = client.get("/api/v1/log").json()
    # The catalogue's page, rendered live: one cell, two runs by two contributors.
    assert index.status_code == 200
    cell = f"{made[0].parent.name}/"
    assert cell in index.text and "qwen2.5:7b" in index.text
    assert f'href="/runs/{run_id}"' in index.text
    assert "script-src 'sha256-" in index.headers["Content-Security-Policy"]
    assert "Submission packages" in index.text and log[-1]["hash"] in index.text
    # The run's page is the catalogue's (its grade), with run.md rendered.
    assert run_page.status_code == 200
    assert any(g in run_page.text for g in ("flagship", "standard", "archive-only"))
    # The public log verifies by URL and as a saved file; an edited entry does not.
    done = verify_log(live_registry.url)
    assert done.returncode == 0, done.stdout + done.stderr
    saved = tmp_path / "log.json"
    saved.write_text(json.dumps(log))
    assert verify_log(saved).returncode == 0
    log[0]["record"]["handle"] = "mallory"
    saved.write_text(json.dumps(log))
    edited = verify_log(saved)
    assert edited.returncode == 1, edited.stdout + edited.stderr
