"""Stop sequences count only after the first non-blank character of an answer."""

from __future__ import annotations

import pytest

from puma.runtimes.stops import blank_lead_stops, cut_at_stop


@pytest.mark.parametrize(
    ("text", "stops", "cut"),
    [
        ("\n", ("\n",), None),  # nothing but the blank lead: keep generating
        ("\n\n  ", ("\n",), None),
        ("\n High\nIssue", ("\n",), "\n High"),  # the lead is kept, the stop ends the answer
        (" B\n", ("\n",), " B"),
        (" B", ("\n",), None),  # no stop yet
        ("A\nIssue A:", ("\nIssue A:", "\n\n\n"), "A"),
        ("\nIssue A: x", ("\nIssue A:",), None),  # a stop at the very start does not count
        ("\nIssue A: x\nIssue A: y", ("\nIssue A:",), "\nIssue A: x"),
        ("High. Reason\n\n\n", ("\n\n\n", "\nReason"), "High. Reason"),
        ("High", (), None),
        ("High\n", ("",), None),  # an empty stop sequence stops nothing
    ],
)
def test_a_stop_ends_the_answer_only_after_its_first_non_blank_character(
    text: str, stops: tuple[str, ...], cut: str | None
) -> None:
    assert cut_at_stop(text, stops) == cut


def test_the_stops_a_server_could_hit_before_any_text_are_those_opening_with_whitespace() -> None:
    assert blank_lead_stops(("\n", "\nIssue A:", "Issue", " ", "")) == ("\n", "\nIssue A:", " ")
