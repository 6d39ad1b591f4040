"""Both quality phases end to end on the embedded Gemma 3 270M model: `puma run` on the bundled
quality spec with a small limit, then `puma eval`, which runs the model's code in the sandbox.
The model is tiny, so the scores are low: this checks the pipeline, not the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from puma.runfolder import RunFolder

PUMA = [sys.executable, "-m", "puma.cli.app"]
SPEC = Path(__file__).resolve().parents[2] / "specs" / "runs" / "quality_phases.yaml"
LIMIT = 2


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_both_quality_phases_run_and_score_on_the_embedded_model(
    tmp_path: Path, embedded_model_path: Path
) -> None:
    done = _puma("run", str(SPEC), "--limit", str(LIMIT), "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    folder = RunFolder.open(Path(json.loads(done.stdout)["run_dir"]))
    calls = [
        json.loads(line)
        for line in folder.ledger.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["type"] == "call"
    ]
    assert sorted({c["suite_id"] for c in calls}) == ["python-tasks", "small-model-eval"]
    code_calls = [c for c in calls if c["suite_id"] == "python-tasks"]
    assert all(c["options"]["max_tokens"] >= 320 for c in code_calls)

    evaluated = _puma(
        "eval", str(folder.root), "--bootstrap-resamples", "200", "--permutations", "200"
    )
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(folder.metrics.read_text(encoding="utf-8"))
    cells = {
        c["cell"]["suite_id"]: c["metrics"] for c in metrics["cells"] if c["cell"]["slice"] is None
    }
    for suite_id, headline in (
        ("small-model-eval", "normalised_match"),
        ("python-tasks", "pass_at_1"),
    ):
        figure = cells[suite_id][headline]
        assert figure["n"] == LIMIT and figure["method"] == "wilson"
        assert 0.0 <= figure["ci_low"] <= figure["point"] <= figure["ci_high"] <= 1.0
    outcomes = cells["python-tasks"]["outcomes"]
    assert sum(outcomes.values()) == LIMIT
    assert len(cells["python-tasks"]["per_task"]) == LIMIT
    assert "exact_match" in cells["small-model-eval"]
