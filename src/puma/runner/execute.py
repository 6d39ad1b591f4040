"""Making the calls: bounded concurrency, retries with backoff, one ledger line per attempt.

A call whose prompt does not fit the model's context is not retried: it gets one `skipped` line.

Runs on one asyncio event loop; the ledger writer is only touched from that loop, so lines are
never interleaved and `seq` increases strictly whatever the concurrency.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from puma.runfolder.ledger import CallEvent, LedgerWriter, SkippedEvent
from puma.runfolder.manifest import Deviation
from puma.runner.finalize import SKIPPED_STATUS
from puma.runner.manifest import utc_now
from puma.runner.plan import PlannedCall
from puma.runtimes.base import (
    CallInterrupted,
    Completion,
    CompletionRequest,
    GenerationOptions,
    PromptTooLong,
    Runtime,
    RuntimeCallError,
)
from puma.scenarios import parse_strategy
from puma.spec import SpecFile
from puma.tasks import parse_output, task_for

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
PHASE_PREDICT = "predict"


@dataclass
class CallOutcome:
    planned: PlannedCall
    event: CallEvent | SkippedEvent

    @property
    def ok(self) -> bool:
        return self.event.error is None


@dataclass
class ExecutionStats:
    calls: int = 0
    attempts: int = 0
    failed: int = 0
    deviations: list[Deviation] = field(default_factory=list)  # settings changed mid-run


ProgressCallback = Callable[[CallOutcome], None]
WarningCallback = Callable[[str], None]
DeviationCallback = Callable[[Deviation], None]

SERIALISED_AFTER_INTERRUPTION = (
    "the server cut an answer short when another request arrived (llama-cpp-python's server "
    "does this unless started with `--interrupt_requests False`): PUMA now sends it one call "
    "at a time and repeats the interrupted calls"
)


class CallLimiter:
    """How many calls may be in flight at once. The limit can be lowered mid-run (a server
    that cannot take concurrent calls); calls already in flight finish, new ones wait."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._active = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one slot; yields the limit in force when the slot was granted."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._active < self.limit)
            self._active += 1
            granted_under = self.limit
        try:
            yield granted_under
        finally:
            async with self._changed:
                self._active -= 1
                # One slot came free: wake one waiter. notify_all woke every queued call (all
                # of a run's calls queue here from the start), n wake-ups per call, n^2 a run.
                self._changed.notify(1)

    def lower(self, limit: int) -> bool:
        """Lower the limit; True when that changed it."""
        if limit >= self.limit:
            return False
        self.limit = limit
        return True


def concurrency_deviation(requested: int, used: int, reason: str) -> Deviation:
    return Deviation(
        setting="concurrency", requested=requested, used=used, reason=reason, ts=utc_now()
    )


def generation_options(spec: SpecFile, planned: PlannedCall) -> GenerationOptions:
    """The options sent for one call. The scenario's stop sequences belong to the completion
    prompt (a chat reply may legitimately start with a newline, e.g. after `<think>`), and a
    reasoning strategy and a task with long answers (code) get at least their token floors, or
    every answer would be cut short."""
    g = spec.generation
    scenario_stop = [] if spec.runtime.uses_chat else list(planned.prompt.stop)
    stop = tuple(dict.fromkeys([*scenario_stop, *(g.stop or [])]))
    return GenerationOptions(
        temperature=g.temperature,
        top_p=g.top_p,
        top_k=g.top_k,
        seed=g.seed,
        max_tokens=max(
            g.max_tokens,
            parse_strategy(spec.strategy).max_tokens_floor,
            task_for(planned.suite.task).scenario.max_tokens_floor,
        ),
        stop=stop,
        num_ctx=g.num_ctx,
    )


def backoff_delay(attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it is longer."""
    delay = rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))
    return max(delay, retry_after_s or 0.0)


def _probabilities(completion: Completion) -> dict[str, float] | None:
    if not completion.choice_logprobs:
        return None
    return {k: round(math.exp(v), 6) for k, v in completion.choice_logprobs.items()}


def call_record(
    planned: PlannedCall,
    spec: SpecFile,
    options: GenerationOptions,
    attempt: int,
    completion: Completion | None,
    error: str | None,
) -> CallEvent:
    """The ledger line of one attempt (the writer adds seq and prev_hash). A skipped call has
    the same fields (see `skipped_record`)."""
    record = CallEvent.unanswered(
        ts=utc_now(),
        phase=PHASE_PREDICT,
        suite_id=planned.key.suite_id,
        instance_id=planned.key.instance_id,
        model=planned.key.model,
        perturbation=planned.key.perturbation,
        repetition=planned.key.repetition,
        attempt=attempt,
        prompt_hash=planned.prompt_hash,
        options=options.as_record(),
        error=error,
    )
    if completion is None:
        return record
    parsed = parse_output(planned.suite, completion.text, spec.strategy)
    probs = _probabilities(completion)
    value = task_for(planned.suite.task).predicted_value(parsed.label, parsed.value, probs)
    return record.model_copy(
        update={
            "output_text": completion.text,
            "parse_status": parsed.status,
            "parsed_label": parsed.label,
            "predicted_value": value,
            "label_probs": probs,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "tokens_counted_locally": completion.tokens_counted_locally,
            "ttft_ms": _round(completion.ttft_ms),
            "total_ms": _round(completion.total_ms),
            "prompt_tps": _round(completion.prompt_tokens_per_s),
            "generation_tps": _round(completion.generation_tokens_per_s),
            "runtime_timings": completion.runtime_timings,
            "warnings": completion.warnings,
        }
    )


def skipped_record(record: CallEvent, reason: str) -> SkippedEvent:
    """The ledger line of a call not made: the attempt's fields, with its reason."""
    fields = record.model_dump(exclude={"type", "seq", "prev_hash"})
    return SkippedEvent(**{**fields, "parse_status": SKIPPED_STATUS}, reason=reason)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def execute_calls(
    calls: list[PlannedCall],
    runtime: Runtime,
    ledger: LedgerWriter,
    spec: SpecFile,
    on_outcome: ProgressCallback | None = None,
    on_deviation: DeviationCallback | None = None,
) -> ExecutionStats:
    """Make every planned call; each attempt becomes one ledger line. Returns totals.

    A call the server interrupted because another call arrived (CallInterrupted) while more
    than one call was in flight lowers the concurrency to 1 for the rest of the run (one
    deviation, told to `on_deviation` at once) and is repeated without using up a retry.
    """
    limit = spec.concurrency
    if runtime.max_parallel is not None:
        limit = min(limit, runtime.max_parallel)
    limiter = CallLimiter(limit)
    stats = ExecutionStats()
    rng = random.Random(spec.generation.seed)  # jitter only; never touches model outputs
    chat = spec.runtime.uses_chat

    def serialise() -> None:
        if limiter.lower(1):
            deviation = concurrency_deviation(spec.concurrency, 1, SERIALISED_AFTER_INTERRUPTION)
            stats.deviations.append(deviation)
            if on_deviation:
                on_deviation(deviation)

    async def one(planned: PlannedCall) -> None:
        options = generation_options(spec, planned)
        request = CompletionRequest(planned.key.model, planned.prompt, options, chat=chat)
        attempts_allowed = spec.retries + 1
        attempt = 0
        while True:
            attempt += 1
            stats.attempts += 1
            completion: Completion | None = None
            error: str | None = None
            retryable, retry_after = False, None
            # One slot per attempt, released during the backoff: a lowered limit then holds
            # for the retries too.
            async with limiter.slot() as granted_under:
                try:  # runtimes apply spec.timeout_s themselves (the longest silence allowed)
                    completion = await runtime.generate(request)
                except PromptTooLong as exc:
                    record = call_record(planned, spec, options, attempt, None, str(exc))
                    skipped = ledger.append(skipped_record(record, exc.reason))
                    stats.calls += 1
                    if on_outcome:
                        on_outcome(CallOutcome(planned, skipped))
                    return
                except CallInterrupted as exc:
                    error, retryable = str(exc), True
                    if granted_under > 1:
                        serialise()
                        attempts_allowed += 1  # the interruption was ours, not the call's
                except RuntimeCallError as exc:
                    error, retryable, retry_after = str(exc), exc.retryable, exc.retry_after_s
                event = ledger.append(
                    call_record(planned, spec, options, attempt, completion, error)
                )
            if error is None or not retryable or attempt >= attempts_allowed:
                stats.calls += 1
                stats.failed += int(error is not None)
                if on_outcome:
                    on_outcome(CallOutcome(planned, event))
                return
            await asyncio.sleep(backoff_delay(attempt, retry_after, rng))

    tasks = [asyncio.ensure_future(one(planned)) for planned in calls]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # A fault (a full disk under the ledger) stops every call still waiting, so none of
        # them writes after it or dies unheard at shutdown.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return stats
