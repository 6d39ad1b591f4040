"""`puma doctor`: a table of checks, a fix for each ✗, exit 0 ready / 1 not."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from puma.doctor import run_checks
from puma.runtimes.embedded import EmbeddedOptions
from puma.runtimes.ollama import OllamaOptions

PUMA = [sys.executable, "-m", "puma.cli.app"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_embedded_default_is_ready_and_generates(tmp_path: Path) -> None:
    checks = {c.name: c for c in run_checks(None, tmp_path)}
    assert checks["Python"].status == "ok"
    assert checks["extra [embedded]"].status == "ok"
    assert checks["embedded model"].status == "ok"
    assert "generated" in checks["embedded model"].detail
    assert checks["free disk"].status == "ok"
    assert checks["CodeCarbon"].status == "ok"


def test_unreachable_runtime_fails_with_a_fix(tmp_path: Path) -> None:
    spec = OllamaOptions(url=f"http://127.0.0.1:{_closed_port()}", model="qwen2.5:3b")
    checks = run_checks(spec, tmp_path)
    # The default runtime is checked in its place, the spec's own server last.
    assert [c.name for c in checks] == [
        "Python",
        "extra [embedded]",
        "extra [energy]",
        "extra [report]",
        "embedded model",
        "free disk",
        "CodeCarbon",
        "runtime reachable",
    ]
    runtime = next(c for c in checks if c.name == "runtime reachable")
    assert runtime.status == "fail"
    assert runtime.fix
    # The embedded model is not needed for an Ollama spec: at most a warning.
    assert all(c.status != "fail" for c in checks if c.name.startswith(("extra", "embedded")))


def test_missing_embedded_model_file_is_a_failure_with_a_fix(tmp_path: Path) -> None:
    spec = EmbeddedOptions(model=str(tmp_path / "missing.gguf"))
    check = next(c for c in run_checks(spec, tmp_path) if c.name == "embedded model")
    assert check.status == "fail" and "missing.gguf" in check.detail and check.fix


def test_cli_exit_codes(repo_root: Path) -> None:
    ready = subprocess.run(
        [*PUMA, "doctor", str(repo_root / "specs/runs/demo_publication.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "✓" in ready.stdout and "ready" in ready.stdout
    down = subprocess.run(
        [
            *PUMA,
            "doctor",
            "--runtime",
            "openai",
            "--url",
            f"http://127.0.0.1:{_closed_port()}",
            "--model",
            "m",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert down.returncode == 1
    assert "✗" in down.stdout


def test_an_unknown_runtime_kind_is_bad_input_naming_the_known_ones() -> None:
    done = subprocess.run(
        [*PUMA, "doctor", "--runtime", "lmstudio", "--model", "m"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "unknown runtime kind 'lmstudio'" in done.stdout + done.stderr
    assert "embedded, ollama, openai" in done.stdout + done.stderr
