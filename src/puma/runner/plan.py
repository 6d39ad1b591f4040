"""The plan of a run: every call it must make, in a fixed order, with its prompt.

Order: suite, perturbation, repetition, item, then model — models alternate call by call, so a
mixed-model run exposes (and records) the cost of swapping models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from puma.hashing import prompt_hash
from puma.jsonio import dumps_canonical
from puma.predictions import BASELINE
from puma.runtimes.base import Prompt
from puma.spec import SpecFile
from puma.suites import Suite
from puma.tasks import build_prompt, gold_text


@dataclass(frozen=True)
class CallKey:
    suite_id: str
    model: str
    perturbation: str
    repetition: int
    instance_id: str

    @classmethod
    def of(cls, event: dict[str, Any]) -> CallKey:
        return cls(
            event["suite_id"],
            event["model"],
            event["perturbation"],
            int(event["repetition"]),
            event["instance_id"],
        )

    def sort_key(self) -> tuple[str, str, str, int, str]:
        return (self.suite_id, self.model, self.perturbation, self.repetition, self.instance_id)


@dataclass(frozen=True)
class PlannedCall:
    key: CallKey
    suite: Suite
    item: dict[str, Any]
    prompt: Prompt
    prompt_hash: str
    gold: str
    slices: str  # JSON object of slice values


def exact_prompt(prompt: Prompt, chat: bool) -> str:
    """The exact text sent: the completion prompt, or the chat messages as canonical JSON."""
    return dumps_canonical(list(prompt.messages)) if chat else prompt.text


def build_plan(spec: SpecFile, suites: list[Suite], models: list[str]) -> list[PlannedCall]:
    seed = spec.generation.seed
    chat = spec.runtime.uses_chat
    calls: list[PlannedCall] = []
    for suite, suite_spec in zip(suites, spec.suites, strict=True):
        slice_fields = suite_spec.slices or []
        for perturbation in [BASELINE, *spec.perturbations]:
            prompts = [
                build_prompt(suite, item, spec.strategy, seed=seed, perturbation=perturbation)
                for item in suite.items
            ]
            for repetition in range(spec.repetitions):
                for item, prompt in zip(suite.items, prompts, strict=True):
                    slices = json.dumps({f: str(item.get(f)) for f in slice_fields}, sort_keys=True)
                    for model in models:
                        calls.append(
                            PlannedCall(
                                key=CallKey(
                                    suite.id, model, perturbation, repetition, item["instance_id"]
                                ),
                                suite=suite,
                                item=item,
                                prompt=prompt,
                                prompt_hash=prompt_hash(exact_prompt(prompt, chat)),
                                gold=gold_text(suite, item),
                                slices=slices,
                            )
                        )
    return calls
