"""`puma spec check`, `puma ledger verify` and the app itself: messages and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from puma.runfolder import RunFolder
from puma.runfolder.ledger import LedgerWriter
from run_records import call_event, footer_event, manifest, meta_event, suite_record

PUMA = [sys.executable, "-m", "puma.cli.app"]


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=120)


def test_version_and_help_on_every_command() -> None:
    assert _puma("--version").stdout.startswith("puma ")
    for command in (
        ["doctor"],
        ["run"],
        ["spec", "check"],
        ["suites", "list"],
        ["ledger", "verify"],
        ["eval"],
        ["merge"],
        ["share-results"],
        ["verify-hash"],
        ["submission", "validate"],
    ):
        done = _puma(*command, "--help")
        assert done.returncode == 0, command
        assert "Usage" in done.stdout


def test_unknown_command_is_a_usage_error() -> None:
    done = _puma("frobnicate")
    assert done.returncode == 2
    assert "No such command" in done.stderr and "Traceback" not in done.stderr


def test_spec_check_accepts_the_shipped_specs(repo_root: Path) -> None:
    done = _puma("spec", "check", str(repo_root / "specs/runs/baseline_triage.yaml"))
    assert done.returncode == 0
    assert "is valid" in done.stdout


def test_spec_check_names_file_line_and_field(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("name: x\nsuites:\n  - id: pm-triage\n    limit: ten\n")
    done = _puma("spec", "check", str(spec))
    assert done.returncode == 2
    assert f'{spec}:4: suites[0].limit: expected an integer, got "ten"' in done.stderr
    assert "Traceback" not in done.stderr


def test_piped_messages_stay_on_one_line_whatever_the_path_length(
    repo_root: Path, tmp_path: Path
) -> None:
    # Rich would wrap at its guessed 80 columns when stdout is a pipe; a long checkout path
    # (as on CI) must not split a message, or logs and grep lose it.
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)
    deep.mkdir(parents=True)
    spec = deep / "baseline_triage.yaml"
    spec.write_text((repo_root / "specs/runs/baseline_triage.yaml").read_text())
    done = _puma("spec", "check", str(spec))
    assert done.returncode == 0
    first_line = done.stdout.splitlines()[0]
    assert str(spec) in first_line and first_line.endswith("is valid")

    bad = deep / "bad.yaml"
    bad.write_text("name: x\nsuites:\n  - id: pm-triage\n    limit: ten\n")
    done = _puma("spec", "check", str(bad))
    assert done.returncode == 2
    message = f'{bad}:4: suites[0].limit: expected an integer, got "ten"'
    assert any(line.endswith(message) for line in done.stderr.splitlines())


def test_piped_tables_are_not_cut_to_80_columns(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [*PUMA, "suites", "list"], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0
    widest = max(len(line) for line in done.stdout.splitlines())
    assert 80 < widest <= 120


def _run_folder(tmp_path: Path) -> Path:
    root = tmp_path / "run-x"
    root.mkdir()
    manifest("x", [suite_record("pm-triage", "triage", [])], ["m"]).save(RunFolder(root))
    ledger = LedgerWriter.create(root / "run.jsonl")
    ledger.append(meta_event())
    for i in range(3):
        ledger.append(call_event(f"I-{i}"))
    ledger.append(footer_event())
    ledger.close()
    return root


def test_ledger_verify_exit_0_on_an_intact_chain(tmp_path: Path) -> None:
    done = _puma("ledger", "verify", str(_run_folder(tmp_path)))
    assert done.returncode == 0
    assert "chain intact" in done.stdout


def test_ledger_verify_exit_1_names_the_breaking_line(tmp_path: Path) -> None:
    root = _run_folder(tmp_path)
    ledger = root / "run.jsonl"
    lines = ledger.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("I-0", "I-7")
    ledger.write_text("".join(lines))
    done = _puma("ledger", "verify", str(root))
    assert done.returncode == 1
    assert f"{ledger}:3" in done.stderr and "prev_hash" in done.stderr


def test_ledger_verify_exit_2_when_not_a_run_folder(tmp_path: Path) -> None:
    done = _puma("ledger", "verify", str(tmp_path))
    assert done.returncode == 2
