"""The context-edge phases: where latency bends, where answers stop being right, and whether
the runtime silently cut the prompt.

A fact is planted at the start of the prompt and asked for at its end. `context-edge-append`
grows one conversation turn by turn (a chunk of filler per turn) past the context limit;
`context-edge-suite-only` asks the same probe once at fixed fractions of the limit. Each call
compares the prompt tokens the runtime says it evaluated with what was sent: a count that stops
growing while the prompt grows, or falls well short of the sent text's size, is a silent
truncation (Ollama cuts the front of a prompt that exceeds num_ctx without an error).

Latency bends at the first turn whose milliseconds per prompt token exceed BEND_FACTOR times the
median of the first three turns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from puma.runfolder.speed import PhaseResult
from puma.speed.phases import Phase, register_phase
from puma.speed.run import CallResult, PhaseContext

APPEND = "context-edge-append"
SUITE_ONLY = "context-edge-suite-only"
BEND_FACTOR = 1.5
# Past the limit by this much, so that a runtime that truncates silently shows it.
OVERSHOOT = 1.25
# A reported prompt count under this share of the sent text's estimated tokens is a truncation.
TRUNCATED_BELOW = 0.6


def _row(
    ctx: PhaseContext, result: CallResult, estimated: int, previous_reported: int | None
) -> dict[str, Any]:
    c = result.completion
    row: dict[str, Any] = {
        "instance_id": result.event.instance_id,
        "estimated_tokens_sent": estimated,
        "error": result.event.error,
    }
    if c is None:
        return {**row, "prompt_tokens": None, "recalled": False, "truncated": None}
    reported = c.prompt_tokens
    truncated = None
    if reported is not None:
        truncated = reported < TRUNCATED_BELOW * estimated or (
            previous_reported is not None and reported <= previous_reported
        )
    ttft = c.ttft_ms if c.ttft_ms is not None else c.total_ms
    return {
        **row,
        "prompt_tokens": reported,
        "ttft_ms": round(ttft, 3),
        "ms_per_prompt_token": round(ttft / reported, 4) if reported else None,
        "recalled": ctx.data.recalled(c.text),
        "truncated": truncated,
    }


def _bend(rows: list[dict[str, Any]]) -> str | None:
    per_token = [r.get("ms_per_prompt_token") for r in rows]
    base = [v for v in per_token[:3] if v is not None]
    if len(base) < 3:
        return None
    reference = float(np.median(base))
    for row, value in zip(rows[3:], per_token[3:], strict=True):
        if value is not None and value > BEND_FACTOR * reference:
            return str(row["instance_id"])
    return None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if r.get("prompt_tokens") is not None]
    first_wrong = next((r["instance_id"] for r in answered if not r["recalled"]), None)
    first_cut = next((r["instance_id"] for r in answered if r["truncated"]), None)
    refused = next((r["instance_id"] for r in rows if r["error"]), None)
    return {
        "rows": rows,
        "latency_bends_at": _bend(answered),
        "first_wrong_answer_at": first_wrong,
        "silent_truncation_at": first_cut,
        "refused_at": refused,
        "largest_prompt_answered": max((r["prompt_tokens"] for r in answered), default=None),
    }


async def run_append(ctx: PhaseContext) -> PhaseResult:
    model = ctx.models[0]
    chunk = ctx.profile.context_chunk_tokens
    limit = ctx.context_max
    warmups = await ctx.warm_up(
        APPEND, model, ctx.data.probe_prompt(0), ctx.profile.answer_max_tokens, num_ctx=limit
    )
    rows: list[dict[str, Any]] = []
    previous: int | None = None
    turn = 0
    # Turn t carries t chunks of filler: one conversation, grown by one chunk per turn.
    while turn * chunk <= OVERSHOOT * limit:
        estimated = _estimate(ctx, turn * chunk)
        details = {"turn": turn, "depth": turn * chunk, "context_max": limit}
        result = await ctx.call(
            APPEND,
            f"turn-{turn:03d}",
            model,
            ctx.data.probe_prompt(turn * chunk),
            ctx.profile.answer_max_tokens,
            "predict",
            0,
            details,
            num_ctx=limit,
        )
        row = _row(ctx, result, estimated, previous)
        rows.append(row)
        if result.completion is None:
            break  # refused: the runtime says the prompt no longer fits
        previous = result.completion.prompt_tokens
        turn += 1
    return PhaseResult(
        name=APPEND,
        status="done",
        models=[model],
        calls=len(rows),
        warmup_calls=warmups,
        figures={"context_max": limit, "chunk_tokens": chunk, **_summary(rows)},
    )


async def run_suite_only(ctx: PhaseContext) -> PhaseResult:
    model = ctx.models[0]
    limit = ctx.context_max
    warmups = await ctx.warm_up(
        SUITE_ONLY, model, ctx.data.probe_prompt(0), ctx.profile.answer_max_tokens, num_ctx=limit
    )
    rows = []
    for fraction in ctx.profile.context_fractions:
        depth = int(fraction * limit)
        details = {"depth": depth, "fraction": fraction, "context_max": limit}
        result = await ctx.call(
            SUITE_ONLY,
            f"depth-{depth}",
            model,
            ctx.data.probe_prompt(depth),
            ctx.profile.answer_max_tokens,
            "predict",
            0,
            details,
            num_ctx=limit,
        )
        rows.append({**_row(ctx, result, _estimate(ctx, depth), None), "fraction": fraction})
    return PhaseResult(
        name=SUITE_ONLY,
        status="done",
        models=[model],
        calls=len(rows),
        warmup_calls=warmups,
        figures={"context_max": limit, **_summary(rows)},
    )


def _estimate(ctx: PhaseContext, filler_tokens: int) -> int:
    """The tokens the probe prompt holds, by its characters per token."""
    text = ctx.data.probe_prompt(filler_tokens).text
    return int(len(text) / ctx.data.context_probe.chars_per_token)


CONTEXT_APPEND = register_phase(
    Phase(
        APPEND,
        "speed",
        needs="any runtime; memory for the profile's context (adapted and recorded if short)",
        summary="one conversation grown to the context limit: latency bend, recall, truncation",
        run=run_append,
    )
)
CONTEXT_SUITE_ONLY = register_phase(
    Phase(
        SUITE_ONLY,
        "speed",
        needs="any runtime; memory for the profile's context",
        summary="the context probe at fixed fractions of the limit",
        run=run_suite_only,
    )
)
