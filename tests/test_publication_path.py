"""The whole path of a new contributor, with real parts end to end:
run (embedded llama.cpp) → eval → share-results → verify-hash → submission validate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

PUMA = [sys.executable, "-m", "puma.cli.app"]
SPEC = """\
name: e2e
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: 5}}]
strategy: few-shot-3
generation: {{temperature: 0, seed: 42, max_tokens: 16, num_ctx: 4096}}
output: {output}
"""


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=600)


def test_run_eval_share_verify(tmp_path: Path, repo_root: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(output=tmp_path / "runs"))
    run = _puma("run", str(spec), "--json")
    assert run.returncode == 0, run.stderr
    run_dir = json.loads(run.stdout)["run_dir"]

    evaluated = _puma("eval", run_dir)
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    assert metrics["schema_version"] == "metrics-1.0"

    package = tmp_path / "package"
    shared = _puma("share-results", run_dir, "--dry-run", "--out", str(package), "--yes")
    assert shared.returncode == 0, shared.stderr
    (submission,) = package.glob("*.json")  # the sidecar is *.provenance.jsonld
    document = json.loads(submission.read_text())
    schema = json.loads((repo_root / "schemas" / "submission-v1.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["run_metadata"]["n_instances"] == 5
    assert document["run_metadata"]["scenario"] == "triage_jira"

    # The package's predictions are the run's, row for row.
    run_rows = [json.loads(x) for x in (Path(run_dir) / "predictions.jsonl").read_text().split()]
    predictions = submission.with_name(submission.stem + ".predictions.jsonl")
    package_rows = [json.loads(x) for x in predictions.read_text().splitlines()]
    canonical = ("instance_id", "predicted_label", "predicted_value", "prompt_hash")
    assert package_rows == [{k: r[k] for k in canonical} for r in run_rows]

    verified = _puma("verify-hash", str(submission), "--rescore")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _puma("submission", "validate", str(submission)).returncode == 0
    assert _puma("ledger", "verify", run_dir).returncode == 0

    # One changed answer is caught.
    package_rows[0]["predicted_label"] = (
        "Trivial" if package_rows[0]["predicted_label"] != "Trivial" else "Major"
    )
    predictions.write_text("".join(json.dumps(r) + "\n" for r in package_rows))
    tampered = _puma("verify-hash", str(submission))
    assert tampered.returncode == 1
    assert package_rows[0]["instance_id"] in tampered.stdout + tampered.stderr
