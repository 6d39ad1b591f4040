"""Submissions folders for the catalogue's tests, made by tests/contributor_folders.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from contributor_folders import add_demo_run, folder, varied, write_folder


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A submissions folder: 40 varied synthetic runs, a cell reproduced by several contributors
    with one outlier run, and the real demo run."""
    root = tmp_path_factory.mktemp("crowd") / "submissions"
    root.mkdir()
    for spec in varied(40, seed=7):
        write_folder(root, spec)
    for i, handle in enumerate(("ada-lab", "bo-home", "cy-dev", "dee-ai", "eli-lab")):
        write_folder(root, folder(handle, 900 + i))
    write_folder(root, folder("fay-home", 950, speed_factor=0.15))  # a slow outlier
    add_demo_run(root)
    return root
