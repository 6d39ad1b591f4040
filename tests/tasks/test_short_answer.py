"""The short-answer task (suite small-model-eval): one normalisation, documented and applied alike
to answer and gold; the answer read from the first line or the last "Answer:" line; exact and
normalised match as proportions with Wilson intervals; an unparsed answer counted as wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.evaluate import ScoringOptions, evaluate_run
from puma.runfolder import RunFolder
from puma.runfolder.predictions import FULL_SCHEMA
from puma.scenarios.parsing import ParsedOutput
from puma.suites import load_suite
from puma.tasks import build_prompt, gold_text, parse_output, task_for
from puma.tasks.short_answer import (
    exact_match,
    normalise_answer,
    normalised_match,
)
from run_records import manifest, suite_record

SUITE = load_suite("small-model-eval")


@pytest.mark.parametrize(
    ("said", "gold"),
    [
        ("PARIS", "Paris"),  # case
        ("  Paris \n", "Paris"),  # white space
        ("Paris.", "Paris"),  # punctuation
        ('"Paris"!', "Paris"),
        ("The Nile", "Nile"),  # articles
        ("an apple", "apple"),
        ("twenty-one", "21"),  # number words
        ("one hundred and five", "105"),
        ("a thousand", "1000"),
        ("1,000", "1000"),  # thousands separator
        ("12.0", "12"),  # canonical numbers
        ("0.50", "0.5"),
        ("−40", "-40"),  # a Unicode minus
        ("Ｔｏｋｙｏ", "Tokyo"),  # NFKC
        ("15:30", "15:30"),
        ("two thousand and fifteen", "2015"),
        ("one hundred one", "101"),
        ("one two", "1 2"),  # two numbers, not their sum
    ],
)
def test_normalisation_makes_these_the_same_answer(said: str, gold: str) -> None:
    assert normalise_answer(said) == normalise_answer(gold)
    assert normalised_match(said, gold)


@pytest.mark.parametrize(
    ("said", "gold"),
    [
        ("Pariss", "Paris"),
        ("21", "12"),
        ("5-8", "58"),  # a range is two numbers, not one
        ("1.5", "15"),
        ("one two", "3"),
        ("twenty twenty", "40"),
        ("not Paris", "Paris"),
        ("", "Paris"),
        ("...", "Paris"),  # nothing left after normalisation is never a match
    ],
)
def test_normalisation_keeps_these_apart(said: str, gold: str) -> None:
    assert not normalised_match(said, gold)


def test_exact_match_only_forgives_surrounding_white_space() -> None:
    assert exact_match(" Paris\n", "Paris")
    assert not exact_match("paris", "Paris")
    assert not exact_match("Paris.", "Paris")
    assert not exact_match(None, "Paris")


def test_any_accepted_alternative_of_the_gold_matches() -> None:
    assert exact_match("CO2", "carbon dioxide | CO2")
    assert normalised_match("Carbon dioxide.", "carbon dioxide | CO2")
    assert not normalised_match("oxygen", "carbon dioxide | CO2")


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        (" Tokyo", "Tokyo", "ok"),
        ("Tokyo.\nIt is the capital of Japan.", "Tokyo.", "fuzzy"),
        ("Let me think.\nAnswer: 42\nmore", "42", "fuzzy"),
        ("Answer: 7\nFinal answer: 8", "8", "fuzzy"),  # the last answer line counts
        ("**Answer:** Canberra", "Canberra", "fuzzy"),
        ("", None, "unparsed"),
        ("   \n  ", None, "unparsed"),
    ],
)
def test_the_answer_is_the_first_line_or_the_last_answer_line(
    text: str, label: str | None, status: str
) -> None:
    parsed = parse_output(SUITE, text, "zero-shot")
    assert parsed == ParsedOutput(label=label, status=status)  # type: ignore[arg-type]


def test_a_reasoning_answer_is_read_from_its_answer_line() -> None:
    parsed = parse_output(SUITE, "9 times 8 is 72.\nAnswer: 72", "chain-of-thought")
    assert parsed.label == "72"


def test_the_suite_has_forty_questions_over_seven_categories_with_golds() -> None:
    categories = {item["category"] for item in SUITE.items}
    assert len(SUITE.items) >= 40
    assert categories == {
        "arithmetic", "units", "geography", "science", "language", "dates", "logic"
    }  # fmt: skip
    assert {item["category"] for item in SUITE.items[:7]} == categories
    for item in SUITE.items:
        assert normalise_answer(item["gold"]), item  # no gold normalises to nothing
        assert gold_text(SUITE, item) == item["gold"]


def test_the_prompt_asks_the_question_and_ends_at_the_answer_cue() -> None:
    item = SUITE.items[0]
    prompt = build_prompt(SUITE, item, "few-shot-3", seed=42)
    assert item["question"] in prompt.text
    assert prompt.text.endswith(f"Question: {item['question']}\nAnswer:")
    assert item["gold"] not in prompt.text.split("Question: ")[-1]
    assert prompt.stop == ("\n",)
    assert item["question"] in prompt.messages[-1]["content"]


def _run(root: Path, answers: list[str | None]) -> Path:
    folder = root / "run-qa"
    folder.mkdir()
    items = SUITE.items[: len(answers)]
    rows = [
        {
            "run_id": "qa",
            "suite_id": SUITE.id,
            "task": "short-answer",
            "model": "m",
            "strategy": "zero-shot",
            "phase": "predict",
            "perturbation": "none",
            "repetition": 0,
            "instance_id": item["instance_id"],
            "gold": item["gold"],
            "parse_status": "unparsed" if answer is None else "ok",
            "predicted_label": answer,
            "output_text": answer or "",
            "error": None,
        }
        for item, answer in zip(items, answers, strict=True)
    ]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=FULL_SCHEMA), folder / "predictions_full.parquet"
    )
    record = suite_record(SUITE.id, "short-answer", [], n_items=len(rows))
    manifest("qa", [record], ["m"]).save(RunFolder(folder))
    return folder


def test_eval_reports_both_matches_with_wilson_intervals_and_counts_unparsed_as_wrong(
    tmp_path: Path,
) -> None:
    golds = [item["gold"] for item in SUITE.items[:10]]
    answers: list[str | None] = [g.split(" | ")[0] for g in golds[:4]]  # exact
    answers += [g.split(" | ")[0].upper() + "." for g in golds[4:7]]  # normalised only
    answers += ["wrong", None, None]  # wrong, and two unparsed
    document = evaluate_run(
        _run(tmp_path, answers), ScoringOptions(resamples=200, permutations=200)
    ).document
    (cell,) = document["cells"]
    metrics = cell["metrics"]
    assert cell["n"] == 10  # the unparsed rows are scored, not dropped
    assert metrics["exact_match"]["point"] == pytest.approx(0.4)
    assert metrics["normalised_match"]["point"] == pytest.approx(0.7)
    assert metrics["parse_failure_rate"]["point"] == pytest.approx(0.2)
    for name in ("exact_match", "normalised_match"):
        assert metrics[name]["method"] == "wilson"
        assert metrics[name]["ci_low"] < metrics[name]["point"] < metrics[name]["ci_high"]
    assert "most_frequent_answer" in metrics["baselines"]
    assert task_for("short-answer").headline == "normalised_match"


def test_the_chance_answer_is_the_most_frequent_gold() -> None:
    task = task_for("short-answer")
    stats = task.sufficient_stats(())
    gold = np.array(["6", "Paris", "6", "Rome"], dtype=object)
    chance = task.chance(stats, np.arange(4), gold, np.zeros((4, 4)), np.ones(4, bool), 4)
    assert chance["most_frequent_answer"].prediction == "6"
