"""Benchmark the predictions hash at schema v1's cap: 100,000 rows, in one process.

Builds a 100,000-row predictions file (the most a submission may hold), times the library call
`hash_predictions_file` (best of --repeat) and the installed `puma verify-hash` command end to
end, process start included, and its peak memory. Target: the library call under 0.5 s.

    .venv/bin/python benchmarks/verify_hash.py [--rows 100000] [--repeat 5]
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


def time_cli(command: list[str]) -> float:
    """Wall seconds of one run (nothing else running in this process meanwhile)."""
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"verify-hash failed ({result.returncode}): {result.stderr}")
    return elapsed


def peak_memory(command: list[str]) -> float:
    """Peak resident memory (MiB) of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024  # the largest child so far: run this first


def bench(folder: Path, rows: int, repeat: int) -> dict[str, float]:
    predictions = folder / f"p{rows}.predictions.jsonl"
    submission = folder / f"p{rows}.json"
    write_predictions(predictions, rows)
    library, library_cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        digest = hash_predictions_file(predictions)
        library.append(time.perf_counter() - started)
        library_cpu.append(time.process_time() - started_cpu)
    write_submission(submission, digest.sha256, rows)
    command = [str(PUMA), "verify-hash", str(submission), "--predictions", str(predictions)]
    peak = peak_memory(command)
    times = [time_cli(command) for _ in range(repeat)]
    return {
        "rows": rows,
        "file_mb": predictions.stat().st_size / 1e6,
        "library_best_s": min(library),
        "library_median_s": statistics.median(library),
        "library_cpu_s": min(library_cpu),  # what a busy machine's wall time hides
        "cli_best_s": min(times),
        "cli_median_s": statistics.median(times),
        "cli_peak_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="puma-bench-") as tmp:
        r = bench(Path(tmp), args.rows, args.repeat)
    print(
        f"{r['rows']:,} rows ({r['file_mb']:.1f} MB): hash_predictions_file best "
        f"{r['library_best_s']:.3f} s, median {r['library_median_s']:.3f} s of {args.repeat} "
        f"(CPU time best {r['library_cpu_s']:.3f} s); "
        f"puma verify-hash end to end best {r['cli_best_s']:.2f} s, median "
        f"{r['cli_median_s']:.2f} s; peak memory {r['cli_peak_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
