"""Harness overhead: the same prompts through `puma run` and through a bare llama.cpp loop.

Both sides load the embedded model and ask it the same things (cold context, greedy generation
with the same stop sequences, the label-probability scoring); the difference is what PUMA adds:
planning, asyncio, the ledger (one flushed line per call), parsing, prediction files and the
energy meter. Prints both wall times and their ratio. Target: PUMA adds under 2%.

    .venv/bin/python benchmarks/harness_overhead.py [--items 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = parse_spec(SPEC.format(items=args.items, output=Path(tmp) / "runs"))
        suites = [resolve_suite(s) for s in spec.suites]
        plan = build_plan(spec, suites, spec.runtime.model_names)
        prompts = [
            (p.prompt.text, generation_options(spec, p).stop, p.prompt.choices) for p in plan
        ]
        import os

        threads = os.cpu_count() or 1
        puma_times, bare_times = [], []
        for round_ in range(args.rounds):  # alternate, so drift in machine load hits both
            started = time.perf_counter()
            start_run(spec)
            puma_times.append(time.perf_counter() - started)
            bare_times.append(bare_loop(prompts, threads))
            print(f"round {round_ + 1}: puma {puma_times[-1]:.2f} s, bare {bare_times[-1]:.2f} s")
    puma_s, bare_s = min(puma_times), min(bare_times)
    print(f"items: {args.items} (few-shot-3 triage prompts), rounds: {args.rounds}, best of each")
    print(f"puma run:        {puma_s:.3f} s")
    print(f"bare llama loop: {bare_s:.3f} s")
    print(
        f"ratio puma/bare: {puma_s / bare_s:.4f}  (overhead {100 * (puma_s / bare_s - 1):+.2f}%,"
        f" target < +2%)"
    )


if __name__ == "__main__":
    main()
