"""What the bundled data promises: balance, disjoint pools, neutral ids, valid items, pairs that
follow pm-triage, and no single word that gives a label away."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from puma.suites import load_suite
from puma.suites.bundled import DATA_DIR, SCHEMA_NAME
from puma.suites.model import FIBONACCI_POINTS, TRIAGE_LABELS, Suite

BUNDLED_IDS = ("pm-estimation", "pm-prioritization", "pm-triage")
DEMO_LIMIT = 15
ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")
LABEL_FRAGMENTS = ("crit", "major", "minor", "triv", "blocker", "prio", "sev")


def texts(item: dict[str, Any]) -> tuple[str, ...]:
    if "a" in item:
        return (*texts(item["a"]), *texts(item["b"]))
    return (item["title"], item["description"])


@pytest.fixture(scope="module")
def suites() -> dict[str, Suite]:
    return {suite_id: load_suite(suite_id) for suite_id in BUNDLED_IDS}


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_items_and_examples_never_overlap_in_ids_or_texts(
    suites: dict[str, Suite], suite_id: str
) -> None:
    suite = suites[suite_id]
    assert {i["instance_id"] for i in suite.items}.isdisjoint(
        {e["instance_id"] for e in suite.examples}
    )
    assert {texts(i) for i in suite.items}.isdisjoint({texts(e) for e in suite.examples})


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_instance_ids_are_unique_and_say_nothing_about_the_label(
    suites: dict[str, Suite], suite_id: str
) -> None:
    suite = suites[suite_id]
    ids = [row["instance_id"] for row in (*suite.items, *suite.examples)]
    assert len(ids) == len(set(ids))
    for instance_id in ids:
        assert not any(fragment in instance_id.lower() for fragment in LABEL_FRAGMENTS)
        if suite_id == "pm-prioritization":
            assert re.fullmatch(r"pair-[0-9a-f]{12}", instance_id)
        else:
            assert ISSUE_KEY.match(instance_id)


def test_issue_numbers_of_every_label_interleave_within_each_project(
    suites: dict[str, Suite],
) -> None:
    """Keys are numbered after a shuffle: no label owns a block of numbers."""
    numbers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in suites["pm-triage"].items:
        project, number = item["instance_id"].rsplit("-", 1)
        numbers[(project, item["gold"])].append(int(number))
    projects = {project for project, _ in numbers}
    for project in projects:
        ranges = [
            (min(numbers[(project, label)]), max(numbers[(project, label)]))
            for label in TRIAGE_LABELS
            if numbers[(project, label)]
        ]
        assert max(low for low, _ in ranges) < min(high for _, high in ranges), project


def test_triage_labels_are_balanced_enough_for_macro_f1(suites: dict[str, Suite]) -> None:
    triage = suites["pm-triage"]
    counts = Counter(item["gold"] for item in triage.items)
    assert set(counts) == set(TRIAGE_LABELS)
    for label in TRIAGE_LABELS:
        assert 0.15 <= counts[label] / len(triage.items) <= 0.35, label
    assert Counter(e["gold"] for e in triage.examples) == dict.fromkeys(TRIAGE_LABELS, 10)


def test_estimation_covers_every_point_in_items_and_examples(suites: dict[str, Suite]) -> None:
    estimation = suites["pm-estimation"]
    assert {i["gold"] for i in estimation.items} == set(FIBONACCI_POINTS)
    assert {e["gold"] for e in estimation.examples} == set(FIBONACCI_POINTS)
    assert 35 <= len(estimation.examples) <= 45
    assert all("acceptance criteria" in i["description"].lower() or "AC:" in i["description"]
               for i in estimation.items)  # fmt: skip


def test_prioritization_gold_is_exactly_half_a_and_half_b(suites: dict[str, Suite]) -> None:
    for rows in (suites["pm-prioritization"].items, suites["pm-prioritization"].examples):
        counts = Counter(row["gold"] for row in rows)
        assert counts["A"] == counts["B"] == len(rows) / 2


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_the_first_15_items_cover_every_label(suites: dict[str, Suite], suite_id: str) -> None:
    suite = suites[suite_id]
    if suite.labels:
        assert {item["gold"] for item in suite.items[:DEMO_LIMIT]} == set(suite.labels)


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_every_item_and_example_validates_against_the_suite_schema(
    suites: dict[str, Suite], suite_id: str
) -> None:
    schema = json.loads((DATA_DIR / suite_id / SCHEMA_NAME).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for row in (*suites[suite_id].items, *suites[suite_id].examples):
        errors = list(validator.iter_errors(row))
        assert not errors, f"{row['instance_id']}: {errors[0].message}"


def test_pairs_are_built_from_triage_items_of_different_priority(
    suites: dict[str, Suite],
) -> None:
    triage = suites["pm-triage"]
    rank = {label: i for i, label in enumerate(TRIAGE_LABELS)}
    for rows, pool in (
        (suites["pm-prioritization"].items, triage.items),
        (suites["pm-prioritization"].examples, triage.examples),
    ):
        by_id = {issue["instance_id"]: issue for issue in pool}
        for pair in rows:
            a, b = (by_id[source] for source in pair["source_ids"])  # KeyError: wrong pool
            assert a["gold"] != b["gold"]
            assert pair["gold"] == ("A" if rank[a["gold"]] < rank[b["gold"]] else "B")
            assert (pair["a"]["title"], pair["a"]["description"]) == (a["title"], a["description"])
            assert "gold" not in pair["a"] and "reporter" not in pair["a"]


def test_reporters_are_plain_names_and_spread_over_every_label(suites: dict[str, Suite]) -> None:
    items = suites["pm-triage"].items
    assert all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", i["reporter"]) for i in items)
    labels_by_reporter: dict[str, set[str]] = defaultdict(set)
    for item in items:
        labels_by_reporter[item["reporter"]].add(item["gold"])
    assert len(labels_by_reporter) >= 30
    assert sum(len(labels) >= 3 for labels in labels_by_reporter.values()) >= 20


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_no_template_slot_is_left_unfilled(suites: dict[str, Suite], suite_id: str) -> None:
    for row in (*suites[suite_id].items, *suites[suite_id].examples):
        for text in texts(row):
            # Braces only appear in API paths such as GET /v2/payouts/{id}.
            assert not re.search(r"\{(?!id\}|key\})", text), (row["instance_id"], text)


def test_no_single_word_gives_the_triage_label_away(suites: dict[str, Suite]) -> None:
    """No word that is in a quarter or more of one label's items is (almost) only in that label."""
    items = suites["pm-triage"].items
    per_label = Counter(item["gold"] for item in items)
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        for word in set(re.findall(r"[a-z]+", " ".join(texts(item)).lower())):
            seen[word][item["gold"]] += 1
    giveaways = [
        (word, label)
        for word, counts in seen.items()
        for label in TRIAGE_LABELS
        if counts[label] >= 0.25 * per_label[label] and counts[label] >= 0.95 * counts.total()
    ]
    assert giveaways == []


def test_texts_vary_across_projects_and_formats(suites: dict[str, Suite]) -> None:
    items = suites["pm-triage"].items
    assert len({i["project"] for i in items}) == 6
    assert len({i["component"] for i in items}) >= 20
    descriptions = [i["description"] for i in items]
    assert sum("Traceback" in d or "\tat " in d or "goroutine" in d or "   at " in d
               for d in descriptions) >= 30  # fmt: skip
    assert sum("Steps to reproduce" in d or "STR:" in d for d in descriptions) >= 20
    assert len({(i["project"], i["title"]) for i in items}) == len(items)
    assert len({i["title"] for i in items}) >= 0.95 * len(items)
