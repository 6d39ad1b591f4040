"""Resume: a run killed with SIGKILL loses no completed call and finishes as if never stopped."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from puma.runfolder import RunFolder
from puma.runfolder.ledger import verify_chain
from puma.runner.session import start_run
from puma.spec import load_spec

PUMA = [sys.executable, "-m", "puma.cli.app"]
ITEMS = 10


def _calls(folder: RunFolder) -> list[dict]:
    lines = folder.ledger.read_bytes().splitlines()
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by the kill
            break
    return [e for e in events if e["type"] == "call"]


def _wait_for_calls(out: Path, count: int, process: subprocess.Popen[bytes]) -> RunFolder:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        folders = list(out.glob("run-*"))
        if folders and (folders[0] / "run.jsonl").exists():
            folder = RunFolder(folders[0])
            if len(_calls(folder)) >= count:
                return folder
        time.sleep(0.05)
    raise AssertionError("the run made no progress")


def test_sigkill_then_resume_loses_and_repeats_nothing(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec_path = write_spec(limit=ITEMS)
    out = tmp_path / "runs"
    process = subprocess.Popen(
        [*PUMA, "run", str(spec_path), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    folder = _wait_for_calls(out, 4, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = _calls(folder)
    assert 4 <= len(before) < ITEMS, "kill came too late to test anything"
    assert not verify_chain(folder.ledger).complete

    resumed = subprocess.run(
        [*PUMA, "run", "--resume", str(folder.root), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr

    after = _calls(folder)
    assert after[: len(before)] == before  # nothing completed was lost or rewritten
    successes = collections.Counter(c["instance_id"] for c in after if c["error"] is None)
    assert len(successes) == ITEMS and set(successes.values()) == {1}  # none repeated
    report = verify_chain(folder.ledger)
    assert report.ok and report.complete
    events = [json.loads(line) for line in folder.ledger.read_text().splitlines()]
    assert [e["type"] for e in events].count("resume") == 1

    uninterrupted = start_run(load_spec(spec_path))
    assert folder.predictions.read_bytes() == uninterrupted.folder.predictions.read_bytes()


def test_resume_of_a_complete_run_makes_no_calls(write_spec: Callable[..., Path]) -> None:
    result = start_run(load_spec(write_spec(limit=2)))
    before = result.folder.ledger.read_text().count('"type":"call"')
    resumed = subprocess.run(
        [*PUMA, "run", "--resume", str(result.folder.root), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert result.folder.ledger.read_text().count('"type":"call"') == before
    assert verify_chain(result.folder.ledger).ok


def test_resume_of_a_folder_that_is_not_a_run_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PUMA, "run", "--resume", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "not a run folder" in done.stderr


def test_resume_with_a_damaged_manifest_names_the_field(
    write_spec: Callable[..., Path],
) -> None:
    result = start_run(load_spec(write_spec(limit=1)))
    manifest = json.loads(result.folder.manifest.read_text())
    manifest["suites"] = "pm-triage"  # a hand edit gone wrong
    result.folder.manifest.write_text(json.dumps(manifest))
    done = subprocess.run(
        [*PUMA, "run", "--resume", str(result.folder.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "manifest.json: suites" in done.stderr and "Traceback" not in done.stderr
