"""Stop sequences that only count once the answer has begun.

A base model often opens its answer with a newline ("Priority:\\n High"); the scenarios stop at
"\\n", so a runtime that applies the stop from the first character returns an empty answer (seen:
10 of 10 empty on pm-prioritization zero-shot with the embedded model). PUMA's rule, the same for
every runtime: a stop sequence ends the answer only where it begins after the first non-blank
character; the blank lead itself is kept, as the model wrote it.

The embedded runtime applies every stop itself. A server applies them from the first character,
so when one ends an answer before any text, the runtime asks once more without the stops that
begin with whitespace and applies them here (`answer_past_blank_lead`).
"""

from __future__ import annotations

from dataclasses import replace

from puma.runtimes.base import Completion


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str | None:
    """`text` up to the first stop sequence that begins after its first non-blank character,
    or None when no stop sequence ends it (yet)."""
    stripped = text.lstrip()
    if not stripped or not stops:
        return None
    start = len(text) - len(stripped)
    found = [i for i in (text.find(stop, start) for stop in stops if stop) if i >= 0]
    return text[: min(found)] if found else None


def blank_lead_stops(stops: tuple[str, ...]) -> tuple[str, ...]:
    """The stop sequences a runtime may hit before any answer text: those that begin with
    whitespace (a server applies them from the first character)."""
    return tuple(stop for stop in stops if stop and stop[0].isspace())


def stopped_before_answer(completion: Completion, stops: tuple[str, ...]) -> bool:
    """Whether a server ended the answer at a stop sequence before any non-blank text."""
    return (
        bool(blank_lead_stops(stops))
        and completion.finish_reason == "stop"
        and not completion.text.strip()
    )


def answer_past_blank_lead(
    first: Completion, second: Completion, stops: tuple[str, ...]
) -> Completion:
    """The answer of a second try sent without the blank-lead stops, with every stop applied by
    PUMA's rule. Its timings are the second try's; the first one's time is kept beside them."""
    cut = cut_at_stop(second.text, stops)
    text = second.text if cut is None else cut
    warnings = second.warnings
    if text.strip():
        warnings = [w for w in warnings if "empty completion" not in w]
    timings = {
        **second.runtime_timings,
        "stops_applied_by_puma": list(blank_lead_stops(stops)),
        "first_try_ms": round(first.total_ms, 3),
    }
    return replace(
        second,
        text=text,
        finish_reason="stop" if cut is not None else second.finish_reason,
        runtime_timings=timings,
        warnings=warnings,
    )
