"""Running the speed phases: one call at a time through the runtime into the ledger, warm-up
calls first, and each figure repeated until its interval is tight enough.

Every call becomes one `call` line (suite_id = the phase's name, phase "warmup" or "predict",
the phase's details in runtime_timings: docs/commands/phases.md lists the keys). After each
phase, `speed.json` is written again, so a stopped run keeps the phases it finished.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from puma.hashing import prompt_hash
from puma.runfolder import RunFolder
from puma.runfolder.ledger import CallEvent, LedgerWriter
from puma.runfolder.speed import (
    ColdStart,
    Measurement,
    Reference,
    SpeedReport,
    StopReason,
)
from puma.runner.manifest import utc_now
from puma.runner.plan import exact_prompt
from puma.runtimes.base import (
    Completion,
    CompletionRequest,
    GenerationOptions,
    Prompt,
    Runtime,
    RuntimeCallError,
)
from puma.speed.canonical import CanonicalSettings, Profile, ProfileName
from puma.speed.data import SpeedData
from puma.speed.phases import Phase

Role = Literal["warmup", "predict"]
MAX_FAILED_SAMPLES = 3  # a figure whose calls keep failing stops with stop_reason "failed"


@dataclass
class CallResult:
    """One call as the phase sees it: the completion (None on failure), the wall time the
    client saw from sending to the last token, and the ledger line written."""

    completion: Completion | None
    client_ms: float
    started: float  # perf_counter seconds
    event: CallEvent

    @property
    def ok(self) -> bool:
        return self.completion is not None

    @property
    def client_ttft_ms(self) -> float | None:
        """TTFT as the client saw it: time waiting for the runtime (a serial engine queues
        calls) plus the runtime's own time to first token."""
        c = self.completion
        if c is None:
            return None
        queued = max(0.0, self.client_ms - c.total_ms)
        return queued + (c.ttft_ms if c.ttft_ms is not None else c.total_ms)


@dataclass
class PhaseContext:
    """What a speed phase works with."""

    runtime: Runtime
    ledger: LedgerWriter
    models: list[str]
    chat: bool
    base: GenerationOptions  # temperature, seed, top_p, top_k of the spec
    settings: CanonicalSettings
    profile_name: ProfileName
    profile: Profile
    data: SpeedData
    context_max: int
    load_ms: dict[str, float] = field(default_factory=dict)
    cold: list[ColdStart] = field(default_factory=list)
    on_call: Callable[[CallEvent], None] | None = None
    first_calls_done: set[str] = field(default_factory=set)

    @property
    def max_repetitions(self) -> int:
        return self.settings.max_repetitions(self.profile_name)

    async def call(
        self,
        phase: str,
        instance_id: str,
        model: str,
        prompt: Prompt,
        max_tokens: int,
        role: Role,
        repetition: int,
        details: dict[str, Any],
        num_ctx: int | None = None,
    ) -> CallResult:
        """Make one call and write its ledger line. A model's first call in the run is
        recorded as cold (and its figures kept apart in speed.json)."""
        options = GenerationOptions(
            temperature=self.base.temperature,
            top_p=self.base.top_p,
            top_k=self.base.top_k,
            seed=self.base.seed,
            max_tokens=max_tokens,
            stop=(),
            num_ctx=num_ctx or self.base.num_ctx,
        )
        cold = model not in self.first_calls_done
        self.first_calls_done.add(model)
        request = CompletionRequest(model, prompt, options, chat=self.chat)
        completion: Completion | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            completion = await self.runtime.generate(request)
        except RuntimeCallError as exc:
            error = str(exc)
        client_ms = (time.perf_counter() - started) * 1000.0
        timings: dict[str, Any] = dict(completion.runtime_timings) if completion else {}
        timings.update(details)
        timings["client_ms"] = round(client_ms, 3)
        timings["cold"] = cold
        event = self.ledger.append(
            _event(
                phase, instance_id, model, role, repetition, prompt, options, self.chat
            ).model_copy(update=_completion_fields(completion, timings, error))
        )
        if self.on_call:
            self.on_call(event)
        result = CallResult(completion, client_ms, started, event)
        if cold and role == "warmup":
            self.cold.append(_cold_start(self, phase, model, result))
        return result

    async def warm_up(
        self, phase: str, model: str, prompt: Prompt, max_tokens: int, num_ctx: int | None = None
    ) -> int:
        """The phase's warm-up calls for one model (canonical.yaml: speed.warmup_calls)."""
        for i in range(self.settings.speed.warmup_calls):
            await self.call(
                phase, "warmup", model, prompt, max_tokens, "warmup", i, {}, num_ctx=num_ctx
            )
        return self.settings.speed.warmup_calls


def _event(
    phase: str,
    instance_id: str,
    model: str,
    role: Role,
    repetition: int,
    prompt: Prompt,
    options: GenerationOptions,
    chat: bool,
) -> CallEvent:
    return CallEvent.unanswered(
        ts=utc_now(),
        phase=role,
        suite_id=phase,
        instance_id=instance_id,
        model=model,
        perturbation="none",
        repetition=repetition,
        attempt=1,
        prompt_hash=prompt_hash(exact_prompt(prompt, chat)),
        options=options.as_record(),
    )


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _completion_fields(
    completion: Completion | None, timings: dict[str, Any], error: str | None
) -> dict[str, Any]:
    if completion is None:
        return {"runtime_timings": timings, "error": error}
    return {
        "output_text": completion.text,
        "parse_status": "ok",
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "tokens_counted_locally": completion.tokens_counted_locally,
        "ttft_ms": _r(completion.ttft_ms),
        "total_ms": _r(completion.total_ms),
        "prompt_tps": _r(prompt_tps(completion)),
        "generation_tps": _r(completion.generation_tokens_per_s),
        "runtime_timings": timings,
        "warnings": completion.warnings,
    }


def prompt_tps(completion: Completion) -> float | None:
    """Prompt tokens over the time to the first token (the whole call when no text came)."""
    elapsed = completion.ttft_ms if completion.ttft_ms is not None else completion.total_ms
    if not completion.prompt_tokens or not elapsed:
        return None
    return completion.prompt_tokens / (elapsed / 1000.0)


def _cold_start(ctx: PhaseContext, phase: str, model: str, result: CallResult) -> ColdStart:
    c = result.completion
    return ColdStart(
        model=model,
        phase=phase,
        load_ms=_r(ctx.load_ms.get(model)),
        ttft_ms=_r(c.ttft_ms) if c else None,
        total_ms=_r(c.total_ms) if c else None,
        prompt_tps=_r(prompt_tps(c)) if c else None,
        generation_tps=_r(c.generation_tokens_per_s) if c else None,
    )


# --- the runtime's own counters -------------------------------------------------------------


def reference_tps(completion: Completion) -> dict[str, tuple[str, float]]:
    """prompt_tps / generation_tps as the runtime counted them: llama.cpp's performance
    counters (embedded), llama-server's `timings`, or Ollama's durations."""
    t = completion.runtime_timings
    found: dict[str, tuple[str, float]] = {}

    def put(metric: str, source: str, count: Any, ms: Any) -> None:
        if isinstance(count, int | float) and isinstance(ms, int | float) and ms > 0 and count > 0:
            found[metric] = (source, count / (ms / 1000.0))

    if "llama_n_p_eval" in t:
        source = "llama.cpp perf counters (llama_perf_context)"
        put("prompt_tps", source, t.get("llama_n_p_eval"), t.get("llama_p_eval_ms"))
        put("generation_tps", source, t.get("llama_n_eval"), t.get("llama_eval_ms"))
    server = t.get("server_timings")
    if isinstance(server, dict):
        source = "server timings (llama-server)"
        put("prompt_tps", source, server.get("prompt_n"), server.get("prompt_ms"))
        put("generation_tps", source, server.get("predicted_n"), server.get("predicted_ms"))
    if "prompt_eval_duration" in t or "eval_duration" in t:
        source = "Ollama durations"
        ns = 1e6
        pd, ed = t.get("prompt_eval_duration"), t.get("eval_duration")
        put("prompt_tps", source, t.get("prompt_eval_count"), pd / ns if pd else None)
        put("generation_tps", source, t.get("eval_count"), ed / ns if ed else None)
    return found


# --- repetition until precise ---------------------------------------------------------------

Sample = dict[str, float | None]  # metric -> value of one repetition (None: not measurable)
SampleFn = Callable[[int], Awaitable[tuple[Sample, dict[str, tuple[str, float]]]]]


@dataclass
class Repeated:
    samples: dict[str, list[float]]
    references: dict[str, tuple[str, list[float]]]
    stop_reason: StopReason


async def repeat_until_precise(ctx: PhaseContext, metrics: list[str], once: SampleFn) -> Repeated:
    """Call `once(repetition)` until every metric's interval for the median is within the
    stated fraction of the median (at least min_repetitions samples), or max_repetitions is
    reached, or MAX_FAILED_SAMPLES repetitions failed."""
    method = ctx.settings.speed
    samples: dict[str, list[float]] = {m: [] for m in metrics}
    refs: dict[str, tuple[str, list[float]]] = {}
    failed = 0
    repetition = 0
    while True:
        values, reference = await once(repetition)
        repetition += 1
        if any(values.get(m) is None for m in metrics):
            failed += 1
        for metric in metrics:
            value = values.get(metric)
            if value is not None and math.isfinite(value):
                samples[metric].append(value)
        for metric, (source, value) in reference.items():
            if metric in samples:
                refs.setdefault(metric, (source, []))[1].append(value)
        if failed >= MAX_FAILED_SAMPLES:
            return Repeated(samples, refs, "failed")
        n = min(len(v) for v in samples.values())
        if n >= method.min_repetitions and all(
            _precise(v, method.level, method.precision) for v in samples.values()
        ):
            return Repeated(samples, refs, "precise")
        if repetition >= ctx.max_repetitions:
            return Repeated(samples, refs, "max-repetitions")


def _precise(values: list[float], level: float, precision: float) -> bool:
    from puma.stats.median import median_interval  # loaded on use: see _interval_method

    interval = median_interval(values, level)
    return interval is not None and interval.relative_half_width <= precision


def measurement(
    ctx: PhaseContext,
    id_: str,
    model: str,
    metric: str,
    unit: str,
    details: dict[str, Any],
    repeated: Repeated,
) -> Measurement:
    values = repeated.samples.get(metric, [])
    from puma.stats.median import median_interval

    interval = median_interval(values, ctx.settings.speed.level)
    median = _r(float(np.median(values))) if values else None
    references = []
    if metric in repeated.references:
        source, theirs = repeated.references[metric]
        their_median = float(np.median(theirs)) if theirs else None
        disagreement = (
            (median - their_median) / their_median if median is not None and their_median else None
        )
        references.append(
            Reference(
                source=source,
                samples=[round(v, 3) for v in theirs],
                median=_r(their_median),
                disagreement=None if disagreement is None else round(disagreement, 5),
            )
        )
    return Measurement(
        id=id_,
        model=model,
        metric=metric,
        unit=unit,
        details=details,
        samples=[round(v, 3) for v in values],
        median=median,
        ci_low=_r(interval.low) if interval else None,
        ci_high=_r(interval.high) if interval else None,
        level=round(interval.level, 5) if interval else None,
        relative_half_width=round(interval.relative_half_width, 5) if interval else None,
        stop_reason=repeated.stop_reason,
        references=references,
    )


# --- the orchestration ----------------------------------------------------------------------


def method_record(settings: CanonicalSettings, profile: ProfileName) -> dict[str, Any]:
    s = settings.speed
    return {
        "interval": _interval_method(),
        "level": s.level,
        "precision": s.precision,
        "min_repetitions": s.min_repetitions,
        "max_repetitions": settings.max_repetitions(profile),
        "warmup_calls": s.warmup_calls,
        "slo_ttft_ms": s.slo_ttft_ms,
        "slo_tpot_ms": s.slo_tpot_ms,
    }


async def run_speed_phases(
    ctx: PhaseContext,
    phases: list[Phase],
    folder: RunFolder,
    report: SpeedReport,
    on_warning: Callable[[str], None] | None = None,
) -> SpeedReport:
    """Run each phase not yet done in `report`, writing speed.json after each."""
    for phase in phases:
        done = report.phase(phase.name)
        if done is not None and done.status == "done":
            continue
        assert phase.run is not None
        result = await phase.run(ctx)
        if result.status != "done" and on_warning:
            on_warning(f"phase {phase.name}: {result.reason}")
        others = [p for p in report.phases if p.name != phase.name]
        report = report.model_copy(update={"phases": [*others, result], "cold": list(ctx.cold)})
        report.save(folder)
    return report


def _interval_method() -> str:
    # The statistics package loads only when a speed phase measures: a sweep worker that runs
    # quality suites alone never imports it (tests/sweep/test_contract.py).
    from puma.stats.median import METHOD

    return METHOD
