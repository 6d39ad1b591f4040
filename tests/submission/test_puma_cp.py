"""Our packages through PUMA 4.0's own tools: puma-cp 4.0.0's `community validate` on a folder's
`*.json`, as its users run it, and its `community verify-hash`, each on its real code (see
tests/puma_cp/harness.py for how it runs beside ours; skipped, saying why, without its wheel)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from puma.submission import Consents, SubmissionPackage, build_submission
from puma_cp import harness

RunFactory = Callable[..., Path]


@pytest.fixture
def packages(run_factory: RunFactory, tmp_path: Path) -> list[SubmissionPackage]:
    """A folder holding three packages: one of each scenario schema v1 knows."""
    out = tmp_path / "packages"
    return [
        build_submission(run_factory(task=task), out, consents=Consents.all_given())
        for task in ("triage", "estimation", "prioritization")
    ]


def validate(puma_4: Path, *args: str | Path) -> tuple[int, list[dict[str, Any]]]:
    result = harness.run(puma_4, "community", "validate", "--json", *args)
    return result.returncode, json.loads(result.stdout)


def test_puma_4_validates_every_json_file_of_a_folder_of_our_packages(
    puma_4: Path, packages: list[SubmissionPackage]
):
    folder = packages[0].files.submission.parent
    every_json = sorted(folder.glob("*.json"))  # what the shell makes of DIR/*.json
    code, results = validate(puma_4, "--strict", *every_json)
    assert code == 0, results
    assert [r["file"] for r in results] == [str(p) for p in every_json]
    assert sorted(every_json) == sorted(p.files.submission for p in packages)
    assert all(r["valid"] and r["violations"] == [] for r in results)


def test_under_its_first_name_the_sidecar_was_what_puma_4_refused(
    puma_4: Path, packages: list[SubmissionPackage]
):
    # The fault this name change closes: `<id>.provenance.json` matched DIR/*.json.
    files = packages[0].files
    first_name = files.submission.with_name(f"{files.stem}.provenance.json")
    files.provenance.rename(first_name)
    code, results = validate(puma_4, *sorted(files.submission.parent.glob("*.json")))
    assert code == 1
    assert [r["file"] for r in results if not r["valid"]] == [str(first_name)]


def test_puma_4_verifies_the_hash_of_each_of_our_packages(
    puma_4: Path, packages: list[SubmissionPackage]
):
    for package in packages:
        result = harness.run(puma_4, "community", "verify-hash", package.files.submission)
        assert result.returncode == 0, result.stdout + result.stderr
        assert package.submission.integrity.predictions_summary_hash in result.stdout
