"""Stop sequences that only count once the answer has begun.

A base model often opens its answer with a newline ("Priority:\\n High"); the scenarios stop at
"\\n", so a runtime that applies the stop from the first character returns an empty answer (seen:
10 of 10 empty on pm-prioritization zero-shot with the embedded model). PUMA's rule, the same for
every runtime: a stop sequence ends the answer only where it begins after the first non-blank
character; the blank lead itself is kept, as the model wrote it.
"""

from __future__ import annotations


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
