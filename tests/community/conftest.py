"""Fixtures for the community tests: a local HTTP server per test, a real submission package,
and a PUMA folder of each test's own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from community_http import LocalServer, local_server
from puma.submission import Consents, build_submission

REPO = Path(__file__).resolve().parents[2]
DEMO_RUN = REPO / "tests" / "fixtures" / "demo-run"


@pytest.fixture(autouse=True)
def own_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test its own PUMA folder (history, credentials), so none sees another's sends."""
    folder = tmp_path / "puma-config"
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as state:
        yield state


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real submission package, built by share-results' own code from the stored demo run."""
    root = tmp_path_factory.mktemp("package")
    run = root / "run"
    shutil.copytree(DEMO_RUN, run)
    out = root / "share"
    build_submission(run, out, consents=Consents.all_given())
    return out


@pytest.fixture
def package_copy(package: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "share"
    shutil.copytree(package, folder)
    return folder
