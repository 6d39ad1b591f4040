"""Reading an answer out of model text: reasoning removal, strict and tolerant matching, negation.

Task scenarios supply the label mentions they recognise; this module decides which mention is the
answer. Strict means the whole answer is exactly a label or number; everything else is tolerant.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from puma.predictions import canonical_number

ParseStatus = Literal["ok", "fuzzy", "unparsed"]


@dataclass(frozen=True)
class ParsedOutput:
    """What a model's text means: the canonical label (or number text) and how it was found."""

    label: str | None
    value: float | None = None  # estimation: the estimate; classification: None
    status: ParseStatus = "unparsed"
    reasoning_stripped: bool = False


UNPARSED = ParsedOutput(label=None)


@dataclass(frozen=True)
class Mention:
    """One place in the text that names an answer; `label` is already canonical."""

    label: str
    start: int
    end: int


# --- reasoning ---------------------------------------------------------------------------------

_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1\s*>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)\s*>", re.I)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)>", re.I)


def strip_think(text: str) -> tuple[str, bool]:
    """Remove `<think>…</think>` blocks; returns the rest and whether anything was removed."""
    out = _THINK_BLOCK.sub(" ", text)
    # A lone closing tag: the chat template opened the block itself; only what follows counts.
    closes = list(_THINK_CLOSE.finditer(out))
    if closes:
        out = out[closes[-1].end() :]
    # A lone opening tag: the model ran out of tokens while thinking; the thought is no answer.
    opening = _THINK_OPEN.search(out)
    if opening:
        out = out[: opening.start()]
    return out, out != text


def final_answer_segments(text: str, cue_words: Sequence[str]) -> list[tuple[str, bool]]:
    """Answers written after an answer cue line ("Priority: Major"), in text order.

    The first one that reads as an answer counts: a base model commits to its answer on the
    first answer line and then often keeps writing more "Priority: …" lines that mean nothing.

    Each entry is (the rest of the cue's line, or the next non-empty line when the cue ends its
    line; whether text came before the cue, i.e. reasoning was skipped).
    """
    words = "|".join(re.escape(word) for word in cue_words)
    cue = re.compile(rf"^[\W_]*(?:{words})[\W_]*?\s*[:=]\s*(.*)$", re.I | re.M)
    found: list[tuple[str, bool]] = []
    for match in cue.finditer(text):
        segment = match.group(1).strip()
        if not segment:
            following = [line for line in text[match.end() :].splitlines() if line.strip()]
            segment = following[0].strip() if following else ""
        found.append((segment, bool(text[: match.start()].strip())))
    return found


# --- strict ------------------------------------------------------------------------------------

_TRAILING = " \t\r\n.!,;:"


def trim_answer(text: str) -> str:
    """The answer with surrounding whitespace and trailing punctuation removed."""
    return text.strip().rstrip(_TRAILING).strip()


def strict_label(text: str, labels: Iterable[str]) -> str | None:
    answer = trim_answer(text).casefold()
    return next((label for label in labels if label.casefold() == answer), None)


# --- tolerant ----------------------------------------------------------------------------------

_MARKUP = re.compile(r"[*`\"“”#]|</?[A-Za-z_]+\s*>|(?<!\w)_+|_+(?!\w)")


def clean_markup(text: str) -> str:
    """Drop markdown emphasis, quotes and tags so they cannot hide a label from a word match."""
    return _MARKUP.sub("", text.replace("’", "'").replace("‘", "'"))


_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|hardly|cannot|rather\s+than|instead\s+of|other\s+than|"
    r"except|(?:is|are|was|were|wo|would|should|ca|do|does|did)n'?t|above|below|beyond|"
    r"(?:more|less|higher|lower|worse|better|bigger|smaller|greater)\s+than)\b",
    re.I,
)
_CLAUSE_BREAK = re.compile(
    r"[.;!?\n,:()\[\]—–]|\s-\s|\b(?:so|thus|therefore|hence|but|however|then|because|since|"
    r"whereas|although|though|yet|instead)\b",
    re.I,
)
_NEGATED_AFTER = re.compile(
    r"^\s*(?:\?\s*(?:no|nope|not|never)\b|[-—–:]\s*(?:no|nope)\b|"
    r"(?:is|would be|seems|sounds)\s+(?:wrong|incorrect|too\s+\w+|overkill|unlikely)\b)",
    re.I,
)
_OR_CHAIN = re.compile(r"^\s*(?:or|nor|/)\s*$", re.I)
_WORD = re.compile(r"[\w']+")
NEGATION_REACH = 2  # words allowed between "not" and the label: "not really a Critical"


def drop_negated(text: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions that are not negated: "not Critical", "Critical? No", "neither Major nor Minor"."""
    kept: list[Mention] = []
    previous: Mention | None = None
    previous_negated = False
    for mention in sorted(mentions, key=lambda m: m.start):
        start = previous.end if previous else 0
        gap = text[start : mention.start]
        negated = (
            _negated_before(gap)
            or bool(_NEGATED_AFTER.match(text[mention.end :]))
            or (previous_negated and bool(_OR_CHAIN.match(gap)))
        )
        if not negated:
            kept.append(mention)
        previous, previous_negated = mention, negated
    return kept


def _negated_before(gap: str) -> bool:
    breaks = list(_CLAUSE_BREAK.finditer(gap))
    window = gap[breaks[-1].end() :] if breaks else gap
    return any(
        len(_WORD.findall(window[negation.end() :])) <= NEGATION_REACH
        for negation in _NEGATION.finditer(window)
    )


def decide(tiers: Iterable[Sequence[Mention]]) -> str | None:
    """The answer from the most specific tier that names any: one label, or None when it names two.

    Two different labels in the same tier are equally plausible, so the output stays unparsed
    rather than being guessed.
    """
    for tier in tiers:
        labels = {mention.label for mention in tier}
        if len(labels) == 1:
            return labels.pop()
        if labels:
            return None
    return None


def cue_tier(text: str, mentions: Sequence[Mention], cue_words: Sequence[str]) -> list[Mention]:
    """Mentions on the line after the last answer cue that is followed by any mention."""
    words = "|".join(re.escape(word) for word in cue_words)
    cue = re.compile(rf"\b(?:{words})\b\s*(?:is|would\s+be|should\s+be|will\s+be|[:=\-–—])", re.I)
    for match in reversed(list(cue.finditer(text))):
        rest = text[match.end() :]
        lines = rest.split("\n")
        first_nonblank = next((i for i, line in enumerate(lines) if line.strip()), 0)
        end = match.end() + len("\n".join(lines[: first_nonblank + 1]))
        inside = [m for m in mentions if match.end() <= m.start < end]
        if inside:
            return inside
    return []


def first_line_tier(text: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions on the first line that has any text."""
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            return [m for m in mentions if offset <= m.start < offset + len(line)]
        offset += len(line) + 1
    return []


def word_mentions(text: str, labels: Iterable[str]) -> list[Mention]:
    """Whole-word, case-insensitive mentions of each label ("non-critical" is not "Critical")."""
    found: list[Mention] = []
    for label in labels:
        pattern = re.compile(rf"(?<![\w-]){re.escape(label)}(?![\w-])", re.I)
        found.extend(Mention(label, m.start(), m.end()) for m in pattern.finditer(text))
    return found


def tolerant_label(text: str, mentions: Sequence[Mention], cue_words: Sequence[str]) -> str | None:
    """Decide among label mentions: answer cue line, then first line, then the whole text."""
    live = drop_negated(text, mentions)
    return decide((cue_tier(text, live, cue_words), first_line_tier(text, live), live))


# --- numbers -----------------------------------------------------------------------------------

PLAUSIBLE_ESTIMATE = (1.0, 100.0)  # story points outside this range are not an estimate

_DIGITS = re.compile(r"(?<![\w.,/#$£€])(?<![A-Za-z]-)(\d+(?:\.\d+)?)(?![\d%]|[.,/]\d)")
_SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {word: index for index, word in enumerate(_SMALL_NUMBERS.split(" "))} | {
    "twenty-one": 21,
    "twenty one": 21,
}
_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.I
)
_UNIT = re.compile(r"^\s*-?\s*(?:story[\s-]*points?|points?|pts?|sp)\b", re.I)
_GLUED_LETTERS = re.compile(r"^[A-Za-z]+")
_COUNT_AFTER = re.compile(
    r"^\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|seconds?|secs?|ms|percent|"
    r"files?|lines?|times|people|persons?|developers?|devs?|engineers?|users?|nodes?|agents?|"
    r"servers?|steps?|tests?|bugs?|issues?|tickets?|classes|methods?|modules?|components?|"
    r"services?|endpoints?|dollars?|usd|eur|[kmgt]b)\b",
    re.I,
)
_IDENTIFIER_BEFORE = re.compile(
    r"\b(?:agent|node|server|step|version|v|release|issue|bug|ticket|sprint|phase|part|item|"
    r"option|line|page|section|chapter|task|iteration|stage|level|tier|case|example|test|no|"
    r"number|id|jdk|java|python|port|row|column|attempt|round|day|week|month|year|top|priority|"
    r"p|rank|team|group|epic)\s*[.#:]?\s*$",
    re.I,
)
_LIST_MARKER_AFTER = re.compile(r"^[.)]\s+\S")
_NUMBER_CUE_WORDS = (
    "story points",
    "story point",
    "points",
    "estimate",
    "estimated",
    "estimation",
    "answer",
    "final answer",
    "effort",
    "size",
    "sp",
)
_HEDGE_BEFORE = re.compile(
    r"(?:\b(?:about|around|roughly|approximately|approx\.?|maybe|probably)|[~≈])\s*$", re.I
)


@dataclass(frozen=True)
class NumberMention(Mention):
    has_unit: bool = False
    after_cue: bool = False
    spelled: bool = False


def number_mentions(text: str) -> list[NumberMention]:
    """Numbers that could be an estimate: not list markers, issue keys, versions or percentages."""
    cue_before = re.compile(
        r"\b(?:"
        + "|".join(re.escape(word) for word in _NUMBER_CUE_WORDS)
        + r")\b\s*(?:is|would\s+be|should\s+be|of|at|[:=\-–—])?\s*"
        + r"(?:about|around|roughly|approximately|~|≈)?\s*$",
        re.I,
    )
    found: list[NumberMention] = []
    for match in _DIGITS.finditer(text):
        rest = text[match.end() :]
        if _COUNT_AFTER.match(rest) or _IDENTIFIER_BEFORE.search(text[: match.start()]):
            continue  # "10 minutes", "3 files", "agent 1", "step 2" count or name something else
        glued = _GLUED_LETTERS.match(rest)
        if glued and not _UNIT.match(rest):  # "3rd", "2x", "10k" are not estimates
            continue
        before = text[max(0, match.start() - 2) : match.start()]
        if before.endswith("-") and not before[:-1].isalnum():
            continue  # "-3" is a negative number; "5-8" is a range and keeps its 8
        line_start = text.rfind("\n", 0, match.start()) + 1
        if not text[line_start : match.start()].strip() and _LIST_MARKER_AFTER.match(rest):
            continue  # "1. First step" / "2) then" at a line start is a list, not points
        found.append(
            _number_mention(text, match, str(canonical_number(match.group(1))), cue_before)
        )
    found = _join_ranges(text, found)
    for match in _WORD_NUMBER.finditer(text):
        label = str(_NUMBER_WORDS[match.group(1).lower().replace(" ", "-")])
        mention = _number_mention(text, match, label, cue_before, spelled=True)
        # A spelled number counts only with a unit or a cue: "this one" is not 1 point.
        if mention.has_unit or mention.after_cue:
            found.append(mention)
    return found


_RANGE_JOIN = re.compile(r"^\s*(?:-|–|—|to|or|/)\s*$", re.I)


def _join_ranges(text: str, mentions: list[NumberMention]) -> list[NumberMention]:
    """A range ("5-8 points", "3 or 5 points") gives both ends the unit and cue: neither wins."""
    out = list(mentions)
    for index in range(len(out) - 1):
        left, right = out[index], out[index + 1]
        if _RANGE_JOIN.match(text[left.end : right.start]):
            has_unit = left.has_unit or right.has_unit
            after_cue = left.after_cue or right.after_cue
            out[index] = dataclasses.replace(left, has_unit=has_unit, after_cue=after_cue)
            out[index + 1] = dataclasses.replace(right, has_unit=has_unit, after_cue=after_cue)
    return out


def _number_mention(
    text: str,
    match: re.Match[str],
    label: str,
    cue_before: re.Pattern[str],
    *,
    spelled: bool = False,
) -> NumberMention:
    before = text[max(0, match.start() - 40) : match.start()]
    return NumberMention(
        label=label,
        start=match.start(),
        end=match.end(),
        has_unit=bool(_UNIT.match(text[match.end() :])),
        after_cue=bool(cue_before.search(before) or _HEDGE_BEFORE.search(before)),
        spelled=spelled,
    )


def plausible_estimate(value: float) -> bool:
    low, high = PLAUSIBLE_ESTIMATE
    return low <= value <= high


def tolerant_number(text: str) -> str | None:
    """The one estimate the text commits to: "5 points", "Story points: 8", "about 3", "**13**"."""
    mentions = [m for m in number_mentions(text) if plausible_estimate(float(m.label))]
    live = [m for m in drop_negated(text, mentions) if isinstance(m, NumberMention)]
    return decide(
        (
            [m for m in live if m.has_unit],
            [m for m in live if m.after_cue],
            first_line_tier(text, [m for m in live if not m.spelled]),
            [m for m in live if not m.spelled],
        )
    )
