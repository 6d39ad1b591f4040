"""`merge_runs`: many run folders (or sweep shards) scored together into ROOT/merged/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from puma.errors import CheckFailed, ExitCode
from puma.evaluate import ScoringOptions
from puma.merge import merge_runs

MakeRun = Callable[..., Path]
FAST = ScoringOptions(resamples=300, permutations=300)


def test_models_from_different_runs_are_compared_on_the_same_suite(
    make_run: MakeRun, tmp_path: Path
) -> None:
    make_run(tmp_path / "shards", seed=1, run_id="one", models=("alpha", "beta"))
    make_run(tmp_path / "shards", seed=1, run_id="two", models=("gamma",))
    make_run(tmp_path / "shards", seed=2, run_id="three", task="estimation", models=("alpha",))
    result = merge_runs(tmp_path / "shards", FAST)
    assert result.output == tmp_path / "shards" / "merged"
    assert result.metrics_path.is_file() and result.report_path.is_file()
    document = result.document
    assert document["run_id"] == "merged"
    assert [s["run_id"] for s in document["sources"]] == ["one", "three", "two"]
    triage_pairs = {
        (c["a"], c["b"]) for c in document["comparisons"] if c["suite_id"] == "pm-triage"
    }
    assert triage_pairs == {("alpha", "beta"), ("alpha", "gamma"), ("beta", "gamma")}
    suites = {(c["cell"]["suite_id"], c["cell"]["model"]) for c in document["cells"]}
    assert ("pm-estimation", "alpha") in suites


def test_a_shard_without_predictions_fails_loudly_naming_it(
    make_run: MakeRun, tmp_path: Path
) -> None:
    make_run(tmp_path, seed=1, run_id="good")
    bad = make_run(tmp_path, seed=2, run_id="lost", models=("delta",))
    (bad / "predictions_full.parquet").unlink()
    with pytest.raises(CheckFailed, match="run-lost") as caught:
        merge_runs(tmp_path, FAST)
    assert caught.value.exit_code == ExitCode.FAILED_CHECK
    assert not (tmp_path / "merged").exists()


def test_allow_missing_merges_the_others_and_lists_the_skipped(
    make_run: MakeRun, tmp_path: Path
) -> None:
    make_run(tmp_path, seed=1, run_id="good")
    bad = make_run(tmp_path, seed=2, run_id="lost", models=("delta",))
    (bad / "predictions_full.parquet").unlink()
    result = merge_runs(tmp_path, FAST, allow_missing=True)
    assert result.skipped == ["run-lost"]
    assert result.document["skipped"] == [{"path": "run-lost"}]
    assert "delta" not in {c["cell"]["model"] for c in result.document["cells"]}


def test_the_same_model_in_two_runs_becomes_repetitions_of_its_items(
    make_run: MakeRun, tmp_path: Path
) -> None:
    make_run(tmp_path, seed=1, run_id="seed-1", models=("alpha",), n_items=30)
    make_run(tmp_path, seed=2, run_id="seed-2", models=("alpha",), n_items=30)
    cell = next(
        c
        for c in merge_runs(tmp_path, FAST).document["cells"]
        if c["cell"]["slice"] is None and c["cell"]["perturbation"] == "none"
    )
    assert (cell["n"], cell["n_rows"]) == (30, 60)


def test_merging_twice_gives_identical_bytes(make_run: MakeRun, tmp_path: Path) -> None:
    make_run(tmp_path, seed=1, run_id="a", models=("alpha",))
    make_run(tmp_path, seed=3, run_id="b", models=("beta",))
    first = merge_runs(tmp_path, FAST)
    data = (first.metrics_path.read_bytes(), first.report_path.read_bytes())
    second = merge_runs(tmp_path, FAST)  # merged/ itself is never taken for a run folder
    assert (second.metrics_path.read_bytes(), second.report_path.read_bytes()) == data


def test_an_empty_folder_is_bad_input(tmp_path: Path) -> None:
    from puma.errors import InputFileError

    with pytest.raises(InputFileError, match="no run folders"):
        merge_runs(tmp_path, FAST)
