"""The parallel phases: many questions in flight at once, with vLLM's serving figures.

`parallel-same-model` sends the bundled questions to the first model at each concurrency level
of the profile; `parallel-mixed-model` spreads them over every model of the spec (alone, then
interleaved one at a time, then interleaved with one call per model in flight) to show what
swapping models and sharing memory cost. Definitions (vLLM's benchmark_serving):

- TTFT: from sending the request to its first token, as the client sees it (queueing included);
- TPOT: (e2e - TTFT) / (output tokens - 1), per request;
- ITL: the mean gap between tokens over all tokens of the level (token-weighted); the runtime
  interface gives the first and last token times of a call, not each gap, so the mean is exact
  but no per-gap percentiles are given;
- throughput: output tokens / wall time of the batch; goodput: requests per second meeting both
  latency targets (canonical.yaml: slo_ttft_ms, slo_tpot_ms).

A runtime that serves one call at a time (the embedded one) still gets every level: its queue
shows in TTFT, and speed.json says it was serialised.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from puma.runfolder.speed import Measurement, PhaseResult
from puma.speed.data import Question
from puma.speed.phases import Phase, register_phase
from puma.speed.run import CallResult, PhaseContext, measurement, repeat_until_precise

SAME = "parallel-same-model"
MIXED = "parallel-mixed-model"


async def _batch(
    ctx: PhaseContext,
    phase: str,
    assignments: list[tuple[Question, str]],
    concurrency: int,
    repetition: int,
    label: str,
) -> tuple[list[CallResult], float]:
    """Every (question, model) in flight with at most `concurrency` at once; the results and
    the batch's wall time in seconds."""
    gate = asyncio.Semaphore(concurrency)
    max_tokens = ctx.profile.parallel_max_tokens

    async def one(question: Question, model: str) -> CallResult:
        async with gate:
            details = {"concurrency": concurrency, "level": label, "batch": repetition}
            result = await ctx.call(
                phase,
                f"{label}/{question.id}",
                model,
                ctx.data.question_prompt(question),
                max_tokens,
                "predict",
                repetition,
                details,
            )
            return result

    started = time.perf_counter()
    results = await asyncio.gather(*(one(q, m) for q, m in assignments))
    return list(results), time.perf_counter() - started


def _serving_figures(
    ctx: PhaseContext, batches: list[tuple[list[CallResult], float]], answers: dict[str, str]
) -> dict[str, Any]:
    """vLLM-style figures over every batch of one level."""
    ttft, tpot, e2e = [], [], []
    decode_ms = decode_tokens = 0.0
    good = correct = total = failed = 0
    wall = 0.0
    slo = ctx.settings.speed
    for results, batch_wall in batches:
        wall += batch_wall
        for r in results:
            total += 1
            c = r.completion
            if c is None:
                failed += 1
                continue
            first = r.client_ttft_ms
            assert first is not None
            tokens = c.completion_tokens or 0
            ttft.append(first)
            e2e.append(r.client_ms)
            per_token = None
            if tokens > 1:
                per_token = (r.client_ms - first) / (tokens - 1)
                tpot.append(per_token)
                decode_ms += r.client_ms - first
                decode_tokens += tokens - 1
            if first <= slo.slo_ttft_ms and (per_token is None or per_token <= slo.slo_tpot_ms):
                good += 1
            question_id = r.event.instance_id.split("/")[-1]
            if answers[question_id].lower() in (c.text or "").lower():
                correct += 1

    def stats(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"mean": None, "median": None, "p99": None}
        a = np.asarray(values)
        return {
            "mean": round(float(a.mean()), 3),
            "median": round(float(np.median(a)), 3),
            "p99": round(float(np.percentile(a, 99)), 3),
        }

    return {
        "requests": total,
        "failed": failed,
        "correct": correct,
        "ttft_ms": stats(ttft),
        "tpot_ms": stats(tpot),
        "e2e_ms": stats(e2e),
        "itl_ms_mean": round(decode_ms / decode_tokens, 3) if decode_tokens else None,
        "request_throughput_per_s": round(total / wall, 4) if wall else None,
        "goodput_per_s": round(good / wall, 4) if wall else None,
    }


async def _level(
    ctx: PhaseContext,
    phase: str,
    assignments: list[tuple[Question, str]],
    concurrency: int,
    label: str,
) -> tuple[Measurement, dict[str, Any], int]:
    """One level repeated until its throughput is precise: the measurement, the level's
    serving figures, and the calls made."""
    batches: list[tuple[list[CallResult], float]] = []

    async def once(repetition: int) -> tuple[dict[str, float | None], dict[str, Any]]:
        results, wall = await _batch(ctx, phase, assignments, concurrency, repetition, label)
        batches.append((results, wall))
        if any(not r.ok for r in results) or wall <= 0:
            return {"output_tps": None}, {}
        tokens = sum(r.completion.completion_tokens or 0 for r in results if r.completion)
        return {"output_tps": tokens / wall}, {}

    repeated = await repeat_until_precise(ctx, ["output_tps"], once)
    answers = {q.id: q.answer for q in ctx.data.questions}
    details = {"concurrency": concurrency, "level": label, "requests": len(assignments)}
    models = sorted({m for _, m in assignments})
    model = models[0] if len(models) == 1 else "+".join(models)
    m = measurement(ctx, label, model, "output_tps", "tokens/s", details, repeated)
    figures = {**details, **_serving_figures(ctx, batches, answers)}
    return m, figures, sum(len(r) for r, _ in batches)


def _questions(ctx: PhaseContext) -> list[Question]:
    wanted = ctx.profile.parallel_questions
    pool = ctx.data.questions
    return [pool[i % len(pool)] for i in range(wanted)]


def _serialised(ctx: PhaseContext) -> bool:
    return ctx.runtime.max_parallel == 1


async def run_same_model(ctx: PhaseContext) -> PhaseResult:
    model = ctx.models[0]
    questions = _questions(ctx)
    warmups = await ctx.warm_up(
        SAME, model, ctx.data.question_prompt(questions[0]), ctx.profile.parallel_max_tokens
    )
    measurements, levels, calls = [], [], 0
    for concurrency in ctx.profile.concurrency_levels:
        m, figures, n = await _level(
            ctx, SAME, [(q, model) for q in questions], concurrency, f"c{concurrency}"
        )
        measurements.append(m)
        levels.append(figures)
        calls += n
    return PhaseResult(
        name=SAME,
        status="done",
        models=[model],
        calls=calls,
        warmup_calls=warmups,
        measurements=measurements,
        figures={"levels": levels, "serialised_by_runtime": _serialised(ctx)},
    )


def _rss_bytes() -> int | None:
    import psutil

    try:
        return int(psutil.Process().memory_info().rss)
    except (psutil.Error, OSError):
        return None


async def run_mixed_model(ctx: PhaseContext) -> PhaseResult:
    models = ctx.models
    if len(models) < 2:
        return PhaseResult(
            name=MIXED,
            status="not-run",
            reason="needs at least two models; the spec names one",
            models=list(models),
            calls=0,
            warmup_calls=0,
        )
    questions = _questions(ctx)
    warmups = 0
    for model in models:
        warmups += await ctx.warm_up(
            MIXED, model, ctx.data.question_prompt(questions[0]), ctx.profile.parallel_max_tokens
        )
    rss_before = _rss_bytes()
    spread = [(q, models[i % len(models)]) for i, q in enumerate(questions)]
    measurements, levels, calls = [], [], 0
    for model in models:  # each model alone on its share: the baseline without swapping
        share = [(q, m) for q, m in spread if m == model]
        m, figures, n = await _level(ctx, MIXED, share, 1, f"alone-{models.index(model)}")
        measurements.append(m)
        levels.append(figures)
        calls += n
    for concurrency in (1, len(models)):
        m, figures, n = await _level(ctx, MIXED, spread, concurrency, f"mixed-c{concurrency}")
        measurements.append(m)
        levels.append(figures)
        calls += n
    alone_e2e = [lv["e2e_ms"]["median"] for lv in levels if str(lv["level"]).startswith("alone")]
    mixed_e2e = next(lv["e2e_ms"]["median"] for lv in levels if lv["level"] == "mixed-c1")
    swap_cost = (
        round(mixed_e2e - float(np.mean(alone_e2e)), 3)
        if mixed_e2e is not None and all(v is not None for v in alone_e2e)
        else None
    )
    return PhaseResult(
        name=MIXED,
        status="done",
        models=list(models),
        calls=calls,
        warmup_calls=warmups,
        measurements=measurements,
        figures={
            "levels": levels,
            "swap_cost_ms_per_request": swap_cost,
            "rss_bytes_with_all_models": rss_before,
            "rss_bytes_after": _rss_bytes(),
            "serialised_by_runtime": _serialised(ctx),
        },
    )


PARALLEL_SAME = register_phase(
    Phase(
        SAME,
        "speed",
        needs="any runtime; a server with parallel slots to show more than queueing",
        summary="20 questions at concurrency 1, 2, 4, 8: throughput, TTFT, TPOT, ITL, goodput",
        run=run_same_model,
    )
)
PARALLEL_MIXED = register_phase(
    Phase(
        MIXED,
        "speed",
        needs="two or more models in the spec",
        summary="the questions spread over several models: swap cost and shared memory",
        run=run_mixed_model,
        min_models=2,
    )
)
