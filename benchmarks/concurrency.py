"""Concurrency: the same N requests through `puma run` (concurrency 8) and through a bare
asyncio + httpx loop with 8 in flight, against a real llama.cpp server.

The server is `python -m llama_cpp.server` with the embedded Gemma 3 270M GGUF. It has no
parallel slots (one model, one lock: requests queue and are answered one at a time), so both
sides are bounded by the same server and the ratio shows what PUMA costs on top: the runtime
wrapper, retries bookkeeping, the ledger (one flushed, hash-chained line per call), parsing,
the prompt-token count it asks the server for (this server streams no usage) and the energy meter.
Both sides send byte-identical request bodies (built by the openai runtime from PUMA's plan).

The server is CPU-bound, so on a shared machine its throughput drifts with other load. Rounds
therefore alternate (and alternate which side goes first), the ratio is the median of the
per-round ratios, and the server's own CPU time per request is printed for each side: that
figure does not depend on other load and shows what PUMA's requests cost the server.
Target: PUMA reaches at least 95% of the bare loop's throughput.

    .venv/bin/python benchmarks/concurrency.py [--requests 24] [--rounds 5] [--server-threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from puma.runner.execute import CallOutcome, generation_options
from puma.runner.plan import build_plan
from puma.runner.session import start_run
from puma.runtimes.base import CompletionRequest
from puma.runtimes.embedded import default_model_path
from puma.runtimes.openai import OpenAICompatibleRuntime
from puma.spec import SpecFile, parse_spec
from puma.suites.select import resolve_suite

MODEL = "gemma3-270m"
CONCURRENCY = 8
SPEC = """\
name: concurrency-benchmark
runtime: {{kind: openai, url: "{url}", model: {model}, mode: completion}}
suites: [{{id: pm-triage, limit: {requests}}}]
strategy: zero-shot
generation: {{temperature: 0, seed: 42, max_tokens: 16, num_ctx: 1024}}
concurrency: {concurrency}
retries: 0
timeout_s: 300
output: {output}
"""


@dataclass
class Measured:
    seconds: float
    requests: int
    tokens: int
    server_cpu_s: float = 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def server_ms_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1000.0


def server_cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, threads: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(default_model_path()),
            "--model_alias", MODEL,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", "1024",
            "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
            "--interrupt_requests", "False",  # else a queued request cuts the streaming one
            "--verbose", "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit("llama_cpp.server did not start")


def request_bodies(spec: SpecFile, url: str) -> list[tuple[str, dict[str, Any]]]:
    """The exact (path, body) PUMA sends for each planned call."""
    suites = [resolve_suite(s) for s in spec.suites]
    plan = build_plan(spec, suites, spec.runtime.model_names)
    runtime = OpenAICompatibleRuntime(url)
    chat = spec.runtime.uses_chat
    return [
        runtime.request_body(
            CompletionRequest(p.key.model, p.prompt, generation_options(spec, p), chat=chat)
        )
        for p in plan
    ]


async def bare_loop(url: str, bodies: list[tuple[str, dict[str, Any]]]) -> Measured:
    """A careful script: one pooled client, 8 streams in flight, tokens counted from chunks."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    tokens = 0
    async with httpx.AsyncClient(base_url=url, timeout=300, trust_env=False) as client:

        async def one(path: str, body: dict[str, Any]) -> None:
            nonlocal tokens
            async with semaphore, client.stream("POST", path, json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if not line.startswith("data:") or line.endswith("[DONE]"):
                        continue
                    for choice in json.loads(line[5:]).get("choices") or []:
                        if choice.get("text"):
                            tokens += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(path, body) for path, body in bodies))
        seconds = time.perf_counter() - started
    return Measured(seconds, len(bodies), tokens)


def through_puma(spec: SpecFile) -> tuple[Measured, float]:
    """Calls phase (first call sent to last call recorded) and the whole `puma run`."""
    marks: dict[str, float] = {}
    tokens = 0

    def on_plan(todo: int, done: int) -> None:
        marks["first"] = time.perf_counter()

    def on_outcome(outcome: CallOutcome) -> None:
        nonlocal tokens
        if not outcome.ok:
            raise SystemExit(f"a call failed: {outcome.event['error']}")
        tokens += outcome.event["completion_tokens"] or 0
        marks["last"] = time.perf_counter()

    started = time.perf_counter()
    result = start_run(spec, on_plan=on_plan, on_outcome=on_outcome)
    whole = time.perf_counter() - started
    calls = Measured(marks["last"] - marks["first"], len(result.rows), tokens)
    return calls, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24, help="calls per side and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--server-threads",
        type=int,
        default=1,
        help="llama.cpp threads; 1 leaves a core for the client on a 2-core machine",
    )
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, args.server_threads)
    watched = psutil.Process(server.pid)

    def measured(side: str, spec: SpecFile, bodies: list[tuple[str, dict[str, Any]]]) -> Measured:
        before = server_cpu_s(watched)
        if side == "bare":
            result = asyncio.run(bare_loop(url, bodies))
        else:
            result, wall = through_puma(spec)
            whole.append(wall)
        result.server_cpu_s = server_cpu_s(watched) - before
        return result

    whole: list[float] = []
    runs: dict[str, list[Measured]] = {"bare": [], "puma": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = parse_spec(
                SPEC.format(
                    url=url,
                    model=MODEL,
                    requests=args.requests,
                    concurrency=CONCURRENCY,
                    output=Path(tmp) / "runs",
                )
            )
            bodies = request_bodies(spec, url)
            asyncio.run(bare_loop(url, bodies[:CONCURRENCY]))  # warm the server up
            for round_ in range(1, args.rounds + 1):
                order = ("bare", "puma") if round_ % 2 else ("puma", "bare")
                for side in order:
                    runs[side].append(measured(side, spec, bodies))
                bare, puma = runs["bare"][-1], runs["puma"][-1]
                print(
                    f"round {round_}: bare {bare.requests_per_s:.3f} req/s "
                    f"({bare.server_ms_per_request:.0f} server ms/req) | puma "
                    f"{puma.requests_per_s:.3f} req/s ({puma.server_ms_per_request:.0f} server "
                    f"ms/req) | ratio {puma.requests_per_s / bare.requests_per_s:.1%}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(30)
    report(runs["bare"], runs["puma"], whole, args.requests, args.rounds)


def report(
    bare: list[Measured], puma: list[Measured], whole: list[float], n: int, rounds: int
) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    ratio = median([p.requests_per_s / b.requests_per_s for b, p in zip(bare, puma, strict=True)])
    token_ratio = median([p.tokens_per_s / b.tokens_per_s for b, p in zip(bare, puma, strict=True)])
    print(f"requests: {n} per side and round, {CONCURRENCY} in flight, {rounds} rounds (medians)")
    for name, side in (("bare asyncio+httpx", bare), ("puma run (calls)  ", puma)):
        print(
            f"{name} : {median([m.requests_per_s for m in side]):6.3f} requests/s "
            f"{median([m.tokens_per_s for m in side]):7.2f} tokens/s "
            f"{median([m.server_ms_per_request for m in side]):6.0f} server CPU ms/request"
        )
    server_ratio = median([b.server_ms_per_request for b in bare]) / median(
        [p.server_ms_per_request for p in puma]
    )
    print(f"ratio puma / bare  : {ratio:6.1%} requests/s  {token_ratio:6.1%} tokens/s "
          f"{server_ratio:6.1%} server efficiency (median of per-round ratios)")  # fmt: skip
    print(f"whole `puma run` incl. startup and files: {median(whole):.1f} s")
    print("target: puma >= 95% of the bare loop:", "met" if ratio >= 0.95 else "NOT met")


if __name__ == "__main__":
    main()
