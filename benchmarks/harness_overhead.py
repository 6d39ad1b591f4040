"""Harness overhead: the same prompts through `puma run` and through a bare llama.cpp loop.

Both sides load the embedded model and ask it the same things (cold context, greedy generation
with the same stop sequences, the label-probability scoring); the difference is what PUMA adds:
planning, asyncio, the ledger (one flushed line per call), parsing, prediction files and the
energy meter.

Each measurement runs in a fresh process, as a user's run does (two runs in one process share
llama.cpp's and OpenMP's thread state, which skews whichever goes second); the time is taken
inside the process, from before the model loads to the end, so interpreter start-up and imports
count on neither side. PUMA's cache folder is a fresh one; an uncounted round 0 fills it (the
first run on a machine detects the energy meter's hardware and hashes the model). The sides are
interleaved: every round runs both, in alternating order (ABBA...), so a drift in the
machine's load hits both alike. Prints each round, the ratio of
the summed times with a 95 % bootstrap interval over rounds (puma.stats' resampling counts and
percentile interval), and the load average, so a 2 % claim can be told from noise. Target:
the ratio within 1.02.

    .venv/bin/python benchmarks/harness_overhead.py [--items 20] [--rounds 4]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import llama_cpp
import numpy as np

from puma.runner.execute import generation_options
from puma.runner.plan import build_plan
from puma.runner.session import start_run
from puma.runtimes.embedded import _last_logits, _log_softmax, default_model_path
from puma.runtimes.stops import cut_at_stop
from puma.spec import parse_spec
from puma.stats.intervals import percentile_interval
from puma.stats.resample import iter_bootstrap_counts
from puma.suites.select import resolve_suite

SPEC = """\
name: overhead
runtime: {{kind: embedded}}
suites: [{{id: pm-triage, limit: {items}}}]
strategy: few-shot-3
generation: {{temperature: 0, seed: 42, max_tokens: 16, num_ctx: 4096}}
output: {output}
"""


def bare_loop(
    prompts: list[tuple[str, tuple[str, ...], tuple[str, ...]]], threads: int, model: str
) -> float:
    """What a careful script would do with llama-cpp-python alone, timed from model load:
    evaluate the prompt, pick the largest logit, decode it, until a stop sequence (PUMA's rule,
    runtimes/stops.py), the end of text or 16 tokens; then score the labels."""
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model, n_ctx=4096, n_threads=threads, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    floats = ctypes.POINTER(ctypes.c_float)
    for text, stop, choices in prompts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)
        llm.reset()
        llm.eval(tokens)
        first = _log_softmax(_last_logits(llm))
        answer, token = b"", -1
        for i in range(16):
            if i:
                llm.eval([token])
            logits = ctypes.cast(llama_cpp.llama_get_logits_ith(llm.ctx, -1), floats)
            token = int(np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).argmax())
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                break
            answer += llm.detokenize([token])
            if cut_at_stop(answer.decode("utf-8", errors="ignore"), stop) is not None:
                break
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
        return bare_loop(_prompts(spec_text), os.cpu_count() or 1, str(default_model_path()))
    spec = parse_spec(spec_text)
    started = time.perf_counter()
    start_run(spec)
    return time.perf_counter() - started


def ratio_interval(
    puma_s: list[float], bare_s: list[float], resamples: int = 10_000, seed: int = 42
) -> tuple[float, float, float]:
    """sum(puma) / sum(bare) over the rounds, and its 95 % percentile bootstrap interval.

    The unit resampled is a block of two rounds (one with PUMA first, one with it second), so
    every resample keeps the order balanced, and both sides of a round share its load."""
    p, b = np.asarray(puma_s), np.asarray(bare_s)
    if len(p) % 2 == 0:
        p, b = p[0::2] + p[1::2], b[0::2] + b[1::2]
    rng = np.random.default_rng(seed)
    boot = np.concatenate(
        [(c @ p) / (c @ b) for c in iter_bootstrap_counts(len(p), resamples, rng)]
    )
    low, high = percentile_interval(boot, 0.95)
    return float(p.sum() / b.sum()), low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4, help="an even number (ABBA blocks)")
    parser.add_argument("--measure", choices=["puma", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child process: time one side and report it
        print(json.dumps({"seconds": measure(args.measure, args.spec)}))
        return
    if args.rounds < 2 or args.rounds % 2:
        parser.error(
            "--rounds must be an even number of at least 2 (blocks of PUMA-first, bare-first)"
        )
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        spec_text = SPEC.format(items=args.items, output=Path(tmp) / "runs")
        # PUMA's cache (model digest, the energy meter's hardware detection) starts empty, as on
        # a machine's first run; round 0 fills it and warms the page cache for both sides, and
        # is shown but not counted: a user's later runs are the ones rounds 1.. stand for.
        env = {**os.environ, "PUMA_CACHE_DIR": str(Path(tmp) / "cache")}

        def timed(side: str) -> float:
            child = subprocess.run(
                [sys.executable, __file__, "--measure", side, "--spec", spec_text],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            return float(json.loads(child.stdout.splitlines()[-1])["seconds"])

        cold = {side: timed(side) for side in ("puma", "bare")}
        print(
            f"round 0 (empty PUMA cache, not counted): puma {cold['puma']:.2f} s, "
            f"bare {cold['bare']:.2f} s, ratio {cold['puma'] / cold['bare']:.4f}",
            flush=True,
        )
        times: dict[str, list[float]] = {"puma": [], "bare": []}
        for round_ in range(args.rounds):
            order = ("puma", "bare") if round_ % 2 == 0 else ("bare", "puma")
            for side in order:  # alternate who goes first, so drift in load hits both
                times[side].append(timed(side))
            print(
                f"round {round_ + 1}: puma {times['puma'][-1]:.2f} s, "
                f"bare {times['bare'][-1]:.2f} s, ratio "
                f"{times['puma'][-1] / times['bare'][-1]:.4f}  (load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    ratio, low, high = ratio_interval(times["puma"], times["bare"])
    print(
        f"items: {args.items} (few-shot-3 triage prompts), rounds: {args.rounds}, "
        "each run in a fresh process, sides interleaved"
    )
    print(f"puma run:        total {sum(times['puma']):.3f} s, best {min(times['puma']):.3f} s")
    print(f"bare llama loop: total {sum(times['bare']):.3f} s, best {min(times['bare']):.3f} s")
    print(
        f"ratio puma/bare: {ratio:.4f}  95% bootstrap interval [{low:.4f}, {high:.4f}] over "
        f"{args.rounds // 2} blocks of two rounds (overhead {100 * (ratio - 1):+.2f}%, target "
        "within 1.02)"
    )
    print(
        f"load average (1 min) before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
