"""Benchmark of `puma import lm-eval` at the size of MMLU.

Writes synthetic lm-evaluation-harness 0.4 logs for 20 models x 14,042 samples (57 subtasks,
per-sample `acc`, each model right with its own probability on each item), then times the whole
import: reading every log, writing the run folder, and scoring it with 10,000 resamples, every
pairwise comparison (McNemar, sign-flip tests with 10,000 flips, Holm), and the HTML report
without its figures (`--no-plots`: drawing 57 forest plots costs more than all the rest).

Prints wall time and peak RSS, and beside it the time lm-evaluation-harness's own bootstrap
(lm_eval.api.metrics.bootstrap_stderr, pure Python) needs for the same intervals: measured on
one subtask of one model at 1,000 resamples, scaled linearly to 10,000 resamples, 20 models and
every subtask (it computes no paired comparison at all). Target: under 60 s on 2 cores.

Run: .venv/bin/python benchmarks/import_logs.py [--models 20] [--resamples 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from puma.evaluate import ScoringOptions
from puma.importers import import_logs

SUBTASKS = 57
SAMPLES = 14_042  # MMLU's test split
STAMP = "2026-01-01T00-00-00.000000"


def write_logs(root: Path, models: int, seed: int = 7) -> list[Path]:
    """One lm-eval output folder per model, as `lm_eval --log_samples` lays them out."""
    rng = np.random.default_rng(seed)
    sizes = np.full(SUBTASKS, SAMPLES // SUBTASKS)
    sizes[: SAMPLES % SUBTASKS] += 1
    difficulty = rng.random(SAMPLES)
    folders = []
    for m in range(models):
        folder = root / f"model-{m:02d}"
        folder.mkdir(parents=True)
        skill = 0.45 + 0.02 * m
        right = (rng.random(SAMPLES) * 0.5 + difficulty * 0.5) < skill
        results: dict[str, dict[str, object]] = {}
        start = 0
        for t, size in enumerate(sizes):
            task = f"mmlu_subject_{t:02d}"
            outcomes = right[start : start + size]
            start += size
            with (folder / f"samples_{task}_{STAMP}.jsonl").open("w") as out:
                for doc_id, ok in enumerate(outcomes):
                    gold = doc_id % 4
                    line = {
                        "doc_id": doc_id,
                        "target": gold,
                        "filtered_resps": [[-1.0 if c == gold else -2.0, False] for c in range(4)],
                        "filter": "none",
                        "metrics": ["acc"],
                        "acc": float(ok),
                    }
                    out.write(json.dumps(line) + "\n")
            results[task] = {"alias": task, "acc,none": float(outcomes.mean())}
        document = {
            "results": results,
            "configs": {
                t: {"metric_list": [{"metric": "acc", "aggregation": "mean"}]} for t in results
            },
            "lm_eval_version": "0.4.13",
            "model_name": f"model-{m:02d}",
            "config": {"model": "hf", "random_seed": 0},
        }
        (folder / f"results_{STAMP}.json").write_text(json.dumps(document))
        folders.append(folder)
    return folders


def lm_eval_bootstrap_seconds(models: int, resamples: int) -> tuple[float, float]:
    """(measured seconds, scaled seconds) of lm-eval's bootstrap_stderr for the same intervals."""
    os.environ["DISABLE_MULTIPROC"] = "1"  # one core, as PUMA's engine runs here
    from lm_eval.api.metrics import bootstrap_stderr

    rng = np.random.default_rng(1)
    subtask = [float(x) for x in rng.random(SAMPLES // SUBTASKS) < 0.6]
    measured_iters = 1_000
    start = time.perf_counter()
    bootstrap_stderr(statistics.fmean, subtask, iters=measured_iters)
    measured = time.perf_counter() - start
    scaled = measured * (resamples / measured_iters) * SUBTASKS * models
    return measured, scaled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="puma-import-bench-"))
    try:
        start = time.perf_counter()
        folders = write_logs(work / "logs", args.models)
        written = time.perf_counter() - start
        options = ScoringOptions(resamples=args.resamples, permutations=args.resamples)
        start = time.perf_counter()
        result = import_logs("lm-eval", folders, work / "run", options=options, plots=False)
        wall = time.perf_counter() - start
        assert result.document is not None
        equal = sum(c.status == "equal" for c in result.comparisons)
        pairs = len(result.document["comparisons"])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"logs: {args.models} models x {SAMPLES:,} samples ({SUBTASKS} subtasks), "
            f"written in {written:.1f} s"
        )
        print(
            f"puma import + scoring, {args.resamples:,} resamples, {pairs:,} paired "
            f"comparisons: {wall:.1f} s wall, peak RSS {rss:.0f} MB "
            f"({equal}/{len(result.comparisons)} reported figures equal)"
        )
        measured, scaled = lm_eval_bootstrap_seconds(args.models, args.resamples)
        print(
            f"lm-eval bootstrap_stderr, one subtask of one model, 1,000 resamples: "
            f"{measured:.2f} s; scaled to the same intervals: {scaled:,.0f} s "
            f"({scaled / wall:,.0f}x PUMA's whole import), and no paired tests"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
