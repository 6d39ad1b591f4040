"""`puma run` on the real embedded model: the run folder, determinism, the summary."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from puma.runfolder import RunFolder
from puma.runfolder.ledger import verify_chain
from puma.runfolder.predictions import FULL_SCHEMA
from puma.runner.session import start_run
from puma.spec import load_spec

PUMA = [sys.executable, "-m", "puma.cli.app"]


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=600)


def test_run_writes_every_file_of_a_run_folder(
    write_spec: Callable[..., Path], embedded_model_path: Path
) -> None:
    spec_path = write_spec(limit=3)
    done = _run_cli("run", str(spec_path), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    folder = RunFolder.open(Path(summary["run_dir"]))
    for path in (
        folder.manifest,
        folder.hardware,
        folder.ledger,
        folder.predictions,
        folder.predictions_full,
        folder.emissions,
    ):
        assert path.is_file(), path

    manifest = json.loads(folder.manifest.read_text())
    assert manifest["schema_version"] == "manifest-1.0"
    assert manifest["suites"][0]["id"] == "pm-triage"
    assert len(manifest["suites"][0]["content_hash"]) == 64
    assert manifest["runtime"]["kind"] == "embedded"
    # The model's identity is its GGUF's bytes, not the name "embedded-default".
    (model,) = manifest["models"]
    assert model["digest"] == hashlib.sha256(embedded_model_path.read_bytes()).hexdigest()
    assert model["details"]["file"] == embedded_model_path.name
    assert manifest["completed_at"] and manifest["device_tag"]

    events = [json.loads(line) for line in folder.ledger.read_text().splitlines()]
    assert events[0]["type"] == "meta" and events[-1]["type"] == "footer"
    calls = [e for e in events if e["type"] == "call"]
    assert len(calls) == 3
    for call in calls:
        for key in (
            "seq",
            "ts",
            "phase",
            "instance_id",
            "model",
            "repetition",
            "attempt",
            "prompt_hash",
            "options",
            "output_text",
            "prompt_tokens",
            "completion_tokens",
            "ttft_ms",
            "total_ms",
            "error",
            "prev_hash",
        ):
            assert key in call
        assert call["label_probs"] and set(call["label_probs"]) == set(
            manifest["suites"][0]["labels"]
        )
    assert verify_chain(folder.ledger).ok

    table = pq.read_table(folder.predictions_full)
    assert table.schema.equals(FULL_SCHEMA)
    assert table.num_rows == 3
    rows = [json.loads(line) for line in folder.predictions.read_text().splitlines()]
    assert [r["instance_id"] for r in rows] == sorted(r["instance_id"] for r in rows)
    assert list(rows[0])[:4] == ["instance_id", "predicted_label", "predicted_value", "prompt_hash"]
    emissions = json.loads(folder.emissions.read_text())
    assert emissions["energy_kwh"] > 0 and isinstance(emissions["measured"], bool)
    assert summary["calls"] == 3 and summary["errors"] == 0


def test_same_spec_and_seed_give_the_same_prediction_bytes(
    write_spec: Callable[..., Path],
) -> None:
    spec = load_spec(write_spec(limit=4))
    first = start_run(spec)
    second = start_run(spec)
    assert first.folder.root != second.folder.root
    assert first.folder.predictions.read_bytes() == second.folder.predictions.read_bytes()


def test_estimation_run_stores_canonical_numbers(write_spec: Callable[..., Path]) -> None:
    result = start_run(load_spec(write_spec(suite="pm-estimation", limit=3)))
    for row in result.rows:
        assert row["gold"] in {"1", "2", "3", "5", "8", "13", "21"}
        if row["predicted_label"] is not None:
            assert row["predicted_label"] == str(json.loads(row["predicted_label"]))
            assert float(row["predicted_label"]) == row["predicted_value"]


def test_malformed_spec_exits_2_with_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsuites:\n  - id: pm-triage\n    limit: ten\n")
    done = _run_cli("run", str(bad))
    assert done.returncode == 2
    assert f"{bad}:4: suites[0].limit: expected an integer" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_suite_exits_2(write_spec: Callable[..., Path]) -> None:
    done = _run_cli("run", str(write_spec(suite="pm-nonexistent")))
    assert done.returncode == 2, done.stderr
    assert "pm-nonexistent" in done.stderr and "Traceback" not in done.stderr
