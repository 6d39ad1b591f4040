"""resolve_suite: bundled or local by spec, then subset (explicit ids) and limit (first N)."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.errors import SuiteError
from puma.spec import SuiteSpec
from puma.suites import load_suite, resolve_suite, select_items, selection_record


def test_limit_takes_the_first_items_in_file_order_and_keeps_the_full_hash() -> None:
    full = load_suite("pm-triage")
    selected = resolve_suite(SuiteSpec(id="pm-triage", limit=15))
    assert selected.items == full.items[:15]
    assert selected.content_hash == full.content_hash
    assert selected.examples == full.examples
    assert {item["gold"] for item in selected.items} == set(full.labels)


def test_no_subset_and_no_limit_returns_every_item() -> None:
    assert resolve_suite(SuiteSpec(id="pm-estimation")).items == load_suite("pm-estimation").items


def test_subset_keeps_file_order_whatever_order_the_ids_are_given_in() -> None:
    full = load_suite("pm-triage")
    wanted = [
        full.items[9]["instance_id"],
        full.items[2]["instance_id"],
        full.items[5]["instance_id"],
    ]
    selected = resolve_suite(SuiteSpec(id="pm-triage", subset=wanted))
    assert [i["instance_id"] for i in selected.items] == [
        full.items[k]["instance_id"] for k in (2, 5, 9)
    ]


def test_subset_then_limit() -> None:
    full = load_suite("pm-prioritization")
    wanted = [item["instance_id"] for item in full.items[:10]]
    selected = resolve_suite(SuiteSpec(id="pm-prioritization", subset=wanted, limit=3))
    assert selected.items == full.items[:3]


def test_an_unknown_subset_id_is_an_error_naming_it() -> None:
    full = load_suite("pm-triage")
    with pytest.raises(SuiteError, match=r"'NOPE-1' is unknown \(and 1 more\)"):
        select_items(full, subset=[full.items[0]["instance_id"], "NOPE-1", "NOPE-2"])


def test_a_subset_id_from_the_examples_pool_is_named_as_an_example() -> None:
    full = load_suite("pm-triage")
    with pytest.raises(SuiteError, match="few-shot example"):
        select_items(full, subset=[full.examples[0]["instance_id"]])


def test_local_suite_resolves_relative_to_the_spec_folder(fixtures_dir: Path) -> None:
    spec = SuiteSpec(id="local", path="fixtures/tawos_stories.csv", format="tawos", limit=4)
    suite = resolve_suite(spec, base_dir=fixtures_dir.parent)
    assert len(suite.items) == 4
    assert suite.source == str(fixtures_dir / "tawos_stories.csv")
    with pytest.raises(SuiteError, match="cannot read"):
        resolve_suite(spec, base_dir=fixtures_dir)


def test_local_suite_passes_the_columns_mapping(fixtures_dir: Path) -> None:
    spec = SuiteSpec(
        id="local",
        path=str(fixtures_dir / "jira_custom_columns.csv"),
        format="jira",
        columns={"key": "Ticket", "title": "Headline", "priority": "Severity"},
        subset=["HDFS-1207"],
    )
    suite = resolve_suite(spec)
    assert [i["instance_id"] for i in suite.items] == ["HDFS-1207"]
    assert suite.items[0]["gold"] == "Critical"


def test_selection_record_describes_what_was_kept() -> None:
    spec = SuiteSpec(id="pm-triage", limit=15)
    selected = resolve_suite(spec)
    record = selection_record(selected, spec)
    assert record["items_selected"] == 15
    assert record["limit"] == 15 and record["subset"] is None
    assert record["content_hash"] == load_suite("pm-triage").content_hash
    assert record == selection_record(resolve_suite(spec), spec)
    assert (
        record["selected_ids_hash"]
        != selection_record(resolve_suite(SuiteSpec(id="pm-triage", limit=14)), spec)[
            "selected_ids_hash"
        ]
    )


def test_load_suite_takes_a_bundled_id_a_suite_folder_or_a_local_file(
    data_copy: Path, fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_suite("pm-triage").source == "bundled"
    folder = load_suite(str(data_copy / "pm-estimation"))
    assert folder.content_hash == load_suite("pm-estimation").content_hash
    jira = load_suite(str(fixtures_dir / "jira_issues.jsonl"))
    assert jira.task == "triage" and jira.source == str(fixtures_dir / "jira_issues.jsonl")
    assert load_suite(str(fixtures_dir / "tawos_stories.parquet")).task == "estimation"
    # A bare id is always bundled, even with a same-named folder in the working directory.
    monkeypatch.chdir(data_copy)
    (data_copy / "pm-triage" / "items.jsonl").write_bytes(b"tampered\n")
    assert load_suite("pm-triage").source == "bundled"
    with pytest.raises(SuiteError, match="do not match"):
        load_suite("./pm-triage")


def test_a_local_file_of_unclear_shape_needs_a_format(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    path.write_text("key,summary,priority,storypoint\nA-1,x,Major,3\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="cannot tell") as caught:
        load_suite(str(path))
    assert "jira or tawos" in (caught.value.hint or "")
    assert (
        resolve_suite(SuiteSpec(id="local", path=str(path), format="tawos")).items[0]["gold"] == 3
    )
