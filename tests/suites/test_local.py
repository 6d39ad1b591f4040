"""Local suites: Jira- and TAWOS-shaped CSV, JSONL and Parquet files become triage and estimation
suites; every bad input is a SuiteError naming file, row or line, and column."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.errors import SuiteError
from puma.suites import TRIAGE_LABELS, Suite, load_local_suite

JIRA_HEADER = "key,project,component,summary,description,priority\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def all_rows(suite: Suite) -> list[dict[str, Any]]:
    return [*suite.items, *suite.examples]


def test_jira_csv_becomes_a_triage_suite_with_blocker_mapped_to_critical(
    fixtures_dir: Path,
) -> None:
    path = fixtures_dir / "jira_issues.csv"
    suite = load_local_suite(path, "jira")
    assert suite.task == "triage"
    assert suite.labels == TRIAGE_LABELS
    assert suite.source == str(path)
    assert suite.id == "local-jira-issues"
    assert suite.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    rows = {row["instance_id"]: row for row in all_rows(suite)}
    assert len(rows) == 24
    first = rows["HDFS-1200"]  # a Blocker in the file
    assert first["gold"] == "Critical"
    assert first["component"] == "Core, Tests"
    assert first["reporter"] == "Ana Costa"
    assert first["title"].startswith("Issue number 0")
    assert '"hdfs dfs -ls"' in first["description"] and "\n" in first["description"]


def test_jira_jsonl_reads_component_lists_and_priority_objects(fixtures_dir: Path) -> None:
    from_csv = load_local_suite(fixtures_dir / "jira_issues.csv", "jira")
    from_jsonl = load_local_suite(fixtures_dir / "jira_issues.jsonl", "jira")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "reporter"} for r in rows]  # noqa: E731
    assert strip(from_jsonl.items) == strip(from_csv.items)
    assert strip(from_jsonl.examples) == strip(from_csv.examples)
    assert from_jsonl.content_hash != from_csv.content_hash  # the hash is of the file's bytes


def test_tawos_csv_and_parquet_give_the_same_estimation_items(fixtures_dir: Path) -> None:
    from_csv = load_local_suite(fixtures_dir / "tawos_stories.csv", "tawos")
    from_parquet = load_local_suite(fixtures_dir / "tawos_stories.parquet", "tawos")
    assert from_parquet.task == "estimation" and from_parquet.labels == ()
    assert [(r["instance_id"], r["gold"], r["title"]) for r in from_csv.items] == [
        (r["instance_id"], r["gold"], r["title"]) for r in from_parquet.items
    ]
    golds = [row["gold"] for row in all_rows(from_parquet)]
    assert all(type(g) is int for g in golds)  # 5.0 in Parquet is the point 5
    assert from_parquet.items[0]["project"] == "MESOS"


def test_columns_mapping_reads_a_file_with_its_own_column_names(fixtures_dir: Path) -> None:
    columns = {"key": "Ticket", "title": "Headline", "description": "Body", "priority": "Severity"}
    suite = load_local_suite(fixtures_dir / "jira_custom_columns.csv", "jira", columns)
    assert len(all_rows(suite)) == 12
    assert {r["gold"] for r in all_rows(suite)} == set(TRIAGE_LABELS)
    assert all(r["component"] == "" for r in all_rows(suite))  # 'Team' was not mapped


def test_a_mapped_column_missing_from_the_file_is_named(fixtures_dir: Path) -> None:
    with pytest.raises(SuiteError, match="'Sevrity'") as caught:
        load_local_suite(
            fixtures_dir / "jira_custom_columns.csv",
            "jira",
            {"title": "Headline", "priority": "Sevrity"},
        )
    assert "Severity" in (caught.value.hint or "")


def test_an_unknown_canonical_name_in_the_mapping_is_an_error(fixtures_dir: Path) -> None:
    with pytest.raises(SuiteError, match="'severity'"):
        load_local_suite(fixtures_dir / "jira_issues.csv", "jira", {"severity": "Priority"})


def test_a_missing_required_column_names_the_column_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "issues.csv", "key,summary,description\nA-1,t,d\n")
    with pytest.raises(SuiteError, match="missing column 'priority'") as caught:
        load_local_suite(path, "jira")
    assert caught.value.where == str(path)
    assert "columns:" in (caught.value.hint or "")


def test_an_unknown_priority_names_the_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "issues.csv", JIRA_HEADER + "A-1,A,,ok,d,Major\nA-2,A,,bad,d,Urgent\n")
    with pytest.raises(SuiteError, match="unknown priority 'Urgent'") as caught:
        load_local_suite(path, "jira")
    assert caught.value.where == f"{path}:3"
    assert "'priority'" in caught.value.message


def test_an_empty_priority_is_an_error_for_that_row(tmp_path: Path) -> None:
    path = write(tmp_path / "issues.jsonl", '{"key":"A-1","summary":"t","priority":""}\n')
    with pytest.raises(SuiteError, match="empty") as caught:
        load_local_suite(path, "jira")
    assert caught.value.where == f"{path}:1"


@pytest.mark.parametrize("value", ["4", "0.5", "40", "0", "five"])
def test_story_points_off_the_fibonacci_scale_are_rejected_not_snapped(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path / "s.csv", f"issuekey,title,storypoint\nM-1,a,3\nM-2,b,{value}\n")
    with pytest.raises(SuiteError, match="not a story point") as caught:
        load_local_suite(path, "tawos")
    assert caught.value.where == f"{path}:3"
    assert "'storypoint'" in caught.value.message


def test_a_csv_with_a_byte_order_mark_reads_its_first_column(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfkey,summary,priority\nA-1,x,Minor\n")
    assert load_local_suite(path, "jira").items[0]["instance_id"] == "A-1"


def test_story_points_written_as_decimals_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "issuekey,title,storypoint\nM-1,a,5.0\nM-2,b, 13 \n")
    suite = load_local_suite(path, "tawos")
    assert [r["gold"] for r in suite.items] == [5, 13]


def test_a_bad_parquet_value_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"issuekey": ["M-1", "M-2"], "title": ["a", "b"],
                             "storypoint": [3.0, 7.0]}), path)  # fmt: skip
    with pytest.raises(SuiteError, match="'7'") as caught:
        load_local_suite(path, "tawos")
    assert caught.value.where == f"{path}, row 2"


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    for name, text in (("e.csv", ""), ("h.csv", JIRA_HEADER), ("e.jsonl", "\n\n")):
        with pytest.raises(SuiteError, match="no data rows"):
            load_local_suite(write(tmp_path / name, text), "jira")


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (JIRA_HEADER + "A-1,A,,ok,d,Major\nA-2,A,,caf\xe9,d,Minor\n").encode("latin-1")
    )
    with pytest.raises(SuiteError, match="not UTF-8") as caught:
        load_local_suite(path, "jira")
    assert caught.value.where == f"{path}:3"
    jsonl = tmp_path / "latin1.jsonl"
    jsonl.write_bytes(b'{"summary":"ok","priority":"Major"}\n{"summary":"caf\xe9"}\n')
    with pytest.raises(SuiteError, match="not UTF-8") as caught:
        load_local_suite(jsonl, "jira")
    assert caught.value.where == f"{jsonl}:2"


def test_malformed_inputs_name_the_file(tmp_path: Path) -> None:
    cases = {
        "extra.csv": "key,summary,priority\nA-1,t,Major,surplus\n",
        "broken.jsonl": '{"summary": "t", "priority": "Major"}\n{"summary": \n',
        "junk.parquet": "this is not parquet",
        "issues.xlsx": "whatever",
    }
    for name, text in cases.items():
        path = write(tmp_path / name, text)
        with pytest.raises(SuiteError) as caught:
            load_local_suite(path, "jira")
        assert str(path) in str(caught.value), name
    with pytest.raises(SuiteError, match="cannot read"):
        load_local_suite(tmp_path / "absent.csv", "jira")


def test_rows_without_a_key_get_stable_hash_ids(tmp_path: Path) -> None:
    text = "summary,priority\nSame text,Major\nOther,Minor\nSame text,Major\n"
    path = write(tmp_path / "nokey.csv", text)
    ids = [r["instance_id"] for r in load_local_suite(path, "jira").items]
    assert ids[0].startswith("row-") and len(ids[0]) == len("row-") + 12
    assert ids[2] == ids[0] + "-2"  # identical rows are told apart by order
    assert len(set(ids)) == 3
    again = [r["instance_id"] for r in load_local_suite(path, "jira").items]
    assert again == ids
    # The id hashes the text, not the label: changing only the priority keeps the id.
    relabelled = write(tmp_path / "nokey2.csv", text.replace("Other,Minor", "Other,Trivial"))
    assert [r["instance_id"] for r in load_local_suite(relabelled, "jira").items] == ids


def test_duplicate_issue_keys_are_an_error_naming_both_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "key,summary,priority\nA-1,x,Major\nA-1,y,Minor\n")
    with pytest.raises(SuiteError, match="duplicate issue key 'A-1'") as caught:
        load_local_suite(path, "jira")
    assert caught.value.where == f"{path}:3"
    assert f"{path}:2" in caught.value.message


def test_examples_are_a_deterministic_disjoint_tenth_capped_at_40(tmp_path: Path) -> None:
    rows = [{"key": f"BIG-{i}", "summary": f"s{i}", "priority": "Major"} for i in range(1000)]
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    suite = load_local_suite(path, "jira")
    assert len(suite.examples) == 40 and len(suite.items) == 960
    example_ids = {e["instance_id"] for e in suite.examples}
    assert example_ids.isdisjoint(i["instance_id"] for i in suite.items)
    assert example_ids == {e["instance_id"] for e in load_local_suite(path, "jira").examples}
    # The split depends on the ids, not on the order of the rows.
    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)), encoding="utf-8")
    assert example_ids == {e["instance_id"] for e in load_local_suite(path, "jira").examples}


def test_a_small_file_keeps_every_row_as_an_item(tmp_path: Path) -> None:
    path = write(tmp_path / "few.csv", "key,summary,priority\nA-1,x,Major\nA-2,y,Minor\n")
    suite = load_local_suite(path, "jira")
    assert len(suite.items) == 2 and suite.examples == ()
