"""The local history: what share-results and publish sent, read back by `community status`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from puma.community.history import history_path, last_submission, record_submission


@pytest.fixture(autouse=True)
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(folder))
    return folder


def test_no_history_means_no_last_submission() -> None:
    assert last_submission() is None


def test_the_last_recorded_entry_is_the_last_submission(config: Path) -> None:
    record_submission("package", "id-1", "/tmp/share")
    record_submission("publish:discord", "id-2", "Discord webhook")
    last = last_submission()
    assert last is not None
    assert (last.kind, last.identifier, last.where) == (
        "publish:discord",
        "id-2",
        "Discord webhook",
    )
    assert last.ts.endswith("Z")
    assert len(history_path().read_text().splitlines()) == 2
    # The folder also holds credentials: only its owner may enter it.
    assert oct(config.stat().st_mode & 0o777) == "0o700"
    assert oct(history_path().stat().st_mode & 0o777) == "0o600"


def test_an_unreadable_line_is_skipped_not_fatal() -> None:
    record_submission("package", "id-1", "/tmp/share")
    with history_path().open("a") as handle:
        handle.write('{"cut short\n[1, 2]\n\xff\n')
    last = last_submission()
    assert last is not None and last.identifier == "id-1"


def test_a_history_that_cannot_be_written_does_not_fail_the_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(blocker / "puma"))
    assert record_submission("package", "id-1", "/tmp/share") is None
    assert os.path.isfile(blocker)
