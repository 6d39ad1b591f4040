"""Output parsing: strict answers are ok, tolerant readings are fuzzy, ambiguity stays unparsed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puma.scenarios import ParsedOutput
from puma.suites.model import Suite
from puma.tasks import parse_output

STRATEGIES = ("zero-shot", "few-shot-3", "contextual-anchoring", "chain-of-thought")


def parsed(label: str | None, status: str, value: float | None = None) -> tuple:
    return (label, value, status)


def _summary(result: ParsedOutput) -> tuple:
    return (result.label, result.value, result.status)


TRIAGE_TABLE = [
    # strict: the whole answer is a label, any case, trailing punctuation allowed
    (" Major", parsed("Major", "ok")),
    ("major", parsed("Major", "ok")),
    ("CRITICAL.", parsed("Critical", "ok")),
    ("Trivial\n", parsed("Trivial", "ok")),
    ("  minor!  ", parsed("Minor", "ok")),
    # tolerant: prefixes, markdown, quotes, explanations
    ("Priority: Major", parsed("Major", "fuzzy")),
    ("**Major**", parsed("Major", "fuzzy")),
    ('"Minor"', parsed("Minor", "fuzzy")),
    ("'Trivial'", parsed("Trivial", "fuzzy")),
    ("The priority is Critical because the cluster cannot start.", parsed("Critical", "fuzzy")),
    ("Major\n\nIt is more than a minor annoyance for users.", parsed("Major", "fuzzy")),
    ("This is a major regression, but the priority is Minor", parsed("Minor", "fuzzy")),
    ("There is no workaround, so Critical", parsed("Critical", "fuzzy")),
    ("There is no workaround so Critical", parsed("Critical", "fuzzy")),
    # negation: a negated label is never the answer
    ("not critical, Minor", parsed("Minor", "fuzzy")),
    ("Critical? No — Major", parsed("Major", "fuzzy")),
    ("Critical? No, Major.", parsed("Major", "fuzzy")),
    ("Major, not Critical", parsed("Major", "fuzzy")),
    ("Major (not Critical)", parsed("Major", "fuzzy")),
    ("It isn't Critical; Minor.", parsed("Minor", "fuzzy")),
    ("Not really a critical issue. Minor", parsed("Minor", "fuzzy")),
    ("Neither Major nor Minor, it's Trivial", parsed("Trivial", "fuzzy")),
    ("Not Critical or Major: Minor", parsed("Minor", "fuzzy")),
    ("non-critical issue; Minor", parsed("Minor", "fuzzy")),
    ("Critical - no, Major", parsed("Major", "fuzzy")),
    ("I'd say Major: worse than Minor, yet below Critical.", parsed("Major", "fuzzy")),
    ("**Priority:** Major\n\n**Why:** critical for a few users only", parsed("Major", "fuzzy")),
    ("The priority of this issue is **Minor**.", parsed("Minor", "fuzzy")),
    # unparsed: nothing, only negations, or two labels equally plausible
    ("", parsed(None, "unparsed")),
    ("I cannot tell.", parsed(None, "unparsed")),
    ("It is not Critical.", parsed(None, "unparsed")),
    ("Critical or Major", parsed(None, "unparsed")),
    ("Between Critical and Minor.", parsed(None, "unparsed")),
    ("Minority report", parsed(None, "unparsed")),
    ("Majorly broken", parsed(None, "unparsed")),
    ("Blocker", parsed(None, "unparsed")),
]


@pytest.mark.parametrize(("text", "expected"), TRIAGE_TABLE)
def test_triage_outputs_parse_as_the_table_says(
    triage_suite: Suite, text: str, expected: tuple
) -> None:
    assert _summary(parse_output(triage_suite, text, "zero-shot")) == expected


ESTIMATION_TABLE = [
    # strict: the whole answer is a number on the scale
    (" 5", parsed("5", "ok", 5.0)),
    ("3.0", parsed("3", "ok", 3.0)),
    (" 3 ", parsed("3", "ok", 3.0)),
    ("8.", parsed("8", "ok", 8.0)),
    ("21", parsed("21", "ok", 21.0)),
    # a plausible number off the Fibonacci scale is kept as said, never snapped
    ("4", parsed("4", "fuzzy", 4.0)),
    ("2.5", parsed("2.5", "fuzzy", 2.5)),
    ("40", parsed("40", "fuzzy", 40.0)),
    # tolerant
    ("5 points", parsed("5", "fuzzy", 5.0)),
    ("5 story points", parsed("5", "fuzzy", 5.0)),
    ("5pts", parsed("5", "fuzzy", 5.0)),
    ("a 3-point story", parsed("3", "fuzzy", 3.0)),
    ("about 8", parsed("8", "fuzzy", 8.0)),
    ("**13**", parsed("13", "fuzzy", 13.0)),
    ("Story points: 8", parsed("8", "fuzzy", 8.0)),
    ("Story points: five", parsed("5", "fuzzy", 5.0)),
    ("Estimate: 3.0 points", parsed("3", "fuzzy", 3.0)),
    ("HDFS-1234 needs 3 points", parsed("3", "fuzzy", 3.0)),
    ("not 3, but 5", parsed("5", "fuzzy", 5.0)),
    ("Step 1 then step 2. Story points: 8", parsed("8", "fuzzy", 8.0)),
    ("1. Read the code\n2. Estimate: 5", parsed("5", "fuzzy", 5.0)),
    ("It touches 3 files, so 5 points", parsed("5", "fuzzy", 5.0)),
    ("8\n\nIt touches 3 services.", parsed("8", "fuzzy", 8.0)),
    ("**Story Points: 5**\n\nThe story involves 3 components.", parsed("5", "fuzzy", 5.0)),
    ("I estimate this at 8 story points.", parsed("8", "fuzzy", 8.0)),
    # unparsed
    ("1. Read the code", parsed(None, "unparsed")),
    ("2) Write tests", parsed(None, "unparsed")),
    ("0", parsed(None, "unparsed")),
    ("200", parsed(None, "unparsed")),
    ("-3", parsed(None, "unparsed")),
    ("50%", parsed(None, "unparsed")),
    ("5-8 points", parsed(None, "unparsed")),
    ("3 or 5 points", parsed(None, "unparsed")),
    ("It touches 3 files, I'd say 5", parsed("5", "fuzzy", 5.0)),
    ("About 10 minutes of work: 2", parsed("2", "fuzzy", 2.0)),
    ("I want to drain agent 1", parsed(None, "unparsed")),
    ("Step 2: write tests", parsed(None, "unparsed")),
    ("Maybe 3, maybe 5", parsed(None, "unparsed")),
    ("version 2.3.1", parsed(None, "unparsed")),
    ("This one is big.", parsed(None, "unparsed")),
    ("Story points:", parsed(None, "unparsed")),
]


@pytest.mark.parametrize(("text", "expected"), ESTIMATION_TABLE)
def test_estimation_outputs_parse_as_the_table_says(
    estimation_suite: Suite, text: str, expected: tuple
) -> None:
    assert _summary(parse_output(estimation_suite, text, "zero-shot")) == expected


PRIORITIZATION_TABLE = [
    (" A", parsed("A", "ok")),
    ("b.", parsed("B", "ok")),
    ("B", parsed("B", "ok")),
    ("Issue A", parsed("A", "fuzzy")),
    ("issue b should go first", parsed("B", "fuzzy")),
    ("first: B", parsed("B", "fuzzy")),
    ("Answer: a", parsed("A", "fuzzy")),
    ("**B**", parsed("B", "fuzzy")),
    ("(B)", parsed("B", "fuzzy")),
    ("B is more urgent", parsed("B", "fuzzy")),
    ("I would pick a fix for B.", parsed("B", "fuzzy")),
    ("Issue B, not issue A", parsed("B", "fuzzy")),
    ("Not A, B.", parsed("B", "fuzzy")),
    # a lone "a" is an article, a list marker is a list
    ("A critical bug should come first", parsed(None, "unparsed")),
    ("A) Fix the crash\nB) Fix the typo", parsed(None, "unparsed")),
    ("Issue A or issue B", parsed(None, "unparsed")),
    ("Both matter.", parsed(None, "unparsed")),
]


@pytest.mark.parametrize(("text", "expected"), PRIORITIZATION_TABLE)
def test_prioritization_outputs_parse_as_the_table_says(
    prioritization_suite: Suite, text: str, expected: tuple
) -> None:
    assert _summary(parse_output(prioritization_suite, text, "zero-shot")) == expected


def test_a_negated_label_is_never_the_answer_even_when_first(triage_suite: Suite) -> None:
    assert parse_output(triage_suite, "not critical, Minor", "zero-shot").label == "Minor"
    assert parse_output(triage_suite, "Critical? No — Major", "zero-shot").label == "Major"


@pytest.mark.parametrize("text", ["3", "3.0", " 3 ", "3.000", "+3"])
def test_numbers_are_canonicalised_so_equal_values_are_one_label(
    estimation_suite: Suite, text: str
) -> None:
    result = parse_output(estimation_suite, text, "zero-shot")
    assert (result.label, result.value, result.status) == ("3", 3.0, "ok")


def test_fractional_estimates_keep_six_decimals(estimation_suite: Suite) -> None:
    result = parse_output(estimation_suite, "Story points: 2.1234567", "zero-shot")
    assert (result.label, result.value) == ("2.123457", 2.123457)


# --- reasoning ---------------------------------------------------------------------------------


def test_think_blocks_are_removed_before_parsing(triage_suite: Suite) -> None:
    text = "<think>It could be Critical, or maybe Minor.</think>\nMajor"
    assert parse_output(triage_suite, text, "zero-shot") == ParsedOutput(
        label="Major", status="ok", reasoning_stripped=True
    )


def test_a_lone_closing_think_tag_keeps_only_what_follows(triage_suite: Suite) -> None:
    result = parse_output(triage_suite, "Critical? Minor? Hmm.</think>\n\nMinor", "zero-shot")
    assert (result.label, result.status, result.reasoning_stripped) == ("Minor", "ok", True)


def test_thinking_cut_off_by_max_tokens_is_unparsed(triage_suite: Suite) -> None:
    result = parse_output(triage_suite, "<think>It is clearly Critical because", "zero-shot")
    assert (result.label, result.status, result.reasoning_stripped) == (None, "unparsed", True)


def test_chain_of_thought_reads_the_final_answer_line(triage_suite: Suite) -> None:
    text = " The cluster cannot start and it could look Major at first.\nPriority: Critical"
    assert parse_output(triage_suite, text, "chain-of-thought") == ParsedOutput(
        label="Critical", status="ok", reasoning_stripped=True
    )


def test_chain_of_thought_takes_the_first_answer_line(estimation_suite: Suite) -> None:
    # A base model answers, then keeps writing answer lines of records that do not exist.
    text = " It spans two services.\nStory points: 8\nStory points: 3\nStory points: 1"
    result = parse_output(estimation_suite, text, "chain-of-thought")
    assert (result.label, result.value, result.status) == ("8", 8.0, "ok")


def test_chain_of_thought_skips_answer_lines_without_an_answer(triage_suite: Suite) -> None:
    text = " Hard to say.\nPriority: it depends\nUsers lose data.\nPriority: Critical"
    result = parse_output(triage_suite, text, "chain-of-thought")
    assert (result.label, result.status) == ("Critical", "ok")


def test_chain_of_thought_accepts_a_final_answer_cue(prioritization_suite: Suite) -> None:
    text = "A loses data; B is cosmetic.\n**Final answer:** A"
    result = parse_output(prioritization_suite, text, "chain-of-thought")
    assert (result.label, result.status, result.reasoning_stripped) == ("A", "fuzzy", True)


def test_chain_of_thought_with_think_block_and_answer_line(triage_suite: Suite) -> None:
    text = (
        "<think>Minor? No, users lose data.</think>\nData loss for every user.\nPriority: Critical"
    )
    result = parse_output(triage_suite, text, "chain-of-thought")
    assert (result.label, result.status, result.reasoning_stripped) == ("Critical", "ok", True)


def test_chain_of_thought_without_answer_line_reads_the_last_line(triage_suite: Suite) -> None:
    text = " Users cannot start the cluster, it might seem Minor to some.\nSo it is Critical."
    result = parse_output(triage_suite, text, "chain-of-thought")
    assert (result.label, result.status, result.reasoning_stripped) == ("Critical", "fuzzy", True)


def test_chain_of_thought_with_a_bare_answer_is_strict(estimation_suite: Suite) -> None:
    result = parse_output(estimation_suite, "13", "chain-of-thought")
    assert (result.label, result.status, result.reasoning_stripped) == ("13", "ok", False)


def test_reasoning_that_names_two_labels_without_an_answer_is_unparsed(
    triage_suite: Suite,
) -> None:
    text = " It is either Critical or Major."
    assert parse_output(triage_suite, text, "chain-of-thought").status == "unparsed"


# --- never raises ------------------------------------------------------------------------------

_ANSWERISH = st.sampled_from(
    ["Critical", "Major", "minor", "TRIVIAL", "A", "b", "5", "3.0", "not", "no", "?", "Priority:",
     "Story points:", "First:", "<think>", "</think>", "**", "\n", " ", "1.", "-", "issue", "—"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(), st.lists(_ANSWERISH | st.text(max_size=5)).map("".join)),
    strategy=st.sampled_from(STRATEGIES),
)
def test_parsing_never_raises_and_always_returns_a_known_status(
    suites: dict, text: str, strategy: str
) -> None:
    for suite in suites.values():
        result = parse_output(suite, text, strategy)
        assert result.status in ("ok", "fuzzy", "unparsed")
        assert (result.label is None) == (result.status == "unparsed")
        if result.label is not None and suite.labels:
            assert result.label in suite.labels


@settings(max_examples=100, deadline=None)
@given(
    label_index=st.integers(0, 3),
    case=st.sampled_from([str.lower, str.upper, str.title]),
    padding=st.sampled_from(["", " ", "\n", "  \t"]),
    punctuation=st.sampled_from(["", ".", "!"]),
)
def test_any_spelling_of_a_label_alone_is_strict(
    triage_suite: Suite, label_index: int, case, padding: str, punctuation: str
) -> None:
    label = triage_suite.labels[label_index]
    text = padding + case(label) + punctuation + padding
    assert parse_output(triage_suite, text, "zero-shot") == ParsedOutput(label=label, status="ok")


@settings(max_examples=100, deadline=None)
@given(value=st.integers(1, 100) | st.floats(1, 100, allow_nan=False).map(lambda v: round(v, 3)))
def test_any_plausible_number_alone_round_trips(estimation_suite: Suite, value: float) -> None:
    result = parse_output(estimation_suite, f"{value}", "zero-shot")
    assert result.value == pytest.approx(float(value))
    assert result.status == ("ok" if value in (1, 2, 3, 5, 8, 13, 21) else "fuzzy")


@settings(max_examples=100, deadline=None)
@given(
    pair=st.permutations(["Critical", "Major", "Minor", "Trivial"]).map(lambda p: p[:2]),
    template=st.sampled_from(
        ["not {wrong}, {right}", "{wrong}? No — {right}", "{right}, not {wrong}",
         "It isn't {wrong}. {right}.", "Not {wrong} but {right}", "{right} (rather than {wrong})"]
    ),
    case=st.sampled_from([str, str.lower, str.upper]),
)  # fmt: skip
def test_a_negated_label_never_wins_over_the_affirmed_one(
    triage_suite: Suite, pair: list[str], template: str, case
) -> None:
    wrong, right = pair
    text = template.format(wrong=case(wrong), right=case(right))
    result = parse_output(triage_suite, text, "zero-shot")
    assert (result.label, result.status) == (right, "fuzzy")
