"""`puma suites list` and `puma suites show`: tables for people, --json for scripts, exit 2 on a
bad id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from puma.cli.app import app
from puma.suites import list_suites, load_suite

runner = CliRunner(env={"COLUMNS": "160"})
PUMA = Path(sys.executable).parent / "puma"


def test_list_prints_every_suite_with_sizes_and_hash_prefix() -> None:
    result = runner.invoke(app, ["suites", "list"])
    assert result.exit_code == 0, result.output
    for manifest in list_suites():
        line = next(row for row in result.output.splitlines() if manifest.id in row)
        assert manifest.content_hash[:12] in line
        assert str(manifest.counts.items) in line and str(manifest.counts.examples) in line
        assert manifest.task in line
    assert "Critical, Major, Minor, Trivial" in result.output
    assert "1/2/3/5/8/13/21" in result.output


def test_list_json_is_the_manifests() -> None:
    result = runner.invoke(app, ["suites", "list", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [entry["id"] for entry in data] == [
        "pm-estimation",
        "pm-prioritization",
        "pm-triage",
        "python-tasks",
        "small-model-eval",
    ]
    assert data == [m.model_dump(mode="json") for m in list_suites()]


def test_show_prints_summary_distribution_first_item_and_full_hash() -> None:
    result = runner.invoke(app, ["suites", "show", "pm-triage"])
    assert result.exit_code == 0, result.output
    suite = load_suite("pm-triage")
    assert f"content hash: {suite.content_hash}" in result.output
    assert "Whether a model assigns the priority" in result.output
    assert suite.items[0]["instance_id"] in result.output
    for label in suite.labels:
        assert label in result.output
    assert "DATASHEET.md" in result.output


def test_show_json_gives_distribution_and_example() -> None:
    result = runner.invoke(app, ["suites", "show", "pm-estimation", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["manifest"]["content_hash"] == load_suite("pm-estimation").content_hash
    assert list(data["gold_distribution"]) == ["1", "2", "3", "5", "8", "13", "21"]
    assert (
        data["example_item"]["instance_id"] == load_suite("pm-estimation").items[0]["instance_id"]
    )


def test_show_unknown_id_exits_2_with_the_known_ids_and_no_traceback() -> None:
    result = subprocess.run(
        [str(PUMA), "suites", "show", "pm-nope"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown suite 'pm-nope'" in result.stderr
    assert "pm-triage" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_every_suites_command_has_help() -> None:
    for args in (["suites", "--help"], ["suites", "list", "--help"], ["suites", "show", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "--json" in result.output or "list" in result.output


def test_list_and_show_present_the_quality_phases_as_suites_with_open_answers() -> None:
    listed = runner.invoke(app, ["suites", "list"])
    for suite_id, task in (("small-model-eval", "short-answer"), ("python-tasks", "python-tasks")):
        line = next(row for row in listed.output.splitlines() if row.strip().startswith(suite_id))
        assert task in line and "open answers" in line
        shown = runner.invoke(app, ["suites", "show", suite_id])
        assert shown.exit_code == 0, shown.output
        assert "open answers" in shown.output and "gold distribution" not in shown.output
        assert load_suite(suite_id).content_hash in shown.output
