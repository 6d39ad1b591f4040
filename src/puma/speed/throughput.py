"""The `speed` phase: the headline tokens/s, measured in the manner of llama-bench.

Per model: the frozen prompts P-EASY, P-MEDIUM and P-HARD (prompt and generation tokens/s of a
real request), then pp (a prompt of N tokens, one token out: prompt tokens/s) and tg (N tokens
generated after a prompt of D tokens: generation tokens/s) at each depth D of the profile.
PUMA's runtimes start every call from an empty context, so "pp N at depth D" processes a prompt
of D + N tokens and reports the tokens/s over all of it; tg at depth D generates with D tokens in
the context, as llama-bench's does. Each figure repeats until precise (puma.speed.run).
"""

from __future__ import annotations

from typing import Any

from puma.runfolder.speed import Measurement, PhaseResult
from puma.runtimes.base import Prompt
from puma.speed.phases import Phase, register_phase
from puma.speed.run import PhaseContext, Repeated, measurement, prompt_tps, reference_tps

NAME = "speed"
TPS = "tokens/s"


def _filler_prompt(ctx: PhaseContext, tokens: int, tail: str = "") -> Prompt:
    text = ctx.data.filler_text(tokens) + tail
    return Prompt(text=text, messages=({"role": "user", "content": text},))


async def _measure(
    ctx: PhaseContext,
    id_: str,
    model: str,
    prompt: Prompt,
    max_tokens: int,
    metrics: list[str],
    details: dict[str, Any],
) -> tuple[Repeated, int]:
    calls = 0

    async def once(repetition: int) -> tuple[dict[str, float | None], dict[str, Any]]:
        nonlocal calls
        result = await ctx.call(
            NAME, id_, model, prompt, max_tokens, "predict", repetition, details
        )
        calls += 1
        c = result.completion
        if c is None:
            return {m: None for m in metrics}, {}
        values = {"prompt_tps": prompt_tps(c), "generation_tps": c.generation_tokens_per_s}
        return values, reference_tps(c)

    from puma.speed.run import repeat_until_precise

    return await repeat_until_precise(ctx, metrics, once), calls


async def run_speed(ctx: PhaseContext) -> PhaseResult:
    profile = ctx.profile
    measurements: list[Measurement] = []
    calls = warmups = 0
    first = ctx.data.frozen_prompts[0]
    for model in ctx.models:
        warmups += await ctx.warm_up(
            NAME, model, Prompt(first.text, ({"role": "user", "content": first.message},)), 4
        )
        for frozen in ctx.data.frozen_prompts:
            prompt = Prompt(frozen.text, ({"role": "user", "content": frozen.message},))
            max_tokens = profile.frozen_max_tokens.get(frozen.id, 32)
            details = {"prompt_id": frozen.id, "tg_tokens": max_tokens}
            repeated, n = await _measure(
                ctx,
                frozen.id,
                model,
                prompt,
                max_tokens,
                ["prompt_tps", "generation_tps"],
                details,
            )
            calls += n
            for metric in ("prompt_tps", "generation_tps"):
                measurements.append(
                    measurement(ctx, frozen.id, model, metric, TPS, details, repeated)
                )
        for depth in profile.depths:
            for pp in profile.pp_tokens:
                id_ = f"pp{pp}@d{depth}"
                details = {"pp_tokens": pp, "depth": depth}
                repeated, n = await _measure(
                    ctx, id_, model, _filler_prompt(ctx, depth + pp), 1, ["prompt_tps"], details
                )
                calls += n
                measurements.append(
                    measurement(ctx, id_, model, "prompt_tps", TPS, details, repeated)
                )
            for tg in profile.tg_tokens:
                id_ = f"tg{tg}@d{depth}"
                details = {"tg_tokens": tg, "depth": depth}
                prompt = _filler_prompt(ctx, depth, "\n\n" + ctx.data.generation_prompt.text)
                repeated, n = await _measure(
                    ctx, id_, model, prompt, tg, ["generation_tps"], details
                )
                calls += n
                measurements.append(
                    measurement(ctx, id_, model, "generation_tps", TPS, details, repeated)
                )
    headline = _headline(measurements)
    return PhaseResult(
        name=NAME,
        status="done",
        models=list(ctx.models),
        calls=calls,
        warmup_calls=warmups,
        measurements=measurements,
        figures={"headline": headline},
    )


def _headline(measurements: list[Measurement]) -> dict[str, Any]:
    """Per model: the pp and tg medians at depth 0 of the first size (the llama-bench-style
    headline), beside the frozen prompts' medians."""
    table: dict[str, Any] = {}
    for m in measurements:
        row = table.setdefault(m.model, {})
        if m.details.get("depth") == 0 and m.median is not None:
            key = "pp_tps" if m.metric == "prompt_tps" else "tg_tps"
            row.setdefault(key, m.median)
        elif "prompt_id" in m.details and m.median is not None:
            row[f"{m.id}_{m.metric}"] = m.median
    return table


SPEED = register_phase(
    Phase(
        NAME,
        "speed",
        needs="any runtime; bundled prompts (speed-phases.json)",
        summary="frozen prompts P-EASY/P-MEDIUM/P-HARD, pp and tg at fixed sizes and depths",
        run=run_speed,
    )
)
