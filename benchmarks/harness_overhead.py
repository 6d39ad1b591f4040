"""Harness overhead: the same prompts through `puma run` and through a bare llama.cpp loop.

Both sides load the embedded model and ask it the same things (cold context, greedy generation
with the same stop sequences, the label-probability scoring); the difference is what PUMA adds:
planning, asyncio, the ledger (one flushed line per call), parsing, prediction files and the
energy meter.

Each measurement runs in a fresh process, as a user's run does (two runs in one process share
llama.cpp's and OpenMP's thread state, which skews whichever goes second); the time is taken
inside the process, from before the model loads to the end, so interpreter start-up and imports
count on neither side. Prints both wall times and their ratio. Target: under 2%.

    .venv/bin/python benchmarks/harness_overhead.py [--items 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import llama_cpp

from puma.runner.execute import generation_options
from puma.runner.plan import build_plan
from puma.runner.session import start_run
from puma.runtimes.embedded import _last_logits, _log_softmax, default_model_path
from puma.spec import parse_spec
from puma.suites.select import resolve_suite

SPEC = """\
name: overhead
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: {items}}}]
strategy: few-shot-3
generation: {{temperature: 0, seed: 42, max_tokens: 16, num_ctx: 4096}}
output: {output}
"""


def bare_loop(prompts: list[tuple[str, tuple[str, ...], tuple[str, ...]]], threads: int) -> float:
    """What a careful script would do with llama-cpp-python alone, timed from model load."""
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(default_model_path()), n_ctx=4096, n_threads=threads, verbose=False
    )
    for text, stop, choices in prompts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)
        llm.reset()
        llm.eval(tokens)
        first = _log_softmax(_last_logits(llm))
        llm.create_completion(
            tokens, max_tokens=16, temperature=0.0, top_p=1.0, top_k=40, seed=42, stop=list(stop)
        )
        for choice in choices:
            choice_tokens = llm.tokenize((" " + choice).encode("utf-8"), add_bos=False)
            _ = first[choice_tokens[0]]
            for i in range(1, len(choice_tokens)):
                llm.n_tokens = len(tokens)
                llm.eval(choice_tokens[:i])
                _ = _log_softmax(_last_logits(llm))[choice_tokens[i]]
    llm.close()
    return time.perf_counter() - started


def _prompts(spec_text: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    spec = parse_spec(spec_text)
    plan = build_plan(spec, [resolve_suite(s) for s in spec.suites], spec.runtime.model_names)
    return [(p.prompt.text, generation_options(spec, p).stop, p.prompt.choices) for p in plan]


def measure(side: str, spec_text: str) -> float:
    """One timed run of one side, in this process."""
    if side == "bare":
        return bare_loop(_prompts(spec_text), os.cpu_count() or 1)
    spec = parse_spec(spec_text)
    started = time.perf_counter()
    start_run(spec)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", choices=["puma", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child process: time one side and report it
        print(json.dumps({"seconds": measure(args.measure, args.spec)}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        spec_text = SPEC.format(items=args.items, output=Path(tmp) / "runs")
        times: dict[str, list[float]] = {"puma": [], "bare": []}
        for round_ in range(args.rounds):
            order = ("puma", "bare") if round_ % 2 == 0 else ("bare", "puma")
            for side in order:  # alternate who goes first, so drift in load hits both
                child = subprocess.run(
                    [sys.executable, __file__, "--measure", side, "--spec", spec_text],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times[side].append(json.loads(child.stdout.splitlines()[-1])["seconds"])
            print(
                f"round {round_ + 1}: puma {times['puma'][-1]:.2f} s, "
                f"bare {times['bare'][-1]:.2f} s",
                flush=True,
            )
    puma_s, bare_s = min(times["puma"]), min(times["bare"])
    ratios = sorted(p / b for p, b in zip(times["puma"], times["bare"], strict=True))
    print(
        f"items: {args.items} (few-shot-3 triage prompts), rounds: {args.rounds}, "
        "each run in a fresh process"
    )
    print(f"puma run:        best {puma_s:.3f} s")
    print(f"bare llama loop: best {bare_s:.3f} s")
    print(
        f"ratio puma/bare: best-to-best {puma_s / bare_s:.4f}, median of rounds "
        f"{ratios[len(ratios) // 2]:.4f}  (overhead {100 * (puma_s / bare_s - 1):+.2f}%, "
        "target < +2%)"
    )


if __name__ == "__main__":
    main()
