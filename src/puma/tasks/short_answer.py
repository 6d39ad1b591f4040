"""Short answers: a general question in, a short answer (a number, a word, a name) out.

Item fields: question, category (a slice: arithmetic, units, geography, ...); gold is the answer,
or several accepted answers separated by " | ". The prompt is templates/short_answer.j2. The answer
is the reply's first non-empty line, or what follows its last "Answer:" line. Two metrics: exact
match (the answer as written equals an accepted answer) and normalised match (equal after
`normalise_answer`: the headline). The chance predictor says the most frequent gold answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from puma.columns import CountedRows, ratio
from puma.predictions import canonical_number
from puma.scenarios.base import Scenario
from puma.scenarios.parsing import ParsedOutput
from puma.scenarios.perturbations import perturb_issue
from puma.suites.model import Suite
from puma.tasks.base import Chance, Encoded, PointSummary, Task, register_task
from puma.tasks.metrics import Metric, register_metric

ALTERNATIVES = "|"  # separates the accepted answers of one gold text

_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNITS = {word: value for value, word in enumerate(_UNIT_WORDS.split(" "))}
_TENS = {word: 10 * (index + 2) for index, word in enumerate(_TEN_WORDS.split(" "))}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ARTICLES = frozenset({"a", "an", "the"})
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TOKEN = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?|[^\W_]+")


def normalise_answer(text: str) -> str:
    """The one normalisation of short answers, applied alike to the answer and the gold:

    1. Unicode NFKC and case folding ("Ｐaris" and "PARIS" are "paris");
    2. thousands separators dropped between digits ("1,000" is "1000");
    3. punctuation and symbols dropped: what is left is words and numbers, a minus sign kept
       only in front of a number that does not follow a word ("-40" stays, "5-8" is "5 8");
    4. number words read as numbers, up to the billions ("twenty-one", "one hundred and five",
       "a thousand" are 21, 105 and 1000);
    5. numbers written canonically ("12.0" and "12" are "12", "0.50" is "0.5");
    6. the articles "a", "an" and "the" dropped;
    7. one space between the words that remain.
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)
    tokens = _TOKEN.findall(_THOUSANDS.sub("", text))
    words = _read_number_words(tokens)
    numbers = [_canonical(word) for word in words]
    return " ".join(word for word in numbers if word not in _ARTICLES)


def _canonical(token: str) -> str:
    number = canonical_number(token) if token[-1].isdigit() else None
    return token if number is None else str(number)


def _is_number_word(token: str) -> bool:
    return token in _UNITS or token in _TENS or token in _SCALES or token == "hundred"


def _read_number_words(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        # "a hundred", "a thousand": the article is the number one.
        if tokens[i] == "a" and i + 1 < len(tokens) and tokens[i + 1] in ("hundred", *_SCALES):
            tokens = [*tokens[:i], "one", *tokens[i + 1 :]]
        if not _is_number_word(tokens[i]) or tokens[i] in _SCALES or tokens[i] == "hundred":
            out.append(tokens[i])
            i += 1
            continue
        total = current = 0
        last = ""  # what the previous word was: "one two" is two numbers, "twenty one" one
        j = i
        while j < len(tokens):
            word = tokens[j]
            if word in _UNITS and last not in ("unit", "teen"):
                current += _UNITS[word]
                last = "unit" if _UNITS[word] < 10 else "teen"
            elif word in _TENS and last not in ("unit", "teen", "tens"):
                current += _TENS[word]
                last = "tens"
            elif word == "hundred" and last != "hundred":
                current = max(current, 1) * 100
                last = "hundred"
            elif word in _SCALES:
                total += max(current, 1) * _SCALES[word]
                current, last = 0, "scale"
            elif word == "and" and j + 1 < len(tokens) and _is_number_word(tokens[j + 1]):
                pass
            else:
                break
            j += 1
        out.append(str(total + current))
        i = j
    return out


def accepted_answers(gold: str) -> list[str]:
    """The accepted answers of a gold text ("carbon dioxide | CO2")."""
    return [part.strip() for part in str(gold).split(ALTERNATIVES) if part.strip()]


def exact_match(answer: str | None, gold: str) -> bool:
    """The answer, trimmed of surrounding white space, is one of the accepted answers as written."""
    return answer is not None and answer.strip() in accepted_answers(gold)


def normalised_match(answer: str | None, gold: str) -> bool:
    if answer is None:
        return False
    said = normalise_answer(answer)
    return bool(said) and any(said == normalise_answer(g) for g in accepted_answers(gold))


def perturbed_text(item: dict[str, Any], field: str, perturbation: str, *, seed: int) -> str:
    """An item's one free-text field under a perturbation, perturbed as an issue's description
    is (a gender perturbation prefixes it with a gendered name)."""
    issue = {"description": item[field]}
    instance_id = str(item["instance_id"])
    return str(
        perturb_issue(
            perturbation, issue, seed=seed, instance_id=instance_id, shows_reporter=False
        )["description"]
    )


# Parsing ----------------------------------------------------------------------------------------

_ANSWER_LINE = re.compile(r"^[\W_]*(?:final\s+)?answer[\W_]*?\s*[:=]\s*(.*)$", re.I | re.M)
MAX_ANSWER_CHARS = 200  # a longer "answer" line is a paragraph; it is kept, cut, and scored


def _answer_line(text: str) -> str | None:
    found = [m.group(1).strip() for m in _ANSWER_LINE.finditer(text) if m.group(1).strip()]
    return found[-1] if found else None


def _first_line(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


class ShortAnswerScenario(Scenario):
    template = "short_answer.j2"

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {}

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        return str(example["gold"])

    def perturbed(self, item: dict[str, Any], perturbation: str, *, seed: int) -> dict[str, Any]:
        # The question is the item's only text; a gender perturbation prefixes it with a name.
        return {**item, "question": perturbed_text(item, "question", perturbation, seed=seed)}

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        """One line that is not an answer cue: the answer as said."""
        lines = [line for line in answer.splitlines() if line.strip()]
        if len(lines) != 1 or _ANSWER_LINE.match(lines[0]):
            return None
        return ParsedOutput(label=lines[0].strip()[:MAX_ANSWER_CHARS], status="ok")

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        """The last "Answer:" line's answer, else the first non-empty line."""
        found = _answer_line(text) or _first_line(text)
        if found is None:
            return None
        return ParsedOutput(label=found[:MAX_ANSWER_CHARS], status="fuzzy")


# Statistics and metrics -------------------------------------------------------------------------


class ShortAnswerStats(CountedRows):
    """Per-item columns: count, unparsed, exact matches, normalised matches."""

    width = 4

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        out = np.zeros((len(gold), self.width))
        out[:, 0] = 1.0
        out[:, 1] = [p is None for p in pred]
        out[:, 2] = [exact_match(p, g) for g, p in zip(gold, pred, strict=True)]
        out[:, 3] = [normalised_match(p, g) for g, p in zip(gold, pred, strict=True)]
        return out

    @staticmethod
    def exact(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 2])

    @staticmethod
    def normalised(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 3])

    @staticmethod
    def exact_rate(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 2], s[..., 0])

    @staticmethod
    def normalised_rate(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 3], s[..., 0])


register_metric(
    Metric(
        "normalised_match",
        "normalised match",
        higher_is_better=True,
        sums=lambda x: x.stats.normalised_rate,
        numerator=lambda stats, m: stats.normalised(m),
        proportion=True,
        paired=True,
    )
)
register_metric(
    Metric(
        "exact_match",
        "exact match",
        higher_is_better=True,
        sums=lambda x: x.stats.exact_rate,
        numerator=lambda stats, m: stats.exact(m),
        proportion=True,
        paired=True,
    )
)


@register_task
class ShortAnswerTask(Task):
    name = "short-answer"
    scenario_class = ShortAnswerScenario
    metrics: ClassVar[tuple[str, ...]] = ("normalised_match", "exact_match", "parse_failure_rate")
    chance_metrics: ClassVar[tuple[str, ...]] = ("normalised_match",)
    headline_chance: ClassVar[str] = "most_frequent_answer"
    chance_names: ClassVar[Mapping[str, str]] = {"most_frequent_answer": "most frequent answer"}
    chance_description: ClassVar[str] = "the most frequent gold answer said for every item"

    def sufficient_stats(self, labels: Sequence[str]) -> ShortAnswerStats:
        return ShortAnswerStats()

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        gold = np.array([str(r["gold"]) for r in rows], dtype=object)
        pred = np.array(
            [None if r.get("predicted_label") is None else str(r["predicted_label"]) for r in rows],
            dtype=object,
        )
        return Encoded(gold, pred, np.zeros(len(rows)))

    def outcome(self, stats: ShortAnswerStats, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return stats.normalised(stats.row_columns(gold, pred)) > 0

    def chance(
        self,
        stats: ShortAnswerStats,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        first = np.unique(item, return_index=True)[1]
        answer = _most_frequent([str(g) for g in gold[first]])
        constant = np.full(len(gold), answer, dtype=object)
        return {"most_frequent_answer": Chance(answer, stats.columns(item, gold, constant, n))}

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        stats = ShortAnswerStats()
        g = np.array([str(v) for v in gold], dtype=object)
        rows = stats.row_columns(g, np.array(list(predicted), dtype=object))
        constant = np.full(len(g), _most_frequent(list(g)), dtype=object)
        chance = stats.row_columns(g, constant)
        return PointSummary(
            score=float(rows[:, 3].mean()) if len(g) else float("nan"),
            parse_failure_rate=float(rows[:, 1].mean()) if len(g) else float("nan"),
            model_rows=stats.normalised(rows),
            chance_rows=stats.normalised(chance),
        )

    def v1_scores(
        self, labels: Sequence[str], gold: Sequence[Any], rows: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # v1_scenario is None: submission/mapping.py refuses the suite before asking.
        raise NotImplementedError("schema v1 has no scenario for short answers")


def _most_frequent(golds: Sequence[str]) -> str:
    """The gold answer given most often (compared normalised); on a tie, the first in sorted
    order, so the predictor is the same whatever the order of the rows."""
    if not golds:
        return ""
    counts: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for gold in sorted(golds):
        first = (accepted_answers(gold) or [gold])[0]
        key = normalise_answer(first)
        counts[key] = counts.get(key, 0) + 1
        spelled.setdefault(key, first)
    return spelled[max(sorted(counts), key=lambda k: counts[k])]
