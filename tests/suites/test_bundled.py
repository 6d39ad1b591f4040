"""Bundled suites load only when their bytes match the content hash recorded in suite.json."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from puma.errors import ExitCode, SuiteError
from puma.suites import list_suites, load_suite
from puma.suites.bundled import (
    EXAMPLES_NAME,
    ITEMS_NAME,
    MANIFEST_NAME,
    load_bundled_suite,
    load_suite_folder,
    read_manifest,
    suite_content_hash,
    suite_overview,
)
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS
from puma.tasks import task_names

BUNDLED_IDS = ("pm-estimation", "pm-prioritization", "pm-triage")  # the project-management suites
QUALITY_IDS = ("python-tasks", "small-model-eval")  # the quality phases


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_list_suites_names_every_bundled_suite_sorted() -> None:
    manifests = list_suites()
    assert tuple(m.id for m in manifests) == (*BUNDLED_IDS, *QUALITY_IDS)
    assert {m.task for m in manifests} == set(task_names(runnable=True))


@pytest.mark.parametrize("suite_id", QUALITY_IDS)
def test_a_quality_suite_loads_with_open_answers_and_no_gold_distribution(suite_id: str) -> None:
    suite = load_suite(suite_id)
    overview = suite_overview(suite_id)
    assert overview.manifest.counts.items == len(suite.items) >= 20
    assert overview.manifest.counts.gold == {} and overview.gold_distribution == {}
    assert suite.labels == ()


@pytest.mark.parametrize("suite_id", BUNDLED_IDS)
def test_bundled_suite_loads_and_agrees_with_its_manifest(suite_id: str) -> None:
    suite = load_suite(suite_id)
    manifest = next(m for m in list_suites() if m.id == suite_id)
    assert suite.id == suite_id
    assert suite.source == "bundled"
    assert suite.content_hash == manifest.content_hash
    assert len(suite.items) == manifest.counts.items >= 300
    assert len(suite.examples) == manifest.counts.examples
    assert suite.task == manifest.task
    assert suite.labels == manifest.labels


def test_labels_follow_the_task() -> None:
    assert load_suite("pm-triage").labels == TRIAGE_LABELS
    assert load_suite("pm-prioritization").labels == PAIR_LABELS
    estimation = load_suite("pm-estimation")
    assert estimation.labels == ()
    assert {item["gold"] for item in estimation.items} == set(FIBONACCI_POINTS)


def test_content_hash_is_the_documented_length_prefixed_sha256(data_copy: Path) -> None:
    folder = data_copy / "pm-triage"
    items = (folder / ITEMS_NAME).read_bytes()
    examples = (folder / EXAMPLES_NAME).read_bytes()
    by_hand = hashlib.sha256(
        b"items.jsonl\n" + str(len(items)).encode() + b"\n" + items
        + b"examples.jsonl\n" + str(len(examples)).encode() + b"\n" + examples
    ).hexdigest()  # fmt: skip
    assert suite_content_hash({ITEMS_NAME: items, EXAMPLES_NAME: examples}) == by_hand
    assert read_manifest(folder).content_hash == by_hand


@pytest.mark.parametrize("name", [ITEMS_NAME, EXAMPLES_NAME])
def test_a_flipped_byte_is_refused_naming_file_expected_and_actual_hash(
    data_copy: Path, name: str
) -> None:
    folder = data_copy / "pm-triage"
    expected = read_manifest(folder).files[name]
    flip_byte(folder / name)
    actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    with pytest.raises(SuiteError) as caught:
        load_suite_folder(folder)
    error = caught.value
    assert error.where == str(folder / name)
    assert expected in error.message and actual in error.message
    assert error.hint and "make_suites.py" in error.hint
    assert error.exit_code == ExitCode.BAD_INPUT


def test_an_edited_item_with_a_matching_file_hash_still_fails_the_content_hash(
    data_copy: Path,
) -> None:
    """Rewriting the per-file hash in suite.json does not make tampered data load."""
    folder = data_copy / "pm-triage"
    items = folder / ITEMS_NAME
    items.write_bytes(items.read_bytes().replace(b'"gold":"Trivial"', b'"gold":"Critical"', 1))
    manifest = folder / MANIFEST_NAME
    text = manifest.read_text(encoding="utf-8")
    old = read_manifest(folder).files[ITEMS_NAME]
    manifest.write_text(text.replace(old, hashlib.sha256(items.read_bytes()).hexdigest()))
    with pytest.raises(SuiteError, match="content hash mismatch"):
        load_suite_folder(folder)


def test_loading_by_id_reads_from_the_given_data_dir(data_copy: Path) -> None:
    flip_byte(data_copy / "pm-estimation" / ITEMS_NAME)
    with pytest.raises(SuiteError, match="do not match"):
        load_bundled_suite("pm-estimation", data_dir=data_copy)
    assert load_bundled_suite("pm-triage", data_dir=data_copy).id == "pm-triage"


def test_a_missing_data_file_is_a_suite_error(data_copy: Path) -> None:
    (data_copy / "pm-triage" / EXAMPLES_NAME).unlink()
    with pytest.raises(SuiteError, match="cannot read") as caught:
        load_bundled_suite("pm-triage", data_dir=data_copy)
    assert caught.value.where is not None and caught.value.where.endswith(EXAMPLES_NAME)


def test_an_invalid_manifest_names_the_field(data_copy: Path) -> None:
    manifest = data_copy / "pm-triage" / MANIFEST_NAME
    manifest.write_text(manifest.read_text().replace('"task": "triage"', '"task": "poetry"'))
    with pytest.raises(SuiteError, match="task"):
        load_bundled_suite("pm-triage", data_dir=data_copy)


@pytest.mark.parametrize("suite_id", ["pm-nothing", "", "..", "pm-triage/../pm-triage"])
def test_an_unknown_suite_id_lists_the_bundled_ones(suite_id: str) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite(suite_id)
    assert "pm-triage" in caught.value.message
    assert caught.value.hint is not None and "local" in caught.value.hint


def test_overview_gives_summary_distribution_example_and_full_hash() -> None:
    overview = suite_overview("pm-estimation")
    assert overview.manifest.content_hash == load_suite("pm-estimation").content_hash
    assert list(overview.gold_distribution) == [str(p) for p in FIBONACCI_POINTS]
    assert sum(overview.gold_distribution.values()) == overview.manifest.counts.items
    assert overview.summary.startswith("Whether a model")
    assert overview.example_item == load_suite("pm-estimation").items[0]
