"""`puma community status` and `channels`: local state only, exit 0, themed."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from puma.community import CHANNELS, collect_status, record_submission

REPO = Path(__file__).resolve().parents[2]
PUMA = REPO / ".venv" / "bin" / "puma"
CHANNEL_VARS = [c.env_var for c in CHANNELS]


def puma(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CHANNEL_VARS and k != "GITHUB_TOKEN"}
    # A proxy that does not exist: any network call would fail the command.
    base |= {
        "PYTHONPATH": str(REPO / "src"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [str(PUMA), *args], capture_output=True, text=True, timeout=120, env=base | (env or {})
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_the_five_channels_and_their_variables() -> None:
    assert [(c.name, c.kind, c.env_var) for c in CHANNELS] == [
        ("Hugging Face Datasets", "mirror", "HF_TOKEN"),
        ("Zenodo", "mirror", "ZENODO_TOKEN"),
        ("Kaggle", "mirror", "KAGGLE_KEY"),
        ("Discord", "notification", "DISCORD_WEBHOOK"),
        ("Telegram", "notification", "TELEGRAM_BOT_TOKEN"),
    ]


def test_channels_marks_those_whose_variable_is_set() -> None:
    result = puma("community", "channels", env={"ZENODO_TOKEN": "x", "DISCORD_WEBHOOK": "y"})
    assert result.returncode == 0
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "✓" in rows["Zenodo"] and "✓" in rows["Discord"]
    for name in ("Hugging Face Datasets", "Kaggle", "Telegram"):
        assert "—" in rows[name] and "✓" not in rows[name]


def test_status_when_nothing_is_set_up() -> None:
    result = puma("community", "status")
    assert result.returncode == 0
    assert "✗ not logged in (run `puma auth login`)" in result.stdout
    assert "none yet" in result.stdout
    assert "0/5 channels configured" in result.stdout


def test_status_shows_the_last_submission_and_configured_channels() -> None:
    record_submission("publish:discord", "fcdbc278", "Discord webhook")
    result = puma("community", "status", env={"HF_TOKEN": "x", "KAGGLE_KEY": "y"})
    assert result.returncode == 0
    assert "fcdbc278 → Discord webhook" in result.stdout
    assert "2/5 channels configured" in result.stdout


def test_status_reads_the_login_from_the_credentials_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # puma.credentials (helper probe's) reports where a token is: its TokenStatus.source.
    fake = types.ModuleType("puma.credentials")
    fake.token_status = lambda service: types.SimpleNamespace(source="keyring")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "puma.credentials", fake)
    status = collect_status(env={})
    assert status.authenticated and status.auth_detail == "keyring"
    fake.token_status = lambda service: types.SimpleNamespace(source=None)  # type: ignore[attr-defined]
    assert not collect_status(env={}).authenticated


@pytest.mark.parametrize("where", ["group", "command"])
def test_theme_plain_has_no_colour_and_auto_has_some(where: str) -> None:
    colour = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    args = (
        ["community", "--theme", "plain", "status"]
        if where == "group"
        else ["community", "status", "--theme", "plain"]
    )
    plain = puma(*args, env=colour)
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout
    assert "\x1b[" in puma("community", "status", env=colour).stdout
    assert puma("community", "status", "--theme", "neon").returncode == 2


def test_share_results_records_the_package_that_status_then_shows(tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(REPO / "tests" / "fixtures" / "demo-run", run)
    shared = puma("share-results", str(run), "--dry-run", "--out", str(tmp_path / "share"), "--yes")
    assert shared.returncode == 0, shared.stderr
    (submission,) = (tmp_path / "share").glob("*.json")
    sid = submission.name.removesuffix(".json")
    status = puma("community", "status", env={"COLUMNS": "400"})  # one line, not wrapped
    assert f"{sid} → {tmp_path / 'share'}" in status.stdout
    assert "package" in status.stdout
