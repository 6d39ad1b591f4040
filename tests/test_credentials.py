"""Credentials: a token goes into the OS keyring when one is usable, else into a 0600 file in a
0700 folder; it comes back stored-first, then from GITHUB_TOKEN; it is never shown whole.

The keyring cases use a real keyring backend class (an in-memory one) installed with
keyring.set_keyring, so keyring's own API carries every call."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from puma import credentials
from puma.credentials import (
    choose_login_token,
    clean_token,
    delete_token,
    get_token,
    mask,
    shape_warning,
    store_token,
    token_status,
)
from puma.errors import CredentialError, OutputWriteError

GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # 36 characters after the prefix
PAT = "github_pat_11ABCDEFG0123456789_" + "a" * 59
GHO = "gho_" + "z" * 36
HEX40 = "0123456789abcdef0123456789abcdef01234567"


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict: keyring's API, no OS service."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


class BrokenKeyring(MemoryKeyring):
    """A backend failing with its platform's own error, as a D-Bus backend does without a bus."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private config folder, no GITHUB_TOKEN, and keyring's fail backend (what this machine
    has) unless a test installs another."""
    folder = tmp_path / "config"
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(folder))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield folder
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- the file store -------------------------------------------------------------------------------


def test_without_a_keyring_the_token_goes_to_a_0600_file_in_a_0700_folder(config: Path) -> None:
    status = store_token("github", GHP)
    path = config / "credentials.json"
    assert (status.source, status.location) == ("file", str(path))
    assert _mode(path) == 0o600
    assert _mode(config) == 0o700
    assert json.loads(path.read_text())["tokens"] == {"github": GHP}
    assert get_token("github") == GHP


def test_the_file_is_0600_whatever_the_umask(config: Path) -> None:
    old = os.umask(0)  # a plain open() would now make the file 0666
    try:
        store_token("github", GHP)
    finally:
        os.umask(old)
    assert _mode(config / "credentials.json") == 0o600
    assert _mode(config) == 0o700
    assert [p.name for p in config.iterdir()] == ["credentials.json"]  # no temporary left


def test_an_existing_loose_folder_and_file_are_tightened(config: Path) -> None:
    config.mkdir(mode=0o755)
    os.chmod(config, 0o755)
    loose = config / "credentials.json"
    loose.write_text(json.dumps({"schema_version": "credentials-1.0", "tokens": {}}))
    os.chmod(loose, 0o644)
    store_token("github", GHP)
    assert (_mode(config), _mode(loose)) == (0o700, 0o600)


def test_a_loose_file_made_by_hand_is_reported_by_status(config: Path) -> None:
    store_token("github", GHP)
    os.chmod(config / "credentials.json", 0o644)
    (note,) = token_status("github").notes
    assert "mode 0644" in note and "chmod 600" in note


def test_logout_removes_the_token_and_the_empty_file(config: Path) -> None:
    store_token("github", GHP)
    assert delete_token("github") == [str(config / "credentials.json")]
    assert not (config / "credentials.json").exists()
    assert get_token("github") is None
    assert delete_token("github") == []


def test_a_malformed_file_is_a_located_error_that_logout_clears(config: Path) -> None:
    config.mkdir()
    path = config / "credentials.json"
    for content in ("{not json", '{"schema_version": "credentials-1.0", "tokens": [1]}'):
        path.write_text(content)
        with pytest.raises(CredentialError) as raised:
            get_token("github")
        assert str(path) in str(raised.value) and "puma auth logout" in str(raised.value)
        assert delete_token("github") == [f"{path} (unreadable, removed whole)"]
        assert not path.exists()


# --- the keyring store ----------------------------------------------------------------------------


def test_a_usable_keyring_holds_the_token_and_no_file_is_written(
    config: Path, memory_keyring: MemoryKeyring
) -> None:
    status = store_token("github", GHP)
    assert status.source == "keyring"
    assert status.location is not None and status.location.endswith("MemoryKeyring")
    assert memory_keyring.passwords == {("puma", "github"): GHP}
    assert not (config / "credentials.json").exists()
    assert get_token("github") == GHP
    assert token_status("github").source == "keyring"
    assert delete_token("github") == [f"keyring ({status.location})"]
    assert memory_keyring.passwords == {} and get_token("github") is None


def test_storing_in_the_keyring_removes_an_earlier_file_copy(config: Path) -> None:
    store_token("github", GHO)  # no keyring yet: the file
    keyring.set_keyring(MemoryKeyring())
    store_token("github", GHP)
    assert not (config / "credentials.json").exists()
    assert get_token("github") == GHP


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_keyrings_fail_and_null_backends_count_as_no_keyring(
    config: Path, backend: KeyringBackend
) -> None:
    keyring.set_keyring(backend)
    assert credentials.usable_keyring() is None
    assert store_token("github", GHP).source == "file"


def test_a_chainer_with_nothing_to_chain_counts_as_no_keyring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    keyring.set_keyring(chainer.ChainerBackend())
    assert credentials.usable_keyring() is None


def test_a_locked_keyring_falls_back_to_the_file_and_says_so(config: Path) -> None:
    keyring.set_keyring(LockedKeyring())
    status = store_token("github", GHP)
    assert status.source == "file" and (config / "credentials.json").exists()
    assert status.notes == ["the keyring refused the token (KeyringLocked); used the file"]
    assert get_token("github") == GHP


def test_a_keyring_failing_with_its_own_error_falls_back_to_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(BrokenKeyring())
    status = store_token("github", GHP)
    assert status.source == "file"
    assert status.notes == ["the keyring refused the token (RuntimeError); used the file"]
    assert get_token("github") == GHP
    assert delete_token("github") == [str(config / "credentials.json")]
    monkeypatch.setenv("GITHUB_TOKEN", GHO)
    assert get_token("github") == GHO


# --- reading order, environment -------------------------------------------------------------------


def test_github_token_is_used_when_nothing_is_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_token() is None
    assert token_status("github").source is None
    monkeypatch.setenv("GITHUB_TOKEN", GHO)
    assert get_token() == GHO
    status = token_status("github")
    assert (status.source, status.location, status.masked) == (
        "environment",
        "GITHUB_TOKEN",
        mask(GHO),
    )


def test_a_stored_token_wins_over_github_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", GHO)
    store_token("github", GHP)
    assert get_token() == GHP
    assert token_status("github").notes == [
        "GITHUB_TOKEN is also set; the stored token is the one used"
    ]


def test_login_takes_the_option_then_standard_input_then_the_variable() -> None:
    env = {"GITHUB_TOKEN": GHO}
    assert choose_login_token("github", GHP, f"{PAT}\n", env) == (GHP, "--token")
    assert choose_login_token("github", None, f"{PAT}\n", env) == (PAT, "standard input")
    assert choose_login_token("github", None, "", env) == (GHO, "GITHUB_TOKEN")
    assert choose_login_token("github", None, None, {}) is None
    with pytest.raises(CredentialError, match="unknown service"):
        choose_login_token("gitlab", GHP, None, {})


# --- what a token may look like, and how it is shown ----------------------------------------------


@pytest.mark.parametrize("token", [GHP, PAT, GHO, HEX40, "ghs_" + "x" * 36, "ghu_" + "Y" * 36])
def test_github_shaped_tokens_raise_no_warning(token: str) -> None:
    assert shape_warning("github", token) is None


@pytest.mark.parametrize(
    "token",
    ["hunter2", "ghp_short", HEX40.upper(), HEX40[:-1], "glpat-" + "x" * 20, "sk-" + "a" * 48],
)
def test_other_shapes_warn_but_are_stored(token: str) -> None:
    warning = shape_warning("github", token)
    assert warning is not None and "stored anyway" in warning and token not in warning
    assert store_token("github", token).source == "file"
    assert get_token() == token


@pytest.mark.parametrize("raw", ["", "   ", "\n", "ghp_abc def", "ghp_abc\nghp_def", "tok\x00en"])
def test_empty_or_multi_part_tokens_are_refused(raw: str) -> None:
    with pytest.raises(CredentialError):
        clean_token(raw)


def test_surrounding_whitespace_is_not_part_of_the_token() -> None:
    assert clean_token(f"  {GHP}\r\n") == GHP


def test_status_shows_at_most_the_last_four_characters() -> None:
    store_token("github", GHP)
    shown = token_status("github").model_dump_json()
    assert GHP not in shown and GHP[:-4] not in shown and "…" + GHP[-4:] in shown
    assert mask("short-token") == "…"  # under 16 characters: nothing at all


# --- write faults --------------------------------------------------------------------------------


@pytest.fixture
def full_disk_config(config: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The config folder on a 64 KiB tmpfs (we run as root, so a full disk is the fault that
    a permission cannot fake); skipped where mounting is not permitted."""
    config.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(config)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here ({done.stderr.strip()})")
    yield config
    subprocess.run(["umount", "-l", str(config)], capture_output=True)


def test_a_full_disk_keeps_the_old_token_and_leaves_no_temporary(full_disk_config: Path) -> None:
    store_token("github", GHO)
    with (
        (full_disk_config / "filler").open("ab", buffering=0) as filler,
        contextlib.suppress(OSError),
    ):
        while True:
            filler.write(b"\0" * 4096)
    with pytest.raises(OutputWriteError) as raised:
        store_token("github", GHP)
    assert "the disk is full" in str(raised.value)
    assert GHP not in str(raised.value)
    assert get_token("github") == GHO
    assert sorted(p.name for p in full_disk_config.iterdir()) == ["credentials.json", "filler"]
