"""Benchmark `puma verify-hash` on a large predictions file: rows per second and peak memory.

Builds a 1,000,000-row predictions file (and a 250,000-row one, to show that memory does not grow
with the file), writes a submission declaring its hash, then times the installed `puma
verify-hash` command end to end, process start included. Target: under 3 s for 1,000,000 rows.

    .venv/bin/python benchmarks/verify_hash.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from puma.integrity import hash_predictions_file

LABELS = ("Critical", "Major", "Minor", "Trivial")
PUMA = Path(sys.executable).with_name("puma")


def write_predictions(path: Path, rows: int, seed: int = 7) -> None:
    """Rows as the runner writes them: sorted ids, a label (1 in 12 unparsed), a probability
    at full float precision, a 16-hex prompt hash."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        chunk = []
        for i in range(rows):
            unparsed = rng.random() < 1 / 12
            row = {
                "instance_id": f"PROJ-{i:07d}",
                "predicted_label": None if unparsed else rng.choice(LABELS),
                "predicted_value": None if unparsed else rng.random(),
                "prompt_hash": f"{rng.getrandbits(64):016x}",
            }
            chunk.append(json.dumps(row, separators=(",", ":")))
            if len(chunk) == 50_000:
                out.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            out.write("\n".join(chunk) + "\n")


def write_submission(path: Path, declared: str, rows: int) -> None:
    """Only what verify-hash reads: the declared hash and the instance count."""
    path.write_text(
        json.dumps(
            {
                "integrity": {"predictions_summary_hash": declared},
                "run_metadata": {"n_instances": rows},
            }
        ),
        encoding="utf-8",
    )


def _proportional_memory(process: psutil.Process) -> int:
    """PSS where Linux gives it: pages shared with forked workers are counted once in total."""
    info = process.memory_full_info()
    return int(getattr(info, "pss", info.rss))


def time_cli(command: list[str]) -> float:
    """Wall seconds of one run (nothing else running in this process meanwhile)."""
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"verify-hash failed ({result.returncode}): {result.stderr}")
    return elapsed


def peak_memory(command: list[str]) -> float:
    """Peak memory (MiB) of one run, summed over the command and its worker processes
    (proportional set size, sampled every 10 ms; a separate run, as sampling costs CPU)."""
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(_proportional_memory(p) for p in tree))
        except psutil.Error:  # a worker ended between listing and reading
            pass
        time.sleep(0.01)
    return peak / 2**20


def bench(folder: Path, rows: int, repeat: int) -> dict[str, float]:
    predictions = folder / f"p{rows}.predictions.jsonl"
    submission = folder / f"p{rows}.json"
    started = time.perf_counter()
    write_predictions(predictions, rows)
    built = time.perf_counter() - started
    started = time.perf_counter()
    digest = hash_predictions_file(predictions)
    in_process = time.perf_counter() - started
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_submission(submission, digest.sha256, rows)
    command = [str(PUMA), "verify-hash", str(submission), "--predictions", str(predictions)]
    times = [time_cli(command) for _ in range(repeat)]
    return {
        "rows": rows,
        "file_mb": predictions.stat().st_size / 1e6,
        "build_s": built,
        "library_s": in_process,
        "library_peak_mib": peak_self,
        "cli_best_s": min(times),
        "cli_median_s": statistics.median(times),
        "cli_peak_mib": peak_memory(command),
        "rows_per_s": rows / min(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="puma-bench-") as tmp:
        for rows in (args.rows // 4, args.rows):
            r = bench(Path(tmp), rows, args.repeat)
            print(
                f"{r['rows']:>9,} rows ({r['file_mb']:.0f} MB): verify-hash best "
                f"{r['cli_best_s']:.2f} s, median {r['cli_median_s']:.2f} s of {args.repeat} "
                f"-> {r['rows_per_s']:,.0f} rows/s; peak memory {r['cli_peak_mib']:.0f} MiB "
                f"(command + workers); library call alone {r['library_s']:.2f} s"
            )


if __name__ == "__main__":
    main()
