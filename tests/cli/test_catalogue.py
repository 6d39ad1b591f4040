"""`puma catalogue build` and `puma catalogue verify-log`: what a person sees, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contributor_folders import folder, write_folder

PUMA = [sys.executable, "-m", "puma.cli.app"]


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=300)


def test_build_prints_the_grades_and_the_folders_not_catalogued(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    write_folder(root, folder("ada-lab", 1))
    write_folder(root, folder("bo-home", 2, sealed=False))
    broken = write_folder(root, folder("cy-dev", 3))
    (broken / "hardware.json").write_text("{not json")
    done = _puma("catalogue", "build", str(root), "--out", str(tmp_path / "site"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "✓ 2 runs (1 flagship, 0 standard, 1 archive-only; 0 redacted) in 1 cells, 0 ranked"
    )
    assert lines[1].startswith(f"not catalogued: cy-dev/rtx-4090-pc/{broken.name}: ")
    assert "hardware.json" in lines[1]
    assert lines[2] == f"  site: {tmp_path / 'site' / 'index.html'}"


def test_a_malformed_overlay_is_exit_2_and_builds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "submissions"
    write_folder(root, folder("ada-lab", 1))
    (root / "overlay.yaml").write_text("- {run_id: x, visibility: secret, reason: r}\n")
    done = _puma("catalogue", "build", str(root), "--out", str(tmp_path / "site"))
    assert done.returncode == 2
    assert "overlay.yaml: entry 1: visibility" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "site").exists()


def test_a_missing_submissions_folder_is_exit_2(tmp_path: Path) -> None:
    done = _puma("catalogue", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "site"))
    assert done.returncode == 2 and "no such submissions folder" in done.stderr


def test_verify_log_checks_a_saved_log(tmp_path: Path) -> None:
    log = pytest.importorskip(
        "puma.registry.log", reason="the registry's log module comes with helper registry's branch"
    )
    entries: list[dict[str, object]] = []
    prev = "0" * 64
    for seq in (1, 2):
        entry: dict[str, object] = {
            "seq": seq,
            "at": "2026-11-29T12:00:00.000000Z",
            "action": "accept",
            "submission_id": f"s{seq}",
            "kind": "contributor-folder",
            "record": {"n": seq},
            "prev_hash": prev,
        }
        entry["hash"] = prev = log.entry_hash(entry)
        entries.append(entry)
    saved = tmp_path / "log.jsonl"
    saved.write_text("".join(json.dumps(e) + "\n" for e in entries))
    done = _puma("catalogue", "verify-log", str(saved))
    assert done.returncode == 0, done.stderr
    assert "2 entries" in done.stdout
    entries[1]["record"] = {"n": 99}
    saved.write_text("".join(json.dumps(e) + "\n" for e in entries))
    done = _puma("catalogue", "verify-log", str(saved))
    assert done.returncode == 1 and "entry 2" in done.stderr
