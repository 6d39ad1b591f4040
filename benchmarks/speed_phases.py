"""Our pp/tg tokens/s against llama.cpp's own performance counters, and the harness overhead.

Runs the `speed` phase through `puma run` on the embedded model (a fresh run folder in a
temporary directory) and prints, per figure, our median tokens/s, llama.cpp's median for the
same calls (`llama_perf_context`: n_p_eval / t_p_eval, n_eval / t_eval), their disagreement and
why the repetition stopped. Then, unless --no-overhead, runs benchmarks/harness_overhead.py for
the cost of the harness itself. Prints the load average: on a busy machine the figures are noisy.

    .venv/bin/python benchmarks/speed_phases.py [--profile tiny|small|canonical] [--no-overhead]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import puma
from puma.runfolder.speed import SpeedReport

SPEC = """\
name: speed-phases
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: 1}}]
output: {output}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="small", choices=["tiny", "small", "canonical"])
    parser.add_argument("--no-overhead", action="store_true")
    parser.add_argument("--items", type=int, default=8, help="harness_overhead.py --items")
    parser.add_argument("--rounds", type=int, default=4, help="harness_overhead.py --rounds")
    args = parser.parse_args()
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(SPEC.format(output=Path(tmp) / "runs"))
        result = puma.run(spec, phases="speed", speed_profile=args.profile)
        report = SpeedReport.load(result.folder)
    phase = report.phase("speed")
    assert phase is not None
    print(f"profile {report.profile}; interval: {report.method['interval']}")
    print(f"{'figure':<14} {'metric':<15} {'ours':>9} {'llama.cpp':>10} {'gap':>8}  n  stop")
    for m in phase.measurements:
        ref = m.references[0] if m.references else None
        theirs = f"{ref.median:10.1f}" if ref and ref.median is not None else f"{'-':>10}"
        gap = (
            f"{100 * ref.disagreement:+7.2f}%"
            if ref and ref.disagreement is not None
            else f"{'-':>8}"
        )
        ours = f"{m.median:9.1f}" if m.median is not None else f"{'-':>9}"
        print(
            f"{m.id:<14} {m.metric:<15} {ours} {theirs} {gap} {len(m.samples):2d}  {m.stop_reason}"
        )
    for cold in report.cold:
        print(
            f"cold: {cold.model} load {cold.load_ms} ms, first call TTFT {cold.ttft_ms} ms, "
            f"prompt {cold.prompt_tps} tokens/s, generation {cold.generation_tps} tokens/s"
        )
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}")
    if not args.no_overhead:
        here = Path(__file__).parent
        subprocess.run(
            [
                sys.executable,
                str(here / "harness_overhead.py"),
                "--items",
                str(args.items),
                "--rounds",
                str(args.rounds),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
