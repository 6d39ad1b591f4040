"""Faults lose nothing, end to end: `puma run` against a REAL llama.cpp server that is killed in
the middle of the run ends with exit code 3 and every call in the ledger (the failed ones marked
failed, with every attempt); `puma run --resume` after a restart completes exactly those.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runtime_fakes import LLAMA_MODEL_ALIAS, LLAMA_N_CTX, LlamaServer, free_port

from puma.runfolder.ledger import CallEvent, FooterEvent, read_ledger

ITEMS = 4
RETRIES = 1


def write_spec(path: Path, url: str, output: Path) -> Path:
    path.write_text(
        f"""\
name: fault-end-to-end
runtime:
  kind: openai
  url: {url}
  model: {LLAMA_MODEL_ALIAS}
  mode: completion        # Gemma 3 270M is a base model
suites:
  - id: pm-triage
    limit: {ITEMS}
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 4
  num_ctx: {LLAMA_N_CTX}
concurrency: 2
retries: {RETRIES}
timeout_s: 30
output: {output}
""",
        encoding="utf-8",
    )
    return path


def puma(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "puma.cli.app", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def calls(ledger: Path) -> list[CallEvent]:
    return [e for e in read_ledger(ledger).events if isinstance(e, CallEvent)]


def key(event: CallEvent) -> tuple[Any, ...]:
    return (event.suite_id, event.instance_id, event.model, event.repetition)


def wait_for_successes(output: Path, count: int, timeout_s: float = 120.0) -> Path:
    """The run folder, once its ledger holds `count` successful calls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for ledger in output.glob("run-*/run.jsonl"):
            try:
                successes = sum(1 for e in calls(ledger) if e.error is None)
            except Exception:  # a line being written right now
                continue
            if successes >= count:
                return ledger.parent
        time.sleep(0.02)
    raise AssertionError(f"the run made no {count} successful calls within {timeout_s} s")


# Two `puma run` processes and two server starts: about 13 s on a quiet 2-core machine.
def test_killed_server_ends_the_run_with_failures_recorded_and_resume_completes_them(
    llama_server_factory: Callable[..., LlamaServer], tmp_path: Path
):
    server = llama_server_factory()
    output = tmp_path / "runs"
    spec = write_spec(tmp_path / "spec.yaml", server.url, output)

    run = puma("run", str(spec))
    run_dir = wait_for_successes(output, 1)
    server.kill()
    stdout, stderr = run.communicate(timeout=180)

    assert run.returncode == 3, stderr
    assert json.loads(stdout)["run_dir"] == str(run_dir)
    first = calls(run_dir / "run.jsonl")
    planned = {key(e) for e in first}
    assert len(planned) == ITEMS  # every planned call is in the ledger: none lost
    failed = {key(e) for e in first if e.error is not None} - {
        key(e) for e in first if e.error is None
    }
    assert failed, "the kill should have failed some calls"
    for k in failed:  # each failed call carries every attempt, each with its error
        attempts = [e for e in first if key(e) == k]
        assert [e.attempt for e in attempts] == list(range(1, RETRIES + 2))
        assert all(e.error for e in attempts)
    footer = read_ledger(run_dir / "run.jsonl").events[-1]
    assert isinstance(footer, FooterEvent) and footer.failed_calls == len(failed)

    llama_server_factory(port=server.port)  # the same URL the run's manifest holds
    resumed = puma("run", "--resume", str(run_dir))
    stdout, stderr = resumed.communicate(timeout=180)

    assert resumed.returncode == 0, stderr
    after = calls(run_dir / "run.jsonl")
    new = after[len(first) :]
    assert {key(e) for e in new} == failed  # only the failed calls were made again
    assert all(e.error is None for e in new)
    predictions = (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(predictions) == ITEMS


def test_a_server_that_is_down_from_the_start_is_exit_code_4(tmp_path: Path):
    spec = write_spec(tmp_path / "spec.yaml", f"http://127.0.0.1:{free_port()}", tmp_path)

    run = puma("run", str(spec))
    _, stderr = run.communicate(timeout=60)

    assert run.returncode == 4
    assert "no OpenAI-compatible server answers" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("wrong_model", ["llama-3-8b"])
def test_a_model_the_server_does_not_serve_is_exit_code_4_naming_the_fix(
    llama_server: LlamaServer, tmp_path: Path, wrong_model: str
):
    spec = write_spec(tmp_path / "spec.yaml", llama_server.url, tmp_path)

    run = puma("run", str(spec), "--model", wrong_model)
    _, stderr = run.communicate(timeout=60)

    assert run.returncode == 4
    assert wrong_model in stderr and "--model_alias" in stderr
