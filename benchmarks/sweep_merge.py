"""`puma merge` at sweep scale: 1,000 shards of synthetic predictions (1,000 rows each) on disk,
scored together with 10,000 resamples (and 10,000 permutations for the paired tests).

The shards are what a sweep hands back: a run folder per shard (manifest.json and
predictions_full.parquet, FULL_SCHEMA), 10 models × 100 seeds of one 1,000-item triage suite,
so merge pools each model's 100 seeds as repetitions of its items. `puma merge` runs as a
subprocess (the command a researcher types); the script prints its wall time and peak RSS.
Target: under 60 s on a 2-core machine.

    .venv/bin/python benchmarks/sweep_merge.py [--shards 1000] [--rows 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from puma.runfolder import RunFolder
from puma.runfolder.manifest import Manifest, ModelRecord, SuiteRecord
from puma.runfolder.predictions import FULL_SCHEMA
from puma.suites.model import TRIAGE_LABELS

MODELS = 10
PROJECTS = ("HDFS", "SPARK", "KAFKA")


def write_shards(root: Path, shards: int, rows: int) -> None:
    """`shards` run folders: shard k is model k % MODELS, seed k // MODELS."""
    gold_rng = np.random.default_rng(0)
    gold = gold_rng.choice(len(TRIAGE_LABELS), size=rows, p=[0.1, 0.4, 0.35, 0.15])
    items = np.array([f"TRIA-{i:05d}" for i in range(rows)])
    slices = np.array([json.dumps({"project": PROJECTS[i % 3]}) for i in range(rows)])
    labels = np.array(TRIAGE_LABELS)
    suite = SuiteRecord(
        id="pm-triage",
        version="1.0.0",
        task="triage",
        labels=list(TRIAGE_LABELS),
        content_hash="f" * 64,
        n_items=rows,
        selection={},
        source="bundled",
    )
    for k in range(shards):
        model, seed = f"model-{k % MODELS:02d}", k // MODELS
        rng = np.random.default_rng(k)
        skill = 0.85 - 0.05 * (k % MODELS)
        right = rng.random(rows) < skill
        pred = np.where(right, gold, rng.integers(0, len(labels), rows))
        unparsed = rng.random(rows) < 0.03
        probs = np.where(right, rng.uniform(0.5, 1.0, rows), rng.uniform(0.25, 0.6, rows))
        run_id = f"{k:040x}"
        folder = RunFolder(root / f"{model}/seed-{seed}/run-{run_id}")
        folder.root.mkdir(parents=True)
        n = rows
        columns = {
            "run_id": [run_id] * n,
            "suite_id": ["pm-triage"] * n,
            "task": ["triage"] * n,
            "model": [model] * n,
            "strategy": ["zero-shot"] * n,
            "phase": ["predict"] * n,
            "perturbation": ["none"] * n,
            "repetition": np.zeros(n, dtype=np.int32),
            "instance_id": items,
            "gold": labels[gold],
            "slices": slices,
            "prompt_hash": [f"{k:08x}{i:08x}" for i in range(n)],
            "output_text": np.where(unparsed, "?", labels[pred]),
            "parse_status": np.where(unparsed, "unparsed", "ok"),
            "predicted_label": pa.array(labels[pred], mask=unparsed),
            "predicted_value": pa.array(np.round(probs, 6), mask=unparsed),
            "label_probs": [None] * n,
            "prompt_tokens": rng.integers(120, 400, n),
            "completion_tokens": rng.integers(2, 12, n),
            "tokens_counted_locally": np.zeros(n, dtype=bool),
            "ttft_ms": np.round(rng.lognormal(4.0, 0.2, n), 3),
            "total_ms": np.round(rng.lognormal(5.0, 0.2, n), 3),
            "prompt_tps": np.round(rng.lognormal(7.0, 0.1, n), 3),
            "generation_tps": np.round(rng.lognormal(4.0, 0.1, n), 3),
            "attempt": np.ones(n, dtype=np.int32),
            "error": [None] * n,
            "runtime_timings": ["{}"] * n,
            "warnings": ["[]"] * n,
            "seq": np.arange(1, n + 1),
        }
        table = pa.table(columns, schema=FULL_SCHEMA)
        pq.write_table(table, folder.predictions_full)
        Manifest(
            run_id=run_id,
            tool={"name": "puma", "version": "benchmark"},
            spec={"name": "sweep-merge", "suites": [{"id": "pm-triage", "slices": ["project"]}]},
            spec_hash="0" * 64,
            spec_path=None,
            suites=[suite],
            runtime={"kind": "embedded", "url": None, "version": "0.3", "build": None},
            models=[ModelRecord(name=model)],
            strategy="zero-shot",
            generation={"temperature": 0.0, "seed": seed},
            seed=seed,
            perturbations=[],
            repetitions=1,
            concurrency=1,
            canonical={},
            overrides={},
            phases=["predict"],
            submitter="benchmark",
            device_tag="benchmark",
            hostname="benchmark",
            platform={"system": "Linux", "machine": "x86_64", "python": "3.11.7"},
            started_at="2026-01-01T00:00:00Z",
            completed_at="2026-01-01T00:10:00Z",
        ).save(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the shards here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="puma-sweep-merge-") as tmp:
        root = args.keep or Path(tmp)
        started = time.perf_counter()
        write_shards(root, args.shards, args.rows)
        print(
            f"wrote {args.shards} shards × {args.rows} rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        command = [
            sys.executable,
            "-m",
            "puma.cli.app",
            "merge",
            "--root",
            str(root),
            "--bootstrap-resamples",
            str(args.resamples),
            "--permutations",
            str(args.resamples),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            raise SystemExit(f"puma merge failed with exit code {done.returncode}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        print(
            f"puma merge: {args.shards} shards, {args.shards * args.rows:,} rows, "
            f"{args.resamples:,} resamples"
        )
        print(
            f"  wall time {wall:.1f} s, CPU time {cpu:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB "
            f"(cores: {os.cpu_count()}; on a shared machine CPU time is the steadier figure)"
        )
        print(f"  target: under 60 s on 2 cores -> {'met' if wall < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
