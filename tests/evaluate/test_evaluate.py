"""`evaluate_run`: a run folder's predictions become metrics.json, metadata.json and report.html,
the same bytes every time, with points equal to puma.stats.point on the same rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from puma.errors import InputFileError
from puma.evaluate import ScoringOptions, evaluate_run, read_metadata, read_metrics
from puma.runfolder import RunFolder
from puma.runfolder.predictions import CanonicalRow, canonical_jsonl
from puma.stats import point
from puma.suites.model import FIBONACCI_POINTS, TRIAGE_LABELS
from run_records import manifest, suite_record

MakeRun = Callable[..., Path]
FAST = ScoringOptions(resamples=400, permutations=400)
METRIC_KEYS = {
    "point", "se_analytic", "se_bootstrap", "ci_low", "ci_high", "level", "method", "n",
    "resamples", "seed",
}  # fmt: skip


def _rows(run: Path) -> list[dict[str, Any]]:
    return pq.read_table(run / "predictions_full.parquet").to_pylist()


def _cell(document: dict[str, Any], model: str, perturbation: str = "none", slice_: Any = None):
    for cell in document["cells"]:
        key = cell["cell"]
        if (key["model"], key["perturbation"], key["slice"]) == (model, perturbation, slice_):
            return cell
    raise AssertionError(f"no cell {model} {perturbation} {slice_}")


def _metric_objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "point" in value and "ci_low" in value:
            yield value
        else:
            for v in value.values():
                yield from _metric_objects(v)
    elif isinstance(value, list):
        for v in value:
            yield from _metric_objects(v)


def test_eval_writes_metrics_metadata_and_report(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=1)
    result = evaluate_run(run, FAST)
    assert result.metrics_path == run / "metrics.json"
    metrics = read_metrics(run / "metrics.json")
    assert metrics.schema_version == "metrics-1.0"
    assert metrics.run_id == "synthetic-1"
    assert read_metadata(run / "metadata.json").schema_version == "metadata-1.0"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html


def test_re_running_eval_gives_identical_bytes(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=2, perturbations=("typos", "gender-male", "gender-female"))
    evaluate_run(run, FAST)
    first = {
        name: (run / name).read_bytes() for name in ("metrics.json", "metadata.json", "report.html")
    }
    evaluate_run(run, FAST)
    for name, data in first.items():
        assert (run / name).read_bytes() == data, name


def test_points_equal_the_point_module_on_the_same_rows(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=3)
    document = evaluate_run(run, FAST).document
    rows = _rows(run)
    for model in ("alpha", "beta", "gamma"):
        mine = [r for r in rows if r["model"] == model and r["perturbation"] == "none"]
        want = point.classification_scores(
            [r["gold"] for r in mine],
            [r["predicted_label"] for r in mine],
            TRIAGE_LABELS,
            confidence=[r["predicted_value"] if r["predicted_label"] else None for r in mine],
        )
        got = _cell(document, model)["metrics"]
        assert got["accuracy"]["point"] == pytest.approx(want["accuracy"], abs=1e-11)
        assert got["f1_macro"]["point"] == pytest.approx(want["f1_macro"], abs=1e-11)
        assert got["parse_failure_rate"]["point"] == pytest.approx(
            want["parse_failure_rate"], abs=1e-11
        )
        assert got["confusion_matrix"]["matrix"] == want["confusion_matrix"]
        for label in TRIAGE_LABELS:
            assert got["per_class"][label]["f1"]["point"] == pytest.approx(
                want["f1_per_class"][label], abs=1e-11
            )
        # Failed calls carry no label_probs, so calibration is over the scored rows only.
        scored = [r for r in mine if r["label_probs"] is not None]
        ece = point.expected_calibration_error(
            [float(r["gold"] == r["predicted_label"]) for r in scored],
            [r["predicted_value"] if r["predicted_label"] else None for r in scored],
        )
        assert got["calibration"]["ece"]["point"] == pytest.approx(ece, abs=1e-11)


def test_estimation_points_equal_the_point_module(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=4, task="estimation")
    document = evaluate_run(run, FAST).document
    rows = _rows(run)
    for model in ("alpha", "beta"):
        mine = [r for r in rows if r["model"] == model]
        want = point.regression_scores(
            [float(r["gold"]) for r in mine],
            [r["predicted_value"] if r["predicted_label"] else None for r in mine],
            [float(p) for p in FIBONACCI_POINTS],
        )
        got = _cell(document, model)["metrics"]
        for name in ("mae", "mdae", "mdmre", "within_one_step", "parse_failure_rate"):
            assert got[name]["point"] == pytest.approx(want[name], abs=1e-11), name
        assert -1.0 <= got["spearman"]["point"] <= 1.0
        assert "accuracy" not in got


def test_every_metric_carries_its_interval_and_provenance(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=5, perturbations=("typos",))
    document = evaluate_run(run, ScoringOptions(resamples=300, seed=7, level=0.9)).document
    objects = list(_metric_objects(document))
    assert len(objects) > 100
    for metric in objects:
        assert set(metric) - {"note"} == METRIC_KEYS
        assert metric["level"] == 0.9 and metric["seed"] == 7
        assert metric["method"] in ("bca", "percentile", "wilson", "newcombe", "none")
        if metric["method"] == "none":
            assert metric["ci_low"] is None and metric["note"]
        if metric["point"] is not None and metric["ci_low"] is not None:
            # Never zero-width: no metric here is known exactly (intervals.summarize).
            assert metric["ci_low"] < metric["ci_high"]


def test_failed_calls_count_as_wrong_and_only_as_errors_in_speed(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=6, error_rate=0.2, models=("alpha",))
    cell = _cell(evaluate_run(run, FAST).document, "alpha")
    rows = [r for r in _rows(run) if r["perturbation"] == "none"]
    failed = [r for r in rows if r["error"] is not None]
    assert len(failed) > 5
    right = sum(r["predicted_label"] == r["gold"] for r in rows)
    assert cell["metrics"]["accuracy"]["point"] == pytest.approx(right / len(rows))
    assert cell["speed"]["n_calls"] == len(rows)
    assert cell["speed"]["n_errors"] == len(failed)
    assert cell["speed"]["latency_ms_p50"]["n"] == len(rows) - len(failed)
    latencies = [r["total_ms"] for r in rows if r["error"] is None]
    assert cell["speed"]["latency_ms_p50"]["point"] == pytest.approx(np.median(latencies))


def test_every_model_pair_is_compared_with_holm_corrected_p_values(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=8, n_items=120, models=("alpha", "beta", "gamma", "delta"))
    comparisons = evaluate_run(run, FAST).document["comparisons"]
    pairs = {(c["a"], c["b"]) for c in comparisons}
    assert len(pairs) == 6
    accuracy = [c for c in comparisons if c["metric"] == "accuracy"]
    assert {c["test"] for c in accuracy} == {"mcnemar-exact"}
    assert {c["test"] for c in comparisons if c["metric"] == "f1_macro"} == {
        "sign-flip-permutation"
    }
    for c in comparisons:
        assert c["correction"] == "holm"
        assert c["p_adjusted"] >= c["p_value"]
    smallest = min(accuracy, key=lambda c: c["p_value"])
    assert smallest["p_adjusted"] == pytest.approx(min(1.0, 6 * smallest["p_value"]))
    alpha_beta = next(c for c in accuracy if (c["a"], c["b"]) == ("alpha", "beta"))
    document = read_metrics(run / "metrics.json").model_dump()
    difference = (
        _cell(document, "alpha")["metrics"]["accuracy"]["point"]
        - _cell(document, "beta")["metrics"]["accuracy"]["point"]
    )
    assert alpha_beta["difference"]["point"] == pytest.approx(difference)


def test_robustness_pairs_each_perturbed_item_with_its_baseline(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=9, perturbations=("typos",), models=("alpha",))
    entry = evaluate_run(run, FAST).document["robustness"][0]
    rows = _rows(run)
    base = {r["instance_id"]: r for r in rows if r["perturbation"] == "none"}
    pert = {r["instance_id"]: r for r in rows if r["perturbation"] == "typos"}
    right = lambda r: r["predicted_label"] == r["gold"]  # noqa: E731
    to_correct = sum(right(pert[i]) and not right(base[i]) for i in pert)
    to_incorrect = sum(right(base[i]) and not right(pert[i]) for i in pert)
    same = sum(pert[i]["predicted_label"] == base[i]["predicted_label"] for i in pert)
    assert (entry["model"], entry["perturbation"], entry["n_pairs"]) == (
        "alpha",
        "typos",
        len(pert),
    )
    assert entry["flip_counts"] == {"to_correct": to_correct, "to_incorrect": to_incorrect}
    assert entry["flip_rate"]["point"] == pytest.approx((to_correct + to_incorrect) / len(pert))
    assert entry["consistency"]["point"] == pytest.approx(same / len(pert))
    accuracy = lambda rs: sum(map(right, rs)) / len(rs)  # noqa: E731
    assert entry["changes"]["accuracy"]["point"] == pytest.approx(
        accuracy(list(pert.values())) - accuracy(list(base.values()))
    )


def test_fairness_reports_the_gap_between_gender_variants(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=10, perturbations=("gender-male", "gender-female"))
    fairness = evaluate_run(run, FAST).document["fairness"]
    assert {f["model"] for f in fairness} == {"alpha", "beta", "gamma"}
    entry = fairness[0]
    assert (entry["group"], entry["a"], entry["b"]) == ("gender", "gender-male", "gender-female")
    assert set(entry["gaps"]) == {"accuracy", "f1_macro", "kappa"}
    assert entry["p_values"]["accuracy"] is not None


def test_slices_partition_the_items_of_each_cell(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=11, n_items=90)
    document = evaluate_run(run, FAST).document
    slices = [c for c in document["cells"] if c["cell"]["model"] == "alpha" and c["cell"]["slice"]]
    assert [c["cell"]["slice"] for c in slices] == [
        {"project": "HDFS"},
        {"project": "KAFKA"},
        {"project": "SPARK"},
    ]
    assert sum(c["n"] for c in slices) == 90
    assert all(c["speed"] is None and c["metrics"]["calibration"] is None for c in slices)


def test_calibration_appears_only_where_label_probs_exist(
    make_run: MakeRun, tmp_path: Path
) -> None:
    with_probs = evaluate_run(make_run(tmp_path / "a", seed=12), FAST).document
    without = evaluate_run(make_run(tmp_path / "b", seed=12, with_probs=False), FAST).document
    calibration = _cell(with_probs, "alpha")["metrics"]["calibration"]
    assert set(calibration) >= {
        "ece",
        "adaptive_ece",
        "brier_multiclass",
        "nll",
        "reliability",
        "recalibration",
    }
    assert set(calibration["recalibration"]["methods"]) == {
        "none",
        "temperature",
        "platt",
        "isotonic",
    }
    assert _cell(without, "alpha")["metrics"]["calibration"] is None


def test_repetitions_are_resampled_as_items(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=13, repetitions=3, n_items=40, models=("alpha", "beta"))
    document = evaluate_run(run, FAST).document
    cell = _cell(document, "alpha")
    assert (cell["n"], cell["n_rows"]) == (40, 120)
    assert cell["metrics"]["accuracy"]["n"] == 40
    accuracy = next(c for c in document["comparisons"] if c["metric"] == "accuracy")
    assert accuracy["test"] == "sign-flip-permutation"  # McNemar needs one row per item


def test_a_different_seed_moves_intervals_not_points(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=14)
    a = _cell(evaluate_run(run, ScoringOptions(resamples=300, seed=1)).document, "beta")
    b = _cell(evaluate_run(run, ScoringOptions(resamples=300, seed=2)).document, "beta")
    assert a["metrics"]["f1_macro"]["point"] == b["metrics"]["f1_macro"]["point"]
    assert a["metrics"]["f1_macro"]["ci_low"] != b["metrics"]["f1_macro"]["ci_low"]


def test_metadata_aggregates_measured_calls_per_cell_and_phase(
    make_run: MakeRun, tmp_path: Path
) -> None:
    """metadata-1.0: one aggregate per (cell, phase), the phase being the suite; rows in another
    role than "predict" (here speed probes) are in no figure, as warm-up calls are not."""
    run = make_run(tmp_path, seed=15, speed_phase=True, models=("alpha", "beta"))
    evaluate_run(run, FAST)
    metadata = read_metadata(run / "metadata.json")
    suite = metadata.provenance.suites[0].id
    keys = [(a.cell_id, a.phase) for a in metadata.aggregates]
    assert keys == [("test-box/alpha", suite), ("test-box/beta", suite)]
    alpha = metadata.aggregates[0]
    assert (alpha.n_calls, alpha.n_items) == (60, 60)
    assert alpha.quality is not None and alpha.quality.value.n == 60
    assert alpha.speed.generation_tps.n == 60 - alpha.n_errors
    # Without hardware.json and a ledger, the run folder's metadata says so rather than guess.
    assert (metadata.provenance.hardware, metadata.provenance.ledger) == (None, None)
    # Speed-probe calls are not benchmark items: the quality metrics never see them.
    cell = _cell(read_metrics(run / "metrics.json").model_dump(), "alpha")
    assert cell["n"] == 60


def test_a_run_without_predictions_is_bad_input(make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run(tmp_path, seed=16)
    (run / "predictions_full.parquet").unlink()
    with pytest.raises(InputFileError, match="no predictions"):
        evaluate_run(run, FAST)


def test_canonical_predictions_are_scored_against_the_suite_gold(tmp_path: Path) -> None:
    """Without predictions_full.parquet, predictions.jsonl plus the bundled suite's gold."""
    from puma.suites import load_suite

    suite = load_suite("pm-triage")
    items = suite.items[:50]
    run = tmp_path / "run-canonical"
    run.mkdir()
    record = suite_record(
        "pm-triage",
        "triage",
        list(suite.labels),
        version=suite.version,
        content_hash=suite.content_hash,
    )
    spec = {"suites": [{"id": "pm-triage", "slices": ["project"]}]}
    manifest("canonical", [record], ["m"], spec=spec).save(RunFolder(run))
    answers = ["Major" if i % 3 else None for i in range(len(items))]
    rows = [
        CanonicalRow(
            instance_id=item["instance_id"],
            predicted_label=answer,
            predicted_value=None,
            prompt_hash="0" * 16,
            suite_id="pm-triage",
            model="m",
        )
        for item, answer in zip(items, answers, strict=True)
    ]
    (run / "predictions.jsonl").write_text(canonical_jsonl(rows), encoding="utf-8")
    document = evaluate_run(run, FAST).document
    want = point.classification_scores([i["gold"] for i in items], answers, suite.labels)
    cell = _cell(document, "m")
    assert cell["metrics"]["accuracy"]["point"] == pytest.approx(want["accuracy"])
    assert cell["metrics"]["parse_failure_rate"]["point"] == pytest.approx(1 / 3, abs=0.02)
    assert any(c["cell"]["slice"] for c in document["cells"])  # slices from the suite's fields
    digest = hashlib.sha256((run / "predictions.jsonl").read_bytes()).hexdigest()
    assert document["sources"] == [
        {"run_id": "canonical", "predictions": "predictions.jsonl", "predictions_sha256": digest}
    ]


def _rewrite(run: Path, change: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Apply `change` to every row of the run's predictions_full.parquet."""
    import pyarrow as pa

    table = pq.read_table(run / "predictions_full.parquet")
    rows = table.to_pylist()
    for row in rows:
        change(row)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=table.schema), run / "predictions_full.parquet"
    )
    return rows


def test_an_estimate_outside_the_scale_is_its_own_rate_not_a_huge_error(
    make_run: MakeRun, tmp_path: Path
) -> None:
    """ "100" on the 1-21 scale is out of scale: counted as such, scored as the scale point
    farthest from gold (never 79 points of error, never "within one step" of 21)."""
    run = make_run(tmp_path, seed=20, task="estimation", models=("alpha",), error_rate=0.0)

    def say_100(row: dict[str, Any]) -> None:
        if row["instance_id"].endswith(("0", "5")) and row["predicted_label"] is not None:
            row["predicted_label"], row["predicted_value"] = "100", 100.0
            row["parse_status"] = "fuzzy"

    rows = _rewrite(run, say_100)
    cell = _cell(evaluate_run(run, FAST).document, "alpha")["metrics"]
    estimates = [
        None if r["predicted_label"] is None else float(r["predicted_label"]) for r in rows
    ]
    gold = [float(r["gold"]) for r in rows]
    want = point.regression_scores(gold, estimates, [float(p) for p in FIBONACCI_POINTS])
    share = sum(1 for e in estimates if e == 100.0) / len(rows)
    assert share > 0.1
    assert cell["out_of_scale_rate"]["point"] == pytest.approx(share)
    assert want["out_of_scale_rate"] == pytest.approx(share)
    assert cell["mae"]["point"] == pytest.approx(want["mae"])
    assert cell["mae"]["point"] < 20  # the farthest point from any gold is at most 20 away
    assert cell["parse_failure_rate"]["point"] == pytest.approx(want["parse_failure_rate"])
    assert cell["within_one_step"]["point"] == pytest.approx(want["within_one_step"])


def test_every_headline_score_stands_beside_its_chance_baseline(
    make_run: MakeRun, tmp_path: Path
) -> None:
    document = evaluate_run(make_run(tmp_path, seed=21, models=("alpha",)), FAST).document
    rows = [r for r in _rows(tmp_path / "run-synthetic-21") if r["perturbation"] == "none"]
    gold = [r["gold"] for r in rows]
    majority = max(TRIAGE_LABELS, key=gold.count)
    cell = _cell(document, "alpha")
    baselines = cell["metrics"]["baselines"]
    assert set(baselines) == {"majority_class", "uniform_random"}
    chance = baselines["majority_class"]
    assert chance["prediction"] == majority
    assert chance["accuracy"]["point"] == pytest.approx(gold.count(majority) / len(gold))
    want_f1 = point.classification_scores(gold, [majority] * len(gold), TRIAGE_LABELS)
    assert chance["f1_macro"]["point"] == pytest.approx(want_f1["f1_macro"])
    difference = chance["difference"]["accuracy"]
    assert difference["point"] == pytest.approx(
        cell["metrics"]["accuracy"]["point"] - chance["accuracy"]["point"]
    )
    assert difference["ci_low"] < difference["point"] < difference["ci_high"]
    uniform = baselines["uniform_random"]
    assert uniform["accuracy"]["point"] == pytest.approx(1 / len(TRIAGE_LABELS))
    assert set(uniform["difference"]) == {"accuracy", "f1_macro"}
    # Slices carry no baseline: the headline is the whole cell.
    assert "baselines" not in _cell(document, "alpha", slice_={"project": "HDFS"})["metrics"]


def test_an_estimation_headline_stands_beside_the_constant_median(
    make_run: MakeRun, tmp_path: Path
) -> None:
    run = make_run(tmp_path, seed=22, task="estimation", models=("alpha",))
    cell = _cell(evaluate_run(run, FAST).document, "alpha")
    gold = np.array([float(r["gold"]) for r in _rows(run) if r["perturbation"] == "none"])
    chance = cell["metrics"]["baselines"]["constant_median"]
    assert chance["prediction"] == float(np.median(gold))
    assert chance["mae"]["point"] == pytest.approx(float(np.mean(np.abs(gold - np.median(gold)))))
    assert chance["difference"]["mae"]["point"] == pytest.approx(
        cell["metrics"]["mae"]["point"] - chance["mae"]["point"]
    )
