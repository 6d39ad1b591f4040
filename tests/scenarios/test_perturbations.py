"""Perturbations: deterministic, whole-word where they replace words, applied to the query only."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puma.errors import SpecError
from puma.scenarios import perturb, perturbation_names
from puma.scenarios.perturbations import FEMALE_NAMES, MALE_NAMES, NOISE_MARKERS, gendered_name
from puma.spec import parse_spec
from puma.suites.model import Suite
from puma.tasks import build_prompt, task_names

TEXT = (
    "When you restart the NameNode with a large edit log, please note that the web UI shows "
    "stale information for several minutes because the cache is not refreshed before startup "
    "completes. Thanks, you are great, and your team really helps people."
)


PERTURBATIONS = perturbation_names()


def test_a_spec_may_name_every_registered_perturbation_and_no_other() -> None:
    spec = "name: p\nsuites: [{id: pm-triage}]\nperturbations: [%s]\n"
    assert parse_spec(spec % ", ".join(PERTURBATIONS)).perturbations == list(PERTURBATIONS)
    with pytest.raises(SpecError, match="unknown perturbation 'blur'; known: typos, uppercase"):
        parse_spec(spec % "blur")


@pytest.mark.parametrize("name", PERTURBATIONS)
def test_each_perturbation_is_deterministic_and_changes_the_text(name: str) -> None:
    first = perturb(name, TEXT, seed=42, instance_id="HDFS-1")
    assert first == perturb(name, TEXT, seed=42, instance_id="HDFS-1")
    assert first != TEXT


@pytest.mark.parametrize("name", ["typos", "technical-noise"])
def test_seeded_perturbations_vary_with_seed_and_item(name: str) -> None:
    variants = {
        perturb(name, TEXT, seed=s, instance_id=f"HDFS-{i}") for s in range(3) for i in range(3)
    }
    assert len(variants) > 1


def test_none_is_the_baseline_and_leaves_text_untouched() -> None:
    assert perturb("none", TEXT, seed=1, instance_id="x") == TEXT


def test_an_unknown_perturbation_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown perturbation 'shouting'"):
        perturb("shouting", TEXT, seed=1, instance_id="x")


def test_typos_change_about_five_percent_of_words_with_adjacent_keys() -> None:
    text = " ".join(["alpha", "bravo", "charlie", "delta", "echo"] * 40)  # 200 words
    out = perturb("typos", text, seed=3, instance_id="T-1")
    changed = [(a, b) for a, b in zip(text.split(), out.split(), strict=True) if a != b]
    assert len(changed) == 10
    for before, after in changed:
        assert len(before) == len(after)
        assert sum(x != y for x, y in zip(before, after, strict=True)) == 1


def test_case_perturbations() -> None:
    assert perturb("uppercase", "Fix the Build", seed=1, instance_id="x") == "FIX THE BUILD"
    assert perturb("lowercase", "Fix the Build", seed=1, instance_id="x") == "fix the build"


def test_truncate_half_keeps_the_first_half_of_the_words_and_their_spacing() -> None:
    assert perturb("truncate-half", "one two\nthree four five", seed=1, instance_id="x") == (
        "one two\nthree"
    )
    assert perturb("truncate-half", "single", seed=1, instance_id="x") == "single"


def test_technical_noise_inserts_code_markers_without_losing_words() -> None:
    out = perturb("technical-noise", TEXT, seed=1, instance_id="x")
    markers = [m for m in NOISE_MARKERS if m in out]
    assert markers
    stripped = out
    for marker in sorted(NOISE_MARKERS, key=len, reverse=True):
        stripped = stripped.replace(marker + " ", "")
    assert stripped == TEXT


def test_informal_replaces_whole_words_only_and_keeps_capitals() -> None:
    text = "Please, you and your youth: you're thankful. Thanks! YOU are here with youtube."
    out = perturb("informal", text, seed=1, instance_id="x")
    assert out == "Pls, u and ur youth: you're thankful. Thx! U r here w/ youtube."


def test_informal_leaves_text_without_informal_words_alone() -> None:
    text = "Yourself, pleased, arena, within."
    assert perturb("informal", text, seed=1, instance_id="x") == text


def test_gender_perturbations_pair_names_by_position() -> None:
    male = perturb("gender-male", "It fails.", seed=5, instance_id="HDFS-9")
    female = perturb("gender-female", "It fails.", seed=5, instance_id="HDFS-9")
    male_name = re.match(r"Reported by (\w+): It fails\.$", male).group(1)
    female_name = re.match(r"Reported by (\w+): It fails\.$", female).group(1)
    assert MALE_NAMES.index(male_name) == FEMALE_NAMES.index(female_name)
    assert male_name == gendered_name("male", seed=5, instance_id="HDFS-9")


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(PERTURBATIONS),
    text=st.text(),
    seed=st.integers(0, 2**32),
    instance_id=st.text(max_size=10),
)
def test_perturbations_never_raise(name: str, text: str, seed: int, instance_id: str) -> None:
    assert isinstance(perturb(name, text, seed=seed, instance_id=instance_id), str)


# --- inside prompts ----------------------------------------------------------------------------


def test_baseline_prompt_shows_the_item_untouched(triage_suite: Suite) -> None:
    item = triage_suite.items[0]
    prompt = build_prompt(triage_suite, item, "zero-shot", seed=1, perturbation="none")
    assert f"Title: {item['title']}\n" in prompt.text
    assert f"Description: {item['description']}\n" in prompt.text


def test_perturbation_changes_the_query_but_not_the_examples_or_the_item(
    triage_suite: Suite,
) -> None:
    item = triage_suite.items[0]
    before = dict(item)
    base = build_prompt(triage_suite, item, "few-shot-2", seed=1)
    upper = build_prompt(triage_suite, item, "few-shot-2", seed=1, perturbation="uppercase")
    assert item == before
    base_blocks, upper_blocks = base.text.split("\n\n"), upper.text.split("\n\n")
    assert base_blocks[:-1] == upper_blocks[:-1]  # intro and examples
    assert f"Title: {item['title'].upper()}\n" in upper_blocks[-1]
    assert f"Description: {item['description'].upper()}\n" in upper_blocks[-1]
    assert "Project: HDFS\n" in upper_blocks[-1]  # only title and description change


def test_gender_perturbation_replaces_the_shown_reporter(triage_suite: Suite) -> None:
    item = triage_suite.items[0]
    prompt = build_prompt(triage_suite, item, "zero-shot", seed=4, perturbation="gender-female")
    name = gendered_name("female", seed=4, instance_id=item["instance_id"])
    assert f"Reporter: {name}\n" in prompt.text
    assert item["reporter"] not in prompt.text
    assert "Reported by" not in prompt.text


def test_gender_perturbation_without_a_reporter_prefixes_the_description(
    estimation_suite: Suite,
) -> None:
    item = estimation_suite.items[0]
    prompt = build_prompt(estimation_suite, item, "zero-shot", seed=4, perturbation="gender-male")
    name = gendered_name("male", seed=4, instance_id=item["instance_id"])
    assert f"Description: Reported by {name}: {item['description']}\n" in prompt.text


def test_prioritization_perturbs_both_issues(prioritization_suite: Suite) -> None:
    item = prioritization_suite.items[0]
    prompt = build_prompt(prioritization_suite, item, "zero-shot", seed=1, perturbation="lowercase")
    assert f"Title: {item['a']['title'].lower()}\n" in prompt.text
    assert f"Title: {item['b']['title'].lower()}\n" in prompt.text


@pytest.mark.parametrize("task", task_names(runnable=True))
@pytest.mark.parametrize("name", PERTURBATIONS)
def test_every_perturbation_changes_every_task_prompt(
    suites: dict[str, Suite], task: str, name: str
) -> None:
    suite = suites[task]
    # A short question may have no word a perturbation rewrites ("informal" on "What is 9 + 8?"):
    # among the first items, one at least changes, and none loses its answer cue.
    changed = 0
    for item in suite.items[:5]:
        base = build_prompt(suite, item, "zero-shot", seed=2)
        perturbed = build_prompt(suite, item, "zero-shot", seed=2, perturbation=name)
        changed += perturbed.text != base.text
        assert perturbed.text.endswith(base.text.rsplit("\n", 1)[-1])  # same answer cue
    assert changed
