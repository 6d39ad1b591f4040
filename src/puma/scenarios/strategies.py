"""Prompting strategies (the spec's `strategy` field) and deterministic few-shot example choice.

A strategy name becomes a `Strategy` value that the templates read; few-shot examples come from
the suite's example pool, ordered by a seeded hash so the same seed and item give the same shots.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from puma.errors import SpecError, SuiteError
from puma.hashing import sha256_hex

# Reasoning needs room: a 16-token budget (the spec default) cuts every chain of thought short.
REASONING_MAX_TOKENS = 256


@dataclass(frozen=True)
class Strategy:
    """What a strategy asks of the prompt. Templates read these fields, never the name."""

    name: str
    shots: int = 0  # few-shot examples before the query
    anchoring: bool = False  # define every label / point value before the query
    reasoning: bool = False  # let the model reason before the final answer line
    schema_v1: str | None = None  # its name in submission schema v1, which has a closed list

    @property
    def max_tokens_floor(self) -> int:
        """The smallest `max_tokens` that lets this strategy finish an answer."""
        return REASONING_MAX_TOKENS if self.reasoning else 1


# The one list of strategy names: the spec, the prompts and the submission mapping ask here.
_FIXED = {
    "zero-shot": Strategy("zero-shot", schema_v1="zero_shot"),
    "contextual-anchoring": Strategy(
        "contextual-anchoring", anchoring=True, schema_v1="contextual_anchoring"
    ),
    "chain-of-thought": Strategy("chain-of-thought", reasoning=True, schema_v1="zero_shot_cot"),
}
_FEW_SHOT = re.compile(r"^few-shot-([1-9][0-9]?)$")
SCHEMA_V1_SHOTS = (3, 6)  # the few-shot counts schema v1 has a name for


def strategy_names() -> tuple[str, ...]:
    """The strategy names a spec may use; `few-shot-K` stands for K from 1 to 99."""
    first, *others = _FIXED
    return (first, "few-shot-K", *others)


def strategy_choices() -> str:
    """The names as a sentence: "zero-shot, few-shot-K (K from 1 to 99), ... or ..."."""
    names = [f"{n} (K from 1 to 99)" if n == "few-shot-K" else n for n in strategy_names()]
    return ", ".join(names[:-1]) + " or " + names[-1]


def schema_v1_strategies() -> tuple[str, ...]:
    """The strategy names that have a name in submission schema v1."""
    first, *others = _FIXED
    return (first, *(f"few-shot-{k}" for k in SCHEMA_V1_SHOTS), *others)


def is_strategy(name: str) -> bool:
    return name in _FIXED or _FEW_SHOT.match(name) is not None


def parse_strategy(name: str) -> Strategy:
    if name in _FIXED:
        return _FIXED[name]
    match = _FEW_SHOT.match(name)
    if match:
        shots = int(match.group(1))
        v1 = f"few_shot_{shots}" if shots in SCHEMA_V1_SHOTS else None
        return Strategy(name, shots=shots, schema_v1=v1)
    raise SpecError(
        f"unknown strategy {name!r}", where="strategy", hint=f"use {strategy_choices()}"
    )


def select_examples(
    pool: Sequence[dict[str, Any]],
    item: dict[str, Any],
    k: int,
    *,
    seed: int,
    answer_of: Callable[[dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """K examples for one item: seeded, never the item itself, balanced across answers.

    Each example gets a rank from a hash of (seed, item id, example id). Examples are grouped by
    answer; groups take turns (best-ranked group first) so every label appears before any repeats,
    and the chosen shots are shown in rank order so the last shot's label is not always the same.
    """
    item_id = str(item["instance_id"])
    candidates = [ex for ex in pool if not _same_issue(ex, item)]
    if len(candidates) < k:
        raise SuiteError(
            f"few-shot-{k} needs {k} examples but the suite's example pool has {len(candidates)}",
            hint="choose a smaller K or a suite with a larger example pool",
        )

    def rank(example: dict[str, Any]) -> str:
        return sha256_hex(f"{seed}\x1f{item_id}\x1f{_example_id(example)}")

    groups: dict[str, list[dict[str, Any]]] = {}
    for example in sorted(candidates, key=rank):
        groups.setdefault(answer_of(example), []).append(example)
    queues = list(groups.values())  # dicts keep insertion order: best-ranked group first
    chosen: list[dict[str, Any]] = []
    while len(chosen) < k:
        for queue in queues:
            if queue and len(chosen) < k:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=rank)


def _example_id(example: dict[str, Any]) -> str:
    if "instance_id" in example:
        return str(example["instance_id"])
    return sha256_hex(repr(sorted(example.items())))


def _same_issue(example: dict[str, Any], item: dict[str, Any]) -> bool:
    # The pool is meant to be disjoint from the items; checking the text too keeps a duplicated
    # issue (same title and description under another id) from giving the answer away.
    if _example_id(example) == str(item["instance_id"]):
        return True
    text_keys = ("title", "description", "a", "b")
    shared = [key for key in text_keys if key in example and key in item]
    return bool(shared) and all(example[key] == item[key] for key in shared)
