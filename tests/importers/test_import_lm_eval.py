"""`puma import lm-eval` on real lm-evaluation-harness 0.4 logs (tests/importers/fixtures)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from puma.evaluate import ScoringOptions
from puma.importers import import_logs
from puma.merge import merge_runs
from puma.runfolder import RunFolder
from puma.runfolder.manifest import Manifest

FAST = ScoringOptions(resamples=500, permutations=500)


def test_points_equal_what_lm_eval_reported(logs: Path, tmp_path: Path) -> None:
    result = import_logs("lm-eval", [logs / "lm-eval"], tmp_path / "run", options=FAST)
    assert result.models == ["gemma3-270m", "gemma3-270m-short"]
    assert result.suites == ["puma_sequences/exact_match"]
    compared = [c for c in result.comparisons if c.puma_metric]
    assert len(compared) == 2
    assert all(c.status == "equal" for c in compared), compared
    reported = json.loads(next((logs / "lm-eval/gemma3-270m").glob("results_*.json")).read_text())
    own = next(c for c in compared if c.model == "gemma3-270m")
    assert own.puma == reported["results"]["puma_sequences"]["exact_match,none"]


def test_the_manifest_names_tool_version_model_task_and_log_digests(
    logs: Path, tmp_path: Path
) -> None:
    result = import_logs("lm-eval", [logs / "lm-eval"], tmp_path / "run", evaluate=False)
    manifest = Manifest.load(result.folder)
    assert manifest.source is not None
    assert manifest.source.tool == "lm-evaluation-harness"
    for record in manifest.source.logs:
        assert record.tool_version == "0.4.13"
        assert record.tasks == ["puma_sequences"]
        path = next(logs.rglob(record.file))
        assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        (samples,) = record.companions
        digest = hashlib.sha256(next(logs.rglob(samples)).read_bytes()).hexdigest()
        assert record.companions[samples] == digest
    assert manifest.runtime["kind"] == "imported"
    assert manifest.hostname == ""  # nothing about the importer's machine


def test_models_are_compared_pairwise_on_shared_items_with_holm(logs: Path, tmp_path: Path) -> None:
    result = import_logs("lm-eval", [logs / "lm-eval"], tmp_path / "run", options=FAST)
    assert result.document is not None
    (comparison,) = [c for c in result.document["comparisons"] if c["metric"] == "score_rate"]
    assert {comparison["a"], comparison["b"]} == set(result.models)
    assert comparison["test"] == "mcnemar-exact"
    assert comparison["n"] == 8
    assert comparison["correction"] == "holm"


def test_same_logs_same_bytes_in_any_order(logs: Path, tmp_path: Path) -> None:
    models = sorted((logs / "lm-eval").iterdir())
    first = import_logs("lm-eval", models, tmp_path / "a", options=FAST).folder
    second = import_logs("lm-eval", models[::-1], tmp_path / "b", options=FAST).folder
    for name in ("manifest.json", "predictions.jsonl", "predictions_full.parquet", "metrics.json"):
        assert (first.root / name).read_bytes() == (second.root / name).read_bytes(), name


def test_eval_and_merge_read_an_imported_run_like_any_other(logs: Path, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for model in sorted((logs / "lm-eval").iterdir()):
        import_logs("lm-eval", [model], root / model.name, evaluate=False)
    merged = merge_runs(root, FAST)
    assert len(merged.runs) == 2
    assert any(c["metric"] == "score_rate" for c in merged.document["comparisons"])

    import puma

    evaluated = puma.evaluate(root / "gemma3-270m", resamples=500, permutations=500)
    (cell,) = [c for c in evaluated.document["cells"] if c["cell"]["slice"] is None]
    assert cell["n"] == 8
    assert RunFolder(root / "gemma3-270m").report.is_file()
