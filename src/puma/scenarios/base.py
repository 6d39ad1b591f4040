"""The scenario interface: how a task kind turns items into prompts and model text into
predictions. Each task module (puma.tasks) defines its `Scenario` subclass; this module holds the
machinery they share (templates, strategies, perturbations, answer parsing).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import jinja2

from puma.errors import SuiteError
from puma.runtimes.base import Prompt
from puma.scenarios.parsing import (
    UNPARSED,
    Mention,
    ParsedOutput,
    clean_markup,
    final_answer_segments,
    strict_label,
    strip_think,
    tolerant_label,
    word_mentions,
)
from puma.scenarios.perturbations import perturb_issue
from puma.scenarios.rendering import chat_messages, render, task_module
from puma.scenarios.strategies import Strategy, select_examples
from puma.suites.model import Suite

# Words that introduce an answer in any task, besides the task's own cue ("Priority").
GENERIC_CUE_WORDS = ("final answer", "answer")


class Scenario(abc.ABC):
    """Prompt building and output parsing for one task kind (named `task` in messages)."""

    template: ClassVar[str]  # the `<task>.j2` file describing one item
    shows_reporter: ClassVar[bool] = False  # whether `template` renders the reporter field
    cue_words: ClassVar[tuple[str, ...]] = ()  # more words that introduce an answer
    # The fewest tokens an answer needs (a function body is longer than a label): a spec's
    # smaller max_tokens is raised to it, as a reasoning strategy's is.
    max_tokens_floor: ClassVar[int] = 1

    def __init__(self, task: str):
        self.task = task

    # --- what each task defines --------------------------------------------------------------

    @abc.abstractmethod
    def template_context(self, suite: Suite) -> dict[str, Any]:
        """Task variables the templates need (labels, points)."""

    @abc.abstractmethod
    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        """The canonical answer of a labelled item, as a few-shot example shows it."""

    def gold_text(self, suite: Suite, item: dict[str, Any]) -> str:
        """What a prediction is scored against: the canonical answer, unless the task scores
        against something a prompt must never show (a code task's hidden tests)."""
        return self.answer_text(suite, item)

    @abc.abstractmethod
    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        """The output when `answer` is exactly a label or number, else None."""

    @abc.abstractmethod
    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        """The output when `text` (markup removed) commits to one answer, else None."""

    def choices(self, suite: Suite) -> tuple[str, ...]:
        """Labels whose probabilities a runtime should score; none for numeric tasks."""
        return ()

    def perturbed(self, item: dict[str, Any], perturbation: str, *, seed: int) -> dict[str, Any]:
        return perturb_issue(
            perturbation,
            item,
            seed=seed,
            instance_id=str(item["instance_id"]),
            shows_reporter=self.shows_reporter,
        )

    # --- shared machinery --------------------------------------------------------------------

    def answer_cue(self, suite: Suite) -> str:
        return str(task_module(self.template, **self.template_context(suite)).answer_cue)

    def all_cue_words(self, suite: Suite) -> tuple[str, ...]:
        return (self.answer_cue(suite).lower(), *self.cue_words, *GENERIC_CUE_WORDS)

    def build_prompt(
        self,
        suite: Suite,
        item: dict[str, Any],
        strategy: Strategy,
        *,
        seed: int,
        perturbation: str,
    ) -> Prompt:
        examples = []
        if strategy.shots:
            chosen = select_examples(
                suite.examples,
                item,
                strategy.shots,
                seed=seed,
                answer_of=lambda example: self.answer_text(suite, example),
            )
            examples = [{"item": ex, "answer": self.answer_text(suite, ex)} for ex in chosen]
        task_context = self.template_context(suite)
        context = {
            "task_template": self.template,
            "strategy": strategy,
            "examples": examples,
            "item": self.perturbed(item, perturbation, seed=seed),
            **task_context,
        }
        module = task_module(self.template, **task_context)
        try:
            text, messages = render("completion.j2", **context), chat_messages(**context)
        except jinja2.UndefinedError as exc:
            raise SuiteError(
                f"item {item['instance_id']!r} lacks a field the {self.task} prompt needs: "
                f"{exc.message}",
                hint="the fields each task needs are listed in docs/commands/scenarios.md",
            ) from None
        return Prompt(
            text=text,
            messages=messages,
            stop=tuple(module.reasoning_stop if strategy.reasoning else module.stop),
            # A chain-of-thought prompt ends at its reasoning cue, where no label can be scored.
            choices=() if strategy.reasoning else self.choices(suite),
        )

    def parse(self, suite: Suite, text: str, strategy: Strategy) -> ParsedOutput:
        body, stripped = strip_think(text)
        found: ParsedOutput | None = None
        if strategy.reasoning:
            for segment, after_reasoning in final_answer_segments(body, self.all_cue_words(suite)):
                found = self.strict(suite, segment) or self.tolerant(suite, clean_markup(segment))
                if found is not None:
                    return dataclasses.replace(
                        found, reasoning_stripped=stripped or after_reasoning
                    )
        found = self.strict(suite, body)
        if found is None and strategy.reasoning:
            # No answer line: the reasoning's last line often still names the answer.
            lines = [line for line in clean_markup(body).splitlines() if line.strip()]
            if len(lines) > 1:
                found = self.tolerant(suite, lines[-1])
                stripped = stripped or found is not None
        if found is None:
            found = self.tolerant(suite, clean_markup(body))
        return dataclasses.replace(found or UNPARSED, reasoning_stripped=stripped)


class LabelScenario(Scenario):
    """A classification task: the answer is one of a fixed set of labels."""

    @abc.abstractmethod
    def labels(self, suite: Suite) -> tuple[str, ...]:
        """The canonical labels, in the order prompts list them."""

    def mentions(self, suite: Suite, text: str) -> list[Mention]:
        """Where `text` names a label; whole words, any case, by default."""
        return word_mentions(text, self.labels(suite))

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {"labels": self.labels(suite)}

    def choices(self, suite: Suite) -> tuple[str, ...]:
        return self.labels(suite)

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        gold = str(example["gold"])
        return strict_label(gold, self.labels(suite)) or gold

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        label = strict_label(answer, self.labels(suite))
        return None if label is None else ParsedOutput(label=label, status="ok")

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        label = tolerant_label(text, self.mentions(suite, text), self.all_cue_words(suite))
        return None if label is None else ParsedOutput(label=label, status="fuzzy")
