"""The speed phases' bundled data (`data/speed-phases.json`): the frozen prompts P-EASY,
P-MEDIUM and P-HARD, the filler text that sets prompt sizes and depths, the counting prompt for
generation, the 20 parallel questions and the context probe. Its SHA-256 goes into the manifest,
so two runs can be shown to have measured the same prompts.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from puma.hashing import sha256_hex
from puma.runtimes.base import Prompt

DATA_FILE = "speed-phases.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrozenPrompt(_Model):
    id: str
    text: str  # the completion prompt (base models)
    message: str  # the same request as one chat message


class GenerationPrompt(_Model):
    text: str
    message: str


class Question(_Model):
    id: str
    question: str
    answer: str


class ContextProbe(_Model):
    fact: str
    question: str
    answer: str
    template: str
    chars_per_token: float = Field(gt=0)


class SpeedData(_Model):
    schema_version: str
    license: str
    frozen_prompts: list[FrozenPrompt]
    filler: str
    generation_prompt: GenerationPrompt
    questions: list[Question]
    question_template: str
    context_probe: ContextProbe

    def filler_text(self, tokens: int) -> str:
        """About `tokens` tokens of filler (by the probe's characters per token), cut at a
        word; the runtime's own prompt-token count is what the figures use."""
        if tokens <= 0:
            return ""
        wanted = int(tokens * self.context_probe.chars_per_token)
        text = self.filler * (wanted // len(self.filler) + 1)
        cut = text[:wanted]
        return cut[: cut.rfind(" ")] if " " in cut else cut

    def question_prompt(self, question: Question) -> Prompt:
        text = self.question_template.format(question=question.question)
        return Prompt(text=text, messages=({"role": "user", "content": question.question},))

    def probe_prompt(self, filler_tokens: int) -> Prompt:
        probe = self.context_probe
        text = probe.template.format(
            fact=probe.fact, filler=self.filler_text(filler_tokens), question=probe.question
        )
        return Prompt(text=text, messages=({"role": "user", "content": text},))

    def recalled(self, output: str | None) -> bool:
        return bool(output) and self.context_probe.answer.lower() in (output or "").lower()


@cache
def _raw() -> bytes:
    return resources.files("puma.speed").joinpath("data", DATA_FILE).read_bytes()


def speed_data() -> SpeedData:
    return SpeedData.model_validate_json(_raw())


def speed_data_hash() -> str:
    return sha256_hex(_raw())
