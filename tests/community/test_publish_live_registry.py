"""`puma community publish DIR --channel registry` against a real registry (uvicorn on loopback,
SQLite): the prepared contributor folder is re-verified there, stored, logged, and shown on the
registry's leaderboard page."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contributor_folders import folder, write_folder
from puma.registry.settings import RegistrySettings
from puma.submission.contributor import prepare_contributor_folder
from registry.conftest import REPO_ROOT, LiveServer, start_server, stop_server

CHANNEL = ("--channel", "registry")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(RegistrySettings(database_url=f"sqlite:///{tmp_path / 'reg.db'}"))
    yield server
    stop_server(server)


def test_publish_sends_a_prepared_folder_that_the_registry_accepts_and_shows(
    live: LiveServer, tmp_path: Path
) -> None:
    run = write_folder(tmp_path / "runs", folder("ada-l", 3))
    made = prepare_contributor_folder(run, tmp_path / "submissions", "ada-l", run.parent.name)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "PUMA_CONFIG_DIR": str(tmp_path / "config"),
        "PUMA_REGISTRY_URL": live.url,
        "PUMA_REGISTRY_TOKEN": live.token(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "puma.cli.app", "community", "publish", str(made), *CHANNEL],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = made.name.removeprefix("run-")
    with httpx.Client(base_url=live.url, timeout=60) as client:
        stored = client.get(f"/api/v1/submissions/{run_id}").json()
        index = client.get("/").text
        log = client.get("/api/v1/log").json()
    assert stored["status"] == "accepted" and stored["kind"] == "contributor-folder"
    assert [entry["submission_id"] for entry in log] == [run_id]
    assert f'href="/runs/{run_id}"' in index and "qwen2.5:7b" in index
