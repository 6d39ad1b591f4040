"""Submission schema v1: the published JSON Schema, and what validation says about bad files."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from puma.errors import InputFileError
from puma.submission import Consents, build_submission
from puma.submission.mapping import profile_for
from puma.submission.schema import export_json_schema, submission_problems, validate_submission_file

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def document(run_factory: Callable[..., Path], tmp_path: Path) -> dict[str, Any]:
    package = build_submission(run_factory(), tmp_path / "out", consents=Consents.all_given())
    return dict(json.loads(package.files.submission.read_text(encoding="utf-8")))


def test_the_published_json_schema_is_the_one_the_models_export():
    published = json.loads((REPO_ROOT / "schemas" / "submission-v1.schema.json").read_text())
    assert published == export_json_schema(), (
        "schemas/submission-v1.schema.json is stale; regenerate it with "
        "`python -c 'import json; from puma.submission.schema import export_json_schema as e; "
        "print(json.dumps(e(), indent=2))' > schemas/submission-v1.schema.json`"
    )


def test_the_json_schema_forbids_extra_fields_everywhere():
    schema = export_json_schema()
    assert schema["additionalProperties"] is False
    assert all(d["additionalProperties"] is False for d in schema["$defs"].values())


def test_a_package_written_by_share_results_is_valid(document: dict[str, Any]):
    assert submission_problems(document) == []


def problems_of(document: dict[str, Any]) -> dict[str, set[str]]:
    """field -> the checkers that object to it"""
    found: dict[str, set[str]] = {}
    for problem in submission_problems(document):
        found.setdefault(problem.where, set()).add(problem.checker)
    return found


def messages_of(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(p.checker, p.where, p.message) for p in submission_problems(document)}


def test_an_extra_field_is_refused_by_both_checkers_and_listed_once(document: dict[str, Any]):
    bad = copy.deepcopy(document)
    bad["run_metadata"]["gpu_temperature"] = 71
    bad["favourite_colour"] = "teal"
    unknown = "unknown field (schema v1 forbids extra fields)"
    assert messages_of(bad) == {
        ("json-schema and model", "favourite_colour", unknown),
        ("json-schema and model", "run_metadata.gpu_temperature", unknown),
    }


def test_a_missing_required_field_is_refused_by_both_checkers_and_listed_once(
    document: dict[str, Any],
):
    bad = copy.deepcopy(document)
    del bad["metrics"]
    del bad["run_metadata"]["n_instances"]
    assert messages_of(bad) == {
        ("json-schema and model", "metrics", "required field is missing"),
        ("json-schema and model", "run_metadata.n_instances", "required field is missing"),
    }


def test_each_problem_is_listed_once_whichever_checkers_found_it(document: dict[str, Any]):
    bad = copy.deepcopy(document)
    bad["integrity"]["predictions_summary_hash"] = "AB" * 32  # both: a pattern
    bad["metrics"]["f1_per_class"] = {"Major": "high"}  # both, JSON Schema one level up (anyOf)
    bad["run_metadata"]["n_instances"] = "24"  # JSON Schema alone: the models take "24"
    bad["submitter"]["consent_research_use"] = False  # the models alone
    problems = submission_problems(bad)
    assert [(p.where, p.checker) for p in problems] == [
        ("integrity.predictions_summary_hash", "json-schema and model"),
        ("metrics.f1_per_class.Major", "json-schema and model"),
        ("run_metadata.n_instances", "json-schema"),
        ("submitter", "model"),
    ]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (
            ("integrity", "predictions_summary_hash"),
            "AB" * 32,
            "integrity.predictions_summary_hash",
        ),
        (("submitter", "consent_research_use"), False, "submitter"),
        (("submitter", "name_or_alias"), "a b", "submitter.name_or_alias"),
        (("run_metadata", "scenario"), "triage", "run_metadata.scenario"),
        (("run_metadata", "latency_ms_p95"), 1, "run_metadata"),
        (("run_metadata", "started_at"), "2025-03-01T10:00:00", "run_metadata.started_at"),
        (("sustainability", "country_iso"), "us", "sustainability.country_iso"),
        (("notes",), "contact me at alice@example.org", "notes"),
        (("submission_id",), "not-a-uuid", "submission_id"),
    ],
)
def test_a_field_that_breaks_a_schema_v1_rule_is_reported_by_name(
    document: dict[str, Any], path: tuple[str, ...], value: Any, field: str
):
    bad = copy.deepcopy(document)
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    found = problems_of(bad)
    assert field in found or any(f.startswith(field) for f in found), found


def test_a_file_that_is_not_a_json_object_is_unreadable_not_invalid(tmp_path: Path):
    for name, content in [
        ("list.json", b"[1, 2]"),
        ("broken.json", b'{"a": '),
        ("bin.json", b"\xff\xfe"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputFileError):
            validate_submission_file(path)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path):
    path = tmp_path / "huge.json"
    with path.open("wb") as out:
        out.truncate(50 * 2**20)  # sparse: 50 MiB of nothing, instantly
    with pytest.raises(InputFileError, match="far too large"):
        validate_submission_file(path)


@pytest.mark.parametrize(
    ("ram", "vram", "profile"),
    [
        (8, None, "cpu-lite"),
        (4, None, "cpu-lite"),
        (16, None, "cpu-standard"),
        (64, 4, "cpu-standard"),
        (16, 8, "gpu-entry"),
        (32, 12, "gpu-mid"),
        (16, 24, "gpu-mid"),
        (32, 24, "gpu-high"),
    ],
)
def test_hardware_maps_to_the_richest_puma_profile_it_meets(
    ram: float, vram: float | None, profile: str
):
    assert profile_for(ram, vram) == profile
