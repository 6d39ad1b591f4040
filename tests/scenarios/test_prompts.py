"""Prompt building: every strategy renders from the template files, deterministically, and the
completion text ends exactly at the answer cue so a base model continues with the answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import puma.scenarios
from puma.errors import SpecError, SuiteError
from puma.scenarios import parse_strategy, strategy_names
from puma.scenarios.rendering import DESCRIPTION_CHARS
from puma.suites.model import Suite
from puma.tasks import build_prompt, gold_text, task_for, task_names

STRATEGIES = ("zero-shot", "few-shot-3", "contextual-anchoring", "chain-of-thought")
ANSWER_CUES = {
    "triage": "Priority:",
    "estimation": "Story points:",
    "prioritization": "First:",
    "short-answer": "Answer:",
    "python-tasks": "Solution:",
}
# A code answer spans lines: it stops at the end of its code block or at the next record.
STOPS = {"python-tasks": ("\n```\n", "\nTask:", "\nSolution:")}
TEMPLATES = Path(puma.scenarios.__file__).parent / "templates"


def test_every_task_kind_has_its_scenario() -> None:
    for task in task_names(runnable=True):
        assert task_for(task).scenario.task == task


def test_strategy_names_match_the_spec() -> None:
    assert strategy_names() == (
        "zero-shot",
        "few-shot-K",
        "contextual-anchoring",
        "chain-of-thought",
    )
    assert parse_strategy("few-shot-12").shots == 12


@pytest.mark.parametrize("name", ["few-shot-0", "few-shot", "cot", "Zero-shot"])
def test_unknown_strategy_is_a_spec_error(triage_suite: Suite, name: str) -> None:
    with pytest.raises(SpecError, match="unknown strategy"):
        build_prompt(triage_suite, triage_suite.items[0], name, seed=1)


@pytest.mark.parametrize("task", task_names(runnable=True))
@pytest.mark.parametrize("strategy", ["zero-shot", "few-shot-3", "contextual-anchoring"])
def test_completion_text_ends_at_the_answer_cue_with_no_trailing_space(
    suites: dict[str, Suite], task: str, strategy: str
) -> None:
    suite = suites[task]
    prompt = build_prompt(suite, suite.items[0], strategy, seed=7)
    assert prompt.text.endswith("\n" + ANSWER_CUES[task])
    assert prompt.stop == STOPS.get(task, ("\n",))


@pytest.mark.parametrize("task", task_names(runnable=True))
def test_chain_of_thought_invites_reasoning_and_stops_only_at_the_next_record(
    suites: dict[str, Suite], task: str
) -> None:
    suite = suites[task]
    prompt = build_prompt(suite, suite.items[0], "chain-of-thought", seed=7)
    assert prompt.text.endswith("\nReasoning:")
    assert ANSWER_CUES[task] in prompt.text  # the instruction names the final-answer line
    assert "\n" not in prompt.stop  # reasoning spans lines
    assert prompt.choices == ()  # no label can be scored right after "Reasoning:"
    assert ANSWER_CUES[task].rstrip(":") in prompt.messages[1]["content"]
    assert parse_strategy("chain-of-thought").max_tokens_floor >= 256


def test_choices_are_the_labels_for_classification_and_empty_for_estimation(
    suites: dict[str, Suite],
) -> None:
    def choices(task: str) -> tuple[str, ...]:
        return build_prompt(suites[task], suites[task].items[0], "zero-shot", seed=1).choices

    assert choices("triage") == ("Critical", "Major", "Minor", "Trivial")
    assert choices("prioritization") == ("A", "B")
    assert choices("estimation") == ()


@pytest.mark.parametrize("task", task_names(runnable=True))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_chat_messages_hold_the_same_item_and_ask_for_the_answer(
    suites: dict[str, Suite], task: str, strategy: str
) -> None:
    suite = suites[task]
    item = suite.items[1]
    prompt = build_prompt(suite, item, strategy, seed=7)
    system, user = prompt.messages
    assert (system["role"], user["role"]) == ("system", "user")
    title = item.get("title") or item.get("question") or item["a"]["title"]
    assert title in user["content"] and title in prompt.text
    expected = "Think step by step" if strategy == "chain-of-thought" else "alone"
    assert expected in user["content"]


@pytest.mark.parametrize("task", task_names(runnable=True))
def test_each_strategy_renders_a_different_prompt(suites: dict[str, Suite], task: str) -> None:
    suite = suites[task]
    prompts = [build_prompt(suite, suite.items[0], s, seed=7) for s in STRATEGIES]
    assert len({p.text for p in prompts}) == len(STRATEGIES)
    assert len({str(p.messages) for p in prompts}) == len(STRATEGIES)


def test_contextual_anchoring_defines_every_label_before_the_item(
    triage_suite: Suite, estimation_suite: Suite
) -> None:
    triage = build_prompt(triage_suite, triage_suite.items[0], "contextual-anchoring", seed=1)
    item_at = triage.text.index("Project:")
    for label in triage_suite.labels:
        assert 0 <= triage.text.index(f"- {label}:") < item_at
        assert f"- {label}:" in triage.messages[0]["content"]
    estimation = build_prompt(
        estimation_suite, estimation_suite.items[0], "contextual-anchoring", seed=1
    )
    for point in (1, 2, 3, 5, 8, 13, 21):
        assert f"\n- {point}: " in estimation.text


@pytest.mark.parametrize("task", task_names(runnable=True))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_arguments_give_the_same_bytes(
    suites: dict[str, Suite], task: str, strategy: str
) -> None:
    suite = suites[task]
    first = build_prompt(suite, suite.items[2], strategy, seed=3, perturbation="typos")
    again = build_prompt(suite, suite.items[2], strategy, seed=3, perturbation="typos")
    assert first == again


# --- few-shot ----------------------------------------------------------------------------------


def _shown_examples(prompt_text: str) -> list[str]:
    return re.findall(r"Title: .*\((EX\d+)\)", prompt_text)


def test_few_shot_choice_depends_only_on_seed_and_item(triage_suite: Suite) -> None:
    item = triage_suite.items[0]
    shots = _shown_examples(build_prompt(triage_suite, item, "few-shot-4", seed=1).text)
    assert shots == _shown_examples(build_prompt(triage_suite, item, "few-shot-4", seed=1).text)
    other_seeds = {
        tuple(_shown_examples(build_prompt(triage_suite, item, "few-shot-4", seed=s).text))
        for s in range(2, 8)
    }
    assert len(other_seeds | {tuple(shots)}) > 1
    other_item = build_prompt(triage_suite, triage_suite.items[1], "few-shot-4", seed=1).text
    assert len(shots) == 4 and (_shown_examples(other_item) != shots or len(other_seeds) > 1)


def test_few_shot_is_balanced_across_labels(triage_suite: Suite) -> None:
    for seed in range(10):
        prompt = build_prompt(triage_suite, triage_suite.items[0], "few-shot-4", seed=seed)
        answers = re.findall(r"^Priority: (\w+)$", prompt.text, re.M)
        assert sorted(answers) == sorted(triage_suite.labels)
        eight = build_prompt(triage_suite, triage_suite.items[0], "few-shot-8", seed=seed)
        answers = re.findall(r"^Priority: (\w+)$", eight.text, re.M)
        assert all(answers.count(label) == 2 for label in triage_suite.labels)


def test_few_shot_never_shows_the_item_itself(triage_suite: Suite) -> None:
    # A pool that (wrongly) contains the item, by id and as a renamed copy.
    item = triage_suite.items[0]
    copy = dict(item, instance_id="COPY-1")
    suite = triage_suite.model_copy(update={"examples": (item, copy, *triage_suite.examples)})
    for seed in range(20):
        prompt = build_prompt(suite, item, "few-shot-11", seed=seed)
        assert prompt.text.count(item["title"]) == 1  # the query only


def test_few_shot_examples_render_exactly_like_the_query(
    suites: dict[str, Suite],
) -> None:
    for task, suite in suites.items():
        if task == "python-tasks":
            continue  # a code answer spans lines: tests/tasks/test_python_tasks.py checks its shots
        prompt = build_prompt(suite, suite.items[0], "few-shot-2", seed=5)
        blocks = prompt.text.split("\n\n")[1:]  # after the intro: example, example, query
        assert len(blocks) == 3
        cue = ANSWER_CUES[task]
        field_names = [[line.split(":")[0] for line in block.splitlines()] for block in blocks]
        assert field_names[0] == field_names[1] == field_names[2]
        assert all(block.splitlines()[-1].startswith(cue + " ") for block in blocks[:2])
        answers = [block.splitlines()[-1].removeprefix(cue + " ") for block in blocks[:2]]
        assert all(answer in {gold_text(suite, ex) for ex in suite.examples} for answer in answers)


def test_few_shot_with_too_small_a_pool_is_a_suite_error(triage_suite: Suite) -> None:
    with pytest.raises(SuiteError, match="few-shot-13 needs 13 examples"):
        build_prompt(triage_suite, triage_suite.items[0], "few-shot-13", seed=1)


def test_gold_text_is_canonical(suites: dict[str, Suite]) -> None:
    assert gold_text(suites["triage"], {"gold": "major"}) == "Major"
    assert gold_text(suites["estimation"], {"gold": 3.0}) == "3"
    assert gold_text(suites["estimation"], {"gold": " 5 "}) == "5"
    assert gold_text(suites["prioritization"], {"gold": "b"}) == "B"


# --- item fields -------------------------------------------------------------------------------


def test_fields_render_on_one_line_and_long_descriptions_are_clipped(triage_suite: Suite) -> None:
    long_item = dict(
        triage_suite.items[0],
        description="Steps:\n\n1. start\n2. crash\n" + "word " * 1000,
        component=None,
    )
    prompt = build_prompt(triage_suite, long_item, "zero-shot", seed=1)
    description = next(line for line in prompt.text.splitlines() if line.startswith("Description:"))
    assert description.startswith("Description: Steps: 1. start 2. crash word")
    assert description.endswith(" …")
    assert len(description) <= len("Description: ") + DESCRIPTION_CHARS + 2
    assert "Component:" not in prompt.text  # an empty optional field is left out


def test_an_item_missing_a_required_field_is_a_suite_error(estimation_suite: Suite) -> None:
    item = {k: v for k, v in estimation_suite.items[0].items() if k != "title"}
    with pytest.raises(SuiteError, match="lacks a field"):
        build_prompt(estimation_suite, item, "zero-shot", seed=1)


# --- templates ---------------------------------------------------------------------------------


def test_prompt_wording_lives_in_template_files() -> None:
    names = {path.name for path in TEMPLATES.glob("*.j2")}
    assert {"completion.j2", "chat.j2", "triage.j2", "estimation.j2", "prioritization.j2"} <= names
    sources = Path(puma.scenarios.__file__).parent.glob("*.py")
    code = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    for phrase in ("Issue reports", "User stories", "Reply with", "step by step", "Reasoning:"):
        assert phrase not in code
        assert any(phrase in (TEMPLATES / name).read_text(encoding="utf-8") for name in names)
