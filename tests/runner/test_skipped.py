"""A call whose prompt does not fit the model's context is skipped: one `skipped` ledger line,
a wrong answer in the predictions, exit code 3, and a resume that does not repeat it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from puma.runfolder import RunFolder
from puma.runfolder.ledger import (
    CallEvent,
    FooterEvent,
    SkippedEvent,
    read_ledger,
    verify_chain,
)

PUMA = [sys.executable, "-m", "puma.cli.app"]

# Zero-shot triage prompts of the first items are 105-287 tokens long for the embedded model;
# llama.cpp's smallest context is 256 tokens, so some fit and some do not.
TIGHT_SPEC = """\
name: tight-context
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: 6
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 256
output: {output}
"""


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=600)


def test_prompt_longer_than_the_context_is_skipped_not_lost_and_not_resumed(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "tight.yaml"
    spec.write_text(TIGHT_SPEC.format(output=tmp_path / "runs"))
    done = _puma("run", str(spec), "--json")
    assert done.returncode == 3, done.stderr
    summary = json.loads(done.stdout)
    assert summary["skipped"] >= 1 and summary["errors"] == 0
    assert summary["calls"] == 6

    folder = RunFolder.open(Path(summary["run_dir"]))
    events = read_ledger(folder.ledger).events
    skipped = [e for e in events if isinstance(e, SkippedEvent)]
    answered = [e for e in events if isinstance(e, CallEvent)]
    assert len(skipped) == summary["skipped"] and len(answered) == 6 - len(skipped)
    assert all(e.error is None for e in answered)  # the rest of the run went on
    for event in skipped:
        assert event.reason == "prompt_exceeds_context"
        assert event.parse_status == "skipped" and event.attempt == 1
        assert event.error is not None and "context of 256" in event.error
    footer = events[-1]
    assert isinstance(footer, FooterEvent)
    assert footer.skipped_calls == len(skipped) and footer.failed_calls == 0

    # Every item keeps its row: a skipped call is a wrong answer, never a dropped one.
    rows = [json.loads(line) for line in folder.predictions.read_text().splitlines()]
    assert len(rows) == 6
    skipped_ids = {e.instance_id for e in skipped}
    for row in rows:
        if row["instance_id"] in skipped_ids:
            assert row["predicted_label"] is None and row["predicted_value"] is None

    # The submission's provenance tells skipped calls from failed ones.
    shared = _puma("share-results", str(folder.root), "--dry-run", "--yes", "--out", str(tmp_path))
    assert shared.returncode == 0, shared.stderr
    (provenance,) = tmp_path.glob("*.provenance.jsonld")
    timings = json.loads(provenance.read_text())["runtime_timings"]
    assert timings["skipped_calls"] == len(skipped) and timings["failed_calls"] == 0

    ledger_before = folder.ledger.read_text()
    resumed = _puma("run", "--resume", str(folder.root), "--json")
    assert resumed.returncode == 3, resumed.stderr
    new_lines = folder.ledger.read_text()[len(ledger_before) :].splitlines()
    assert [json.loads(line)["type"] for line in new_lines] == ["resume", "footer"]
    assert json.loads(new_lines[0])["remaining_calls"] == 0
    assert verify_chain(folder.ledger).ok


def test_skipped_calls_are_named_in_the_run_summary(tmp_path: Path) -> None:
    spec = tmp_path / "tight.yaml"
    spec.write_text(TIGHT_SPEC.format(output=tmp_path / "runs").replace("limit: 6", "limit: 5"))
    done = _puma("run", str(spec))
    assert done.returncode == 3
    one_line = " ".join(done.stdout.split())
    assert "skipped: the prompt did not fit the model's context" in one_line
    assert "raise generation.num_ctx" in one_line.lower()
    assert "next: puma eval" in one_line  # nothing to resume: the run is as complete as it gets
