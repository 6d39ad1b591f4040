"""share-results as a library: one (suite, model) of a run becomes a schema v1 package."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from puma.errors import CheckFailed, InputFileError
from puma.integrity import hash_predictions_file
from puma.submission import Consents, build_submission
from puma.submission.schema import personal_data_in, submission_problems

RunFactory = Callable[..., Path]
FIXED = {
    "submission_id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    "submitted_at": datetime(2025, 3, 2, tzinfo=UTC),
}


def build(run: Path, out: Path, **options: Any):
    return build_submission(run, out, consents=Consents.all_given(), **options)


@pytest.mark.parametrize("task", ["triage", "estimation", "prioritization"])
def test_a_package_is_three_files_named_by_the_submission_id_and_valid_against_schema_v1(
    run_factory: RunFactory, tmp_path: Path, task: str
):
    package = build(run_factory(task=task), tmp_path / "out")
    sid = str(package.submission.submission_id)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{sid}.json", f"{sid}.predictions.jsonl", f"{sid}.provenance.jsonld"]
    )
    document = json.loads(package.files.submission.read_text(encoding="utf-8"))
    assert submission_problems(document) == []
    assert document["schema_version"] == "1.0.0"
    assert (
        document["integrity"]["predictions_summary_hash"]
        == hash_predictions_file(package.files.predictions).sha256
    )


def test_the_predictions_file_holds_the_four_canonical_columns_compact_in_id_order(
    run_factory: RunFactory, tmp_path: Path
):
    package = build(run_factory(task="estimation"), tmp_path / "out")
    lines = package.files.predictions.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert all(
        list(r) == ["instance_id", "predicted_label", "predicted_value", "prompt_hash"]
        for r in rows
    )
    assert [r["instance_id"] for r in rows] == sorted(r["instance_id"] for r in rows)
    assert all(": " not in line and ", " not in line for line in lines)
    parsed = [r for r in rows if r["predicted_label"] is not None]
    assert all(r["predicted_label"] == str(r["predicted_value"]) for r in parsed)
    assert all(len(r["prompt_hash"]) == 16 for r in rows)


def test_everything_derived_from_the_run_is_the_same_on_every_build(
    run_factory: RunFactory, tmp_path: Path
):
    run = run_factory(task="triage", with_metrics=True)
    first = build(run, tmp_path / "a", **FIXED)
    second = build(run, tmp_path / "b", **FIXED)
    for name in ("submission", "predictions", "provenance"):
        a = getattr(first.files, name).read_bytes()
        b = getattr(second.files, name).read_bytes()
        assert a == b, name
    other_id = build(run, tmp_path / "c")
    assert other_id.submission.submission_id != first.submission.submission_id
    assert other_id.submission.metrics == first.submission.metrics
    assert other_id.submission.integrity == first.submission.integrity


def test_run_metadata_comes_from_the_manifest_and_the_parquet_timings(
    run_factory: RunFactory, tmp_path: Path
):
    meta = build(run_factory(task="triage", n_items=30), tmp_path / "out").submission.run_metadata
    assert (meta.scenario, meta.model, meta.strategy, meta.n_instances) == (
        "triage_jira",
        "gemma3-270m",
        "zero_shot",
        30,
    )
    assert (meta.seed, meta.temperature, meta.ollama_version) == (42, 0.0, "0.6.2")
    assert meta.started_at.isoformat() == "2025-03-01T10:00:00+00:00"
    assert 80 <= meta.latency_ms_p50 <= meta.latency_ms_p95 <= 900
    assert meta.latency_ms_total >= 30 * 80


def test_metrics_apply_to_the_task_and_are_null_elsewhere(run_factory: RunFactory, tmp_path: Path):
    triage = build(run_factory(task="triage"), tmp_path / "t").submission.metrics
    assert triage.accuracy is not None and triage.f1_macro is not None and triage.ece is not None
    assert set(triage.f1_per_class or {}) == {"Critical", "Major", "Minor", "Trivial"}
    assert len(triage.confusion_matrix or []) == 4
    assert triage.mae is None and triage.mdae is None
    estimation = build(run_factory(task="estimation"), tmp_path / "e").submission.metrics
    assert estimation.mae is not None and estimation.mdae is not None
    assert estimation.accuracy is None and estimation.f1_macro is None and estimation.ece is None


def test_hardware_maps_onto_puma_4_profiles_in_whole_gigabytes(
    run_factory: RunFactory, tmp_path: Path
):
    profile = build(run_factory(), tmp_path / "out").submission.hardware_profile
    # a 24 GB card reports 23.99 GB; the submission shows 24 and the profile follows it
    assert (profile.gpu_vram_gb, profile.ram_gb, profile.profile_id) == (24, 63, "gpu-high")
    assert (profile.cpu_model, profile.cpu_cores, profile.os) == (
        "AMD Ryzen 9 7950X",
        16,
        "Ubuntu 24.04 LTS",
    )


def test_estimated_energy_is_marked_as_an_estimate_not_passed_off_as_measured(
    run_factory: RunFactory, tmp_path: Path
):
    package = build(run_factory(measured_energy=False, country_iso=None), tmp_path / "out")
    sustainability = package.submission.sustainability
    assert sustainability.tracking_mode == "machine"
    assert sustainability.codecarbon_version == "none"
    assert sustainability.country_iso == "XXX"
    assert "estimates, not measurements" in (package.submission.notes or "")
    assert package.provenance.emissions is not None
    assert package.provenance.emissions["tracking_mode"] == "estimate"
    assert any("Country unknown" in c for c in package.provenance.caveats)


def test_measured_energy_keeps_its_mode_version_and_country(
    run_factory: RunFactory, tmp_path: Path
):
    package = build(run_factory(measured_energy=True), tmp_path / "out")
    s = package.submission.sustainability
    assert (s.tracking_mode, s.codecarbon_version, s.country_iso) == ("machine", "2.8.3", "USA")
    assert (s.energy_kwh_total, s.co2_grams_total) == (0.0123, 4.92)
    assert "not measurements" not in (package.submission.notes or "")


def test_the_provenance_sidecar_holds_what_schema_v1_cannot_and_nothing_private(
    run_factory: RunFactory, tmp_path: Path
):
    run = run_factory(with_metrics=True)
    package = build(run, tmp_path / "out")
    provenance = json.loads(package.files.provenance.read_text(encoding="utf-8"))
    assert (
        provenance["suite"]["id"] == "pm-triage" and len(provenance["suite"]["content_hash"]) == 64
    )
    seal = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["ledger_seal"]
    assert provenance["ledger"] == {
        "last_hash": seal["head"],
        "lines": seal["lines"],
        "sealed_in": "manifest.json",
    }
    cells = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["cells"]
    assert provenance["confidence_intervals"] == [
        c for c in cells if c["cell"]["suite_id"] == "pm-triage"
    ]
    assert (
        len(provenance["predictions"]["row_digests"]) == package.submission.run_metadata.n_instances
    )
    assert provenance["strategy"] == "zero-shot" and provenance["spec_hash"] == "ab" * 32
    text = json.dumps(provenance)
    for private in ("alices-desktop", "192.168.1.20", "/home/alice"):
        assert private not in text
    assert personal_data_in(package.submission.notes or "") == []


def test_without_metrics_json_there_are_no_intervals_but_still_a_package(
    run_factory: RunFactory, tmp_path: Path
):
    package = build(run_factory(with_metrics=False), tmp_path / "out")
    assert package.provenance.confidence_intervals is None


def test_a_run_with_several_models_needs_model_and_says_which_exist(
    run_factory: RunFactory, tmp_path: Path
):
    run = run_factory(models=("m-small", "m-large"))
    with pytest.raises(InputFileError) as caught:
        build(run, tmp_path / "out")
    assert "2 models" in str(caught.value) and "m-small, m-large" in str(caught.value)
    package = build(run, tmp_path / "out", model="m-large")
    assert package.submission.run_metadata.model == "m-large"
    with pytest.raises(InputFileError, match="no model 'm-huge'"):
        build(run, tmp_path / "out", model="m-huge")


def test_a_run_with_several_suites_needs_suite_and_shares_only_that_suite(
    run_factory: RunFactory, make_items: Callable[..., Any], tmp_path: Path
):
    run = run_factory(
        suites=[
            ("pm-triage", "triage", make_items("triage", 10)),
            ("pm-estimation", "estimation", make_items("estimation", 14)),
        ]
    )
    with pytest.raises(InputFileError, match="--suite"):
        build(run, tmp_path / "out")
    package = build(run, tmp_path / "out", suite_id="pm-estimation")
    assert package.submission.run_metadata.scenario == "effort_tawos"
    assert package.submission.run_metadata.n_instances == 14


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("zero-shot", "zero_shot"),
        ("few-shot-3", "few_shot_3"),
        ("few-shot-6", "few_shot_6"),
        ("contextual-anchoring", "contextual_anchoring"),
        ("chain-of-thought", "zero_shot_cot"),
    ],
)
def test_our_strategy_names_map_onto_schema_v1(
    run_factory: RunFactory, tmp_path: Path, strategy: str, expected: str
):
    package = build(run_factory(strategy=strategy), tmp_path / "out")
    assert package.submission.run_metadata.strategy == expected


def test_a_few_shot_count_without_a_v1_name_is_refused_with_the_ones_that_exist(
    run_factory: RunFactory, tmp_path: Path
):
    with pytest.raises(InputFileError) as caught:
        build(run_factory(strategy="few-shot-5"), tmp_path / "out")
    assert "few-shot-3" in str(caught.value) and "few-shot-6" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_every_consent_is_needed_and_nothing_is_written_without_them(
    run_factory: RunFactory, tmp_path: Path
):
    with pytest.raises(InputFileError, match="three consents"):
        build_submission(run_factory(), tmp_path / "out", consents=Consents(True, False, True))
    assert not (tmp_path / "out").exists()


def test_an_alias_that_schema_v1_refuses_gets_a_hint_about_name(
    run_factory: RunFactory, tmp_path: Path
):
    with pytest.raises(InputFileError) as caught:
        build(run_factory(), tmp_path / "out", name="al")
    assert "name_or_alias" in str(caught.value) and "--name" in str(caught.value)


def test_an_unfinished_run_is_refused_with_the_resume_command(
    run_factory: RunFactory, tmp_path: Path
):
    with pytest.raises(InputFileError, match="--resume"):
        build(run_factory(completed=False), tmp_path / "out")


@pytest.mark.parametrize(
    "missing", ["manifest.json", "hardware.json", "predictions.jsonl", "predictions_full.parquet"]
)
def test_a_run_folder_missing_a_file_says_which(
    run_factory: RunFactory, tmp_path: Path, missing: str
):
    run = run_factory()
    (run / missing).unlink()
    with pytest.raises(InputFileError) as caught:
        build(run, tmp_path / "out")
    assert missing in str(caught.value)


def test_a_run_whose_ledger_was_edited_is_not_packaged(run_factory: RunFactory, tmp_path: Path):
    run = run_factory(task="triage")
    ledger = run / "run.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("{", "{ ", 1)  # same JSON, other bytes: the chain must see it
    ledger.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CheckFailed, match="hash chain is broken") as caught:
        build(run, tmp_path / "out")
    assert caught.value.where == f"{ledger}:4"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
