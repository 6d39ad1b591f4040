"""Robustness perturbations: deterministic rewrites of an item's text (the spec's `perturbations`).

Each perturbation registers under its spec name; randomness comes only from a hash of the seed and
the instance id, so a perturbed prompt is the same bytes on every machine.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from puma.errors import SpecError
from puma.hashing import sha256_hex
from puma.predictions import BASELINE

Rewrite = Callable[[str, random.Random], str]
Gender = Literal["male", "female"]


@dataclass(frozen=True)
class Perturbation:
    name: str
    rewrite: Rewrite
    gender: Gender | None = None  # gender-*: the reporter becomes a gendered name

    @property
    def stream(self) -> str:
        """Name of the random stream; both genders share one so an item's names are paired."""
        return "gender" if self.gender else self.name


_REGISTRY: dict[str, Perturbation] = {}


def register_perturbation(
    name: str, *, gender: Gender | None = None
) -> Callable[[Rewrite], Rewrite]:
    def decorate(rewrite: Rewrite) -> Rewrite:
        _REGISTRY[name] = Perturbation(name, rewrite, gender)
        return rewrite

    return decorate


def perturbation_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def perturb(name: str, text: str, *, seed: int, instance_id: str) -> str:
    """`text` rewritten by the perturbation `name`; "none" returns it unchanged."""
    if name == BASELINE:
        return text
    perturbation = _lookup(name)
    return perturbation.rewrite(text, _rng(perturbation.stream, seed, instance_id))


def perturb_issue(
    name: str,
    issue: dict[str, Any],
    *,
    seed: int,
    instance_id: str,
    fields: Iterable[str] = ("title", "description"),
    shows_reporter: bool = True,
) -> dict[str, Any]:
    """A copy of one issue with its text fields perturbed (the input is never modified).

    Gender perturbations name the reporter: a prompt that shows the reporter gets a gendered name
    in that field; otherwise the description gains a "Reported by <name>:" prefix.
    """
    if name == BASELINE:
        return dict(issue)
    perturbation = _lookup(name)
    out = dict(issue)
    if perturbation.gender is not None:
        if shows_reporter and "reporter" in issue:
            out["reporter"] = gendered_name(perturbation.gender, seed=seed, instance_id=instance_id)
        elif isinstance(issue.get("description"), str):
            out["description"] = perturb(
                name, issue["description"], seed=seed, instance_id=instance_id
            )
        return out
    for field in fields:
        if isinstance(issue.get(field), str):
            # Each field gets its own random stream so title and description do not share typos.
            out[field] = perturb(
                name, issue[field], seed=seed, instance_id=f"{instance_id}/{field}"
            )
    return out


def _lookup(name: str) -> Perturbation:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join((BASELINE, *_REGISTRY))
        raise SpecError(f"unknown perturbation {name!r}; known: {known}") from None


def _rng(stream: str, seed: int, instance_id: str) -> random.Random:
    return random.Random(int(sha256_hex(f"{stream}\x1f{seed}\x1f{instance_id}"), 16))


# --- typos -------------------------------------------------------------------------------------

TYPO_RATE = 0.05
_ADJACENT_KEYS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx",
    "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip
_TYPO_WORD = re.compile(r"[A-Za-z]{3,}")


@register_perturbation("typos")
def _typos(text: str, rng: random.Random) -> str:
    """About 5% of words (at least one) get one letter replaced by a neighbouring key."""
    words = list(_TYPO_WORD.finditer(text))
    if not words:
        return text
    count = max(1, round(len(words) * TYPO_RATE))
    chosen = sorted(rng.sample(range(len(words)), count))
    out, last = [], 0
    for index in chosen:
        match = words[index]
        word = match.group()
        at = rng.randrange(len(word))
        replacement = rng.choice(_ADJACENT_KEYS[word[at].lower()])
        if word[at].isupper():
            replacement = replacement.upper()
        out.append(text[last : match.start()] + word[:at] + replacement + word[at + 1 :])
        last = match.end()
    out.append(text[last:])
    return "".join(out)


# --- case --------------------------------------------------------------------------------------


@register_perturbation("uppercase")
def _uppercase(text: str, rng: random.Random) -> str:
    return text.upper()


@register_perturbation("lowercase")
def _lowercase(text: str, rng: random.Random) -> str:
    return text.lower()


# --- truncation --------------------------------------------------------------------------------

_WORD_SPAN = re.compile(r"\S+")


@register_perturbation("truncate-half")
def _truncate_half(text: str, rng: random.Random) -> str:
    """The first half of the words (rounded up), with the original spacing between them."""
    words = list(_WORD_SPAN.finditer(text))
    if len(words) < 2:
        return text
    keep = math.ceil(len(words) / 2)
    return text[: words[keep - 1].end()]


# --- technical noise ---------------------------------------------------------------------------

NOISE_MARKERS = ("TODO", "FIXME", "XXX", "TODO(cleanup)", "// FIXME", "# TODO", "HACK")
NOISE_EVERY_WORDS = 10  # one marker per ten words, at least one


@register_perturbation("technical-noise")
def _technical_noise(text: str, rng: random.Random) -> str:
    """Code-comment markers (TODO, FIXME, …) inserted before seeded words."""
    words = list(_WORD_SPAN.finditer(text))
    if not words:
        return f"{rng.choice(NOISE_MARKERS)} {text}".rstrip()
    count = max(1, round(len(words) / NOISE_EVERY_WORDS))
    chosen = sorted(rng.sample(range(len(words)), count))
    out, last = [], 0
    for index in chosen:
        start = words[index].start()
        out.append(text[last:start] + rng.choice(NOISE_MARKERS) + " ")
        last = start
    out.append(text[last:])
    return "".join(out)


# --- gender ------------------------------------------------------------------------------------

# Paired by position: the male and female variants of one item use names at the same index.
MALE_NAMES = ("Michael", "James", "David", "Robert", "Daniel", "Thomas", "Matthew", "Andrew")
FEMALE_NAMES = ("Sarah", "Emily", "Jessica", "Laura", "Anna", "Rachel", "Emma", "Olivia")


def gendered_name(gender: Gender, *, seed: int, instance_id: str) -> str:
    return _pick_name(gender, _rng("gender", seed, instance_id))


def _pick_name(gender: Gender, rng: random.Random) -> str:
    names = MALE_NAMES if gender == "male" else FEMALE_NAMES
    return names[rng.randrange(len(names))]


def _reported_by(gender: Gender) -> Rewrite:
    def rewrite(text: str, rng: random.Random) -> str:
        return f"Reported by {_pick_name(gender, rng)}: {text}"

    return rewrite


register_perturbation("gender-male", gender="male")(_reported_by("male"))
register_perturbation("gender-female", gender="female")(_reported_by("female"))


# --- informal ----------------------------------------------------------------------------------

INFORMAL_WORDS = {
    "please": "pls",
    "you": "u",
    "your": "ur",
    "are": "r",
    "thanks": "thx",
    "because": "cuz",
    "with": "w/",
    "without": "w/o",
    "people": "ppl",
    "really": "rly",
    "okay": "ok",
    "message": "msg",
    "tomorrow": "tmrw",
    "before": "b4",
    "probably": "prob",
    "information": "info",
    "something": "smth",
    "going to": "gonna",
    "want to": "wanna",
}
_INFORMAL = re.compile(
    r"(?<![\w'’-])("
    + "|".join(re.escape(phrase).replace(r"\ ", r"\s+") for phrase in INFORMAL_WORDS)
    + r")(?![\w'’-])",
    re.I,
)


@register_perturbation("informal")
def _informal(text: str, rng: random.Random) -> str:
    """Whole words only ("you" becomes "u", "youth" and "you're" stay), keeping capitals."""

    def replace(match: re.Match[str]) -> str:
        found = match.group(1)
        short = INFORMAL_WORDS[re.sub(r"\s+", " ", found.lower())]
        if found.isupper() and len(found) > 1:
            return short.upper()
        if found[0].isupper():
            return short[0].upper() + short[1:]
        return short

    return _INFORMAL.sub(replace, text)
