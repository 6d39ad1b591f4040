"""`merge_runs`: many run folders (or sweep shards) scored together into ROOT/merged/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _standard_errors(value: Any, path: str = "") -> dict[str, tuple[float | None, float | None]]:
    """Every metric object's (se_analytic, se_bootstrap), by its path in the document."""
    out: dict[str, tuple[float | None, float | None]] = {}
    if isinstance(value, dict):
        if "se_bootstrap" in value:
            return {path: (value["se_analytic"], value["se_bootstrap"])}
        for k, v in value.items():
            out.update(_standard_errors(v, f"{path}/{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            key = i
            if isinstance(v, dict) and "cell" in v:
                key = json.dumps(v["cell"], sort_keys=True)
            elif isinstance(v, dict) and "metric" in v:
                key = f"{v['a']}-{v['b']}-{v['metric']}"
            out.update(_standard_errors(v, f"{path}/{key}"))
    return out


@pytest.mark.parametrize("task", ["triage", "estimation"])
def test_merging_a_run_with_a_copy_of_itself_never_shrinks_a_standard_error(
    make_run: MakeRun, tmp_path: Path, task: str
) -> None:
    """A copy adds repetitions that say exactly what the first answers said: no new evidence.
    Every analytic and bootstrap SE is over items (clusters), so none may shrink."""
    options = ScoringOptions(resamples=1000, permutations=200)
    kwargs: dict[str, Any] = {
        "seed": 30,
        "task": task,
        "models": ("alpha", "beta"),
        "perturbations": ("typos", "gender-male", "gender-female"),
    }
    make_run(tmp_path / "once", run_id="one", **kwargs)
    make_run(tmp_path / "twice", run_id="one", **kwargs)
    make_run(tmp_path / "twice", run_id="two", **kwargs)
    once = _standard_errors(merge_runs(tmp_path / "once", options).document)
    twice = _standard_errors(merge_runs(tmp_path / "twice", options).document)
    assert set(once) == set(twice)
    checked = 0
    for path, (analytic, bootstrap) in once.items():
        for before, after in ((analytic, twice[path][0]), (bootstrap, twice[path][1])):
            if before is None:
                continue
            assert after is not None and after >= before * (1 - 1e-9), path
            checked += 1
    assert checked > 20
