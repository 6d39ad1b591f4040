"""`puma auth login|status|logout` as a person runs them (real subprocesses, a private config
folder, keyring's fail backend as on this machine), and the planted-token check: a token given
to PUMA is found in no file it writes and in nothing it prints."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

PUMA = [sys.executable, "-m", "puma.cli.app"]
TOKEN = "ghp_PlantedTokenForPumaLeakTest0123456789"[:40]
ENV_TOKEN = "github_pat_11PLANTEDENV0_" + "PumaEnvironmentLeakCheck" * 2


def _env(config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    # keyring's fail backend, whatever this machine offers: the file store is what is tested
    env.update(PUMA_CONFIG_DIR=str(config), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.update(extra)
    return env


def _puma(
    config: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PUMA, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(config, **env),
    )


def test_login_from_standard_input_stores_a_0600_file_and_prints_no_token(tmp_path: Path) -> None:
    config = tmp_path / "config"
    login = _puma(config, "auth", "login", "github", stdin=f"{TOKEN}\n")
    assert login.returncode == 0, login.stderr
    assert "standard input" in login.stdout and TOKEN[-4:] in login.stdout
    assert TOKEN not in login.stdout + login.stderr
    stored = config / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert json.loads(stored.read_text())["tokens"]["github"] == TOKEN

    status = _puma(config, "auth", "status")
    assert status.returncode == 0
    assert str(stored) in status.stdout and TOKEN not in status.stdout
    as_json = json.loads(_puma(config, "auth", "status", "--json").stdout)
    assert (as_json["source"], as_json["masked"]) == ("file", "…" + TOKEN[-4:])

    logout = _puma(config, "auth", "logout")
    assert logout.returncode == 0 and "removed the github token" in logout.stdout
    assert not stored.exists()
    assert _puma(config, "auth", "status").returncode == 1


def test_login_from_github_token_and_from_the_option(tmp_path: Path) -> None:
    config = tmp_path / "config"
    from_env = _puma(config, "auth", "login", "github", GITHUB_TOKEN=ENV_TOKEN)
    assert from_env.returncode == 0 and "from GITHUB_TOKEN" in from_env.stdout
    from_option = _puma(config, "auth", "login", "github", "--token", TOKEN)
    assert from_option.returncode == 0 and "from --token" in from_option.stdout
    assert json.loads((config / "credentials.json").read_text())["tokens"]["github"] == TOKEN


def test_with_token_given_an_open_standard_input_is_not_waited_on(tmp_path: Path) -> None:
    config = tmp_path / "config"
    with subprocess.Popen(
        [*PUMA, "auth", "login", "github", "--token", TOKEN],
        stdin=subprocess.PIPE,  # held open, never written: reading it would wait forever
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(config),
    ) as login:
        assert login.wait(timeout=120) == 0
        assert login.stdin is not None
        login.stdin.close()
    assert json.loads((config / "credentials.json").read_text())["tokens"]["github"] == TOKEN


def test_login_with_no_token_anywhere_is_bad_input(tmp_path: Path) -> None:
    done = _puma(tmp_path / "config", "auth", "login", "github", stdin="\n")
    assert done.returncode == 2
    assert "no token given" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "config").exists()


def test_an_odd_token_is_stored_with_a_warning(tmp_path: Path) -> None:
    done = _puma(tmp_path / "config", "auth", "login", "github", stdin="hunter2-hunter2-x\n")
    assert done.returncode == 0
    assert "does not look like a GitHub token" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux `script` for a tty")
def test_on_a_terminal_the_token_is_asked_for_and_not_echoed(tmp_path: Path) -> None:
    """`script` gives the command a real terminal; the token is typed once echo is off."""
    config = tmp_path / "config"
    command = shlex.join([*PUMA, "auth", "login", "github"])
    with subprocess.Popen(
        ["script", "-qec", command, "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(config),
    ) as terminal:
        assert terminal.stdin is not None and terminal.stdout is not None
        watchdog = threading.Timer(120, terminal.kill)  # a missing prompt must not hang the suite
        watchdog.start()
        seen = b""
        # Click prints "github token:", then getpass turns echo off (discarding what was typed
        # so far) and prints " ": only then is it safe to type.
        while b"github token: " not in seen:
            chunk = terminal.stdout.read1(256)
            assert chunk, seen
            seen += chunk
        terminal.stdin.write(f"{TOKEN}\n".encode())
        terminal.stdin.flush()
        rest, _ = terminal.communicate(timeout=120)
        watchdog.cancel()
    shown = (seen + rest).decode(errors="replace")
    assert terminal.returncode == 0, shown
    assert "from prompt" in shown and TOKEN not in shown
    assert json.loads((config / "credentials.json").read_text())["tokens"]["github"] == TOKEN


def test_status_without_a_token_says_how_to_log_in_and_exits_1(tmp_path: Path) -> None:
    done = _puma(tmp_path / "config", "auth", "status")
    assert done.returncode == 1
    assert "puma auth login github" in done.stdout


def test_an_unknown_service_is_bad_input(tmp_path: Path) -> None:
    done = _puma(tmp_path / "config", "auth", "login", "gitlab", "--token", TOKEN)
    assert done.returncode == 2 and "known services: github" in done.stderr


SPEC = """\
name: planted-token
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: 2}}]
strategy: few-shot-3
generation: {{temperature: 0, seed: 42, max_tokens: 16}}
output: {output}
submitter: anonymous
device_tag: auto
"""


@pytest.mark.slow
def test_a_planted_token_is_in_no_file_puma_writes_and_nothing_it_prints(tmp_path: Path) -> None:
    """One token stored with `puma auth login`, another in GITHUB_TOKEN for every command; a real
    run on the embedded model, eval and share-results; then every byte PUMA wrote or printed is
    searched for either token and for their last twelve characters."""
    config, runs, package = tmp_path / "config", tmp_path / "runs", tmp_path / "package"
    cache = tmp_path / "cache"
    outputs: list[str] = []

    def puma(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = _puma(config, *args, stdin=stdin, GITHUB_TOKEN=ENV_TOKEN, PUMA_CACHE_DIR=str(cache))
        outputs.extend([done.stdout, done.stderr])
        assert done.returncode == 0, done.stderr
        return done

    puma("auth", "login", "github", stdin=TOKEN)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(output=runs))
    run_dir = json.loads(puma("run", str(spec), "--limit", "2", "--json").stdout)["run_dir"]
    puma("eval", run_dir)
    puma("share-results", run_dir, "--dry-run", "--out", str(package), "--yes")
    puma("auth", "status")

    written = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p != config / "credentials.json" and p != spec
    ]
    assert {p.name for p in Path(run_dir).iterdir()} >= {
        "manifest.json",
        "hardware.json",
        "run.jsonl",
    }
    assert len(list(package.iterdir())) == 3
    needles = [t.encode() for t in (TOKEN, ENV_TOKEN, TOKEN[-12:], ENV_TOKEN[-12:])]
    hits = [(str(p), n.decode()) for p in written for n in needles if n in p.read_bytes()]
    assert hits == []
    printed = "\n".join(outputs)
    assert [n.decode() for n in needles if n.decode() in printed] == []
    # The store itself does hold it: the search would have found a copy.
    assert TOKEN.encode() in (config / "credentials.json").read_bytes()
