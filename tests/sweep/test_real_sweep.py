"""On this machine for real: 2 models × 2 seeds of the triage suite (2 items each) on the
embedded runtime, through the Ray executor on a local cluster. One shard's worker process is
killed mid-run (after its first call, by the worker's test-only hook); the taxonomy retries the
shard, which resumes from its ledger. The merged result equals a sweep that was not interrupted.

Equal means: every shard's canonical predictions (predictions.jsonl) byte for byte, and the
merged metrics.json byte for byte once the figures made of wall-clock time are set aside (speed
percentiles, and the hashes of files that record timings), since two runs never take the same
milliseconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from sweep_files import sweep_document

from puma.evaluate import ScoringOptions
from puma.merge import merge_runs
from puma.runfolder.ledger import read_ledger
from puma.sweep.execute import run_sweep, shard_complete
from puma.sweep.plan import plan_sweep
from puma.sweep.worker import DIE_AFTER_CALLS, DIE_MARKER

ray = pytest.importorskip("ray", reason="the sweep extra (ray) is not installed")
FAST = ScoringOptions(resamples=200, permutations=200)


def _without_timings(document: dict[str, Any]) -> dict[str, Any]:
    cells = [{k: v for k, v in cell.items() if k != "speed"} for cell in document["cells"]]
    sources = [
        {"run_id": s["run_id"], "predictions": s["predictions"]} for s in document["sources"]
    ]
    return {**document, "cells": cells, "sources": sources}


@pytest.mark.slow  # four shards of real model calls, twice: minutes on 2 cores
def test_a_killed_shard_resumes_and_the_merge_equals_an_uninterrupted_sweep(
    tmp_path: Path, embedded_model_path: Path
) -> None:
    marker = tmp_path / "killed-once"
    env = {
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "PUMA_CACHE_DIR": os.environ.get("PUMA_CACHE_DIR", ""),
        DIE_AFTER_CALLS: "1",
        DIE_MARKER: str(marker),
    }
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env}
    )
    try:
        models = [
            {"name": "bundled", "runtime": {"kind": "embedded", "model": "embedded-default"}},
            {"name": "by-path", "runtime": {"kind": "embedded", "model": str(embedded_model_path)}},
        ]
        plans = []
        for name in ("interrupted", "clean"):
            root = tmp_path / name
            root.mkdir()
            path = root / "sweep.yaml"
            document = sweep_document(root, seeds=[1, 2], models=models, limit=2)
            path.write_text(yaml.safe_dump(document), encoding="utf-8")
            plan = plan_sweep(path)
            outcome = run_sweep(plan, executor="ray", poll_s=0.2)
            assert [s.state for s in outcome.states] == ["done"] * 4, [
                s.message for s in outcome.states
            ]
            assert all(shard_complete(s)[0] for s in plan.shards)
            plans.append((plan, outcome))
    finally:
        ray.shutdown()
    (interrupted, first), (clean, second) = plans
    assert marker.is_file()  # a worker was killed mid-run
    killed = [s for s in first.states if s.attempts == 2]
    assert len(killed) == 1 and all(s.attempts == 1 for s in second.states)
    ledger = read_ledger(killed[0].shard.local_folder / "run.jsonl")
    assert [e.type for e in ledger.events].count("resume") == 1  # resumed, not restarted
    for a, b in zip(interrupted.shards, clean.shards, strict=True):
        assert a.identity == b.identity
        assert (a.local_folder / "predictions.jsonl").read_bytes() == (
            b.local_folder / "predictions.jsonl"
        ).read_bytes()
    merged = [merge_runs(p.shards[0].local_folder.parents[3], FAST) for p in (interrupted, clean)]
    one, two = (json.loads(m.metrics_path.read_text()) for m in merged)
    assert _without_timings(one) == _without_timings(two)
