"""Corpus-level metrics: lm-eval keeps each sample's (gold, prediction) pair for `mcc` and `f1`
(its api/task.py returns the tuple, its api/metrics.py aggregates with scikit-learn's
matthews_corrcoef and f1_score). The log here is written in that documented shape; PUMA
re-derives both from the pairs and must agree with scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef

from puma.evaluate import ScoringOptions
from puma.importers import import_logs
from puma.stats.metrics import ClassificationStats

STAMP = "2026-01-02T03-04-05.000001"


def write_cola_like_log(folder: Path, golds: list[int], preds: list[int]) -> None:
    folder.mkdir(parents=True)
    lines = []
    for doc_id, (gold, pred) in enumerate(zip(golds, preds, strict=True)):
        lines.append(
            {
                "doc_id": doc_id,
                "doc": {"sentence": f"sentence {doc_id}", "label": gold},
                "target": gold,
                "arguments": {},
                "resps": [[[-1.0, False]], [[-2.0, False]]],
                "filtered_resps": [[-1.0, False], [-2.0, False]],
                "filter": "none",
                "metrics": ["mcc", "f1", "acc"],
                "mcc": [gold, pred],
                "f1": [gold, pred],
                "acc": float(gold == pred),
            }
        )
    (folder / f"samples_cola_{STAMP}.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines)
    )
    results = {
        "results": {
            "cola": {
                "alias": "cola",
                "mcc,none": matthews_corrcoef(golds, preds),
                "mcc_stderr,none": 0.05,
                "f1,none": f1_score(golds, preds),
                "f1_stderr,none": "N/A",
                "acc,none": float(np.mean(np.array(golds) == np.array(preds))),
                "acc_stderr,none": 0.02,
            }
        },
        "configs": {
            "cola": {
                "metric_list": [
                    {"metric": "mcc", "aggregation": "matthews_corrcoef"},
                    {"metric": "f1", "aggregation": "f1"},
                    {"metric": "acc"},
                ]
            }
        },
        "higher_is_better": {"cola": {"mcc": True, "f1": True, "acc": True}},
        "n-samples": {"cola": {"original": len(golds), "effective": len(golds)}},
        "config": {"model": "hf", "model_args": "pretrained=org/tiny-model", "random_seed": 0},
        "lm_eval_version": "0.4.13",
        "model_name": "org/tiny-model",
        "date": 1767323045.0,
    }
    (folder / f"results_{STAMP}.json").write_text(json.dumps(results))


def test_mcc_and_binary_f1_are_re_derived_from_the_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    golds = rng.integers(0, 2, 120).tolist()
    preds = [g if rng.random() < 0.7 else 1 - g for g in golds]
    write_cola_like_log(tmp_path / "logs", golds, preds)
    result = import_logs(
        "lm-eval",
        [tmp_path / "logs"],
        tmp_path / "run",
        options=ScoringOptions(resamples=300, permutations=300),
    )
    assert result.suites == ["cola/acc", "cola/labels"]
    status = {c.metric: c for c in result.comparisons}
    assert status["mcc,none"].status == "equal"
    assert status["mcc,none"].puma == pytest.approx(matthews_corrcoef(golds, preds), abs=1e-12)
    assert status["f1,none"].status == "equal"
    assert status["f1,none"].puma_metric == "per_class/1/f1"
    assert status["acc,none"].status == "equal"


@pytest.mark.parametrize("labels", [2, 3, 5])
def test_mcc_of_summed_columns_is_scikit_learns(labels: int) -> None:
    rng = np.random.default_rng(labels)
    gold = rng.integers(0, labels, 300)
    pred = np.where(rng.random(300) < 0.6, gold, rng.integers(-1, labels, 300))
    stats = ClassificationStats([str(i) for i in range(labels)])
    sums = stats.row_columns(gold, pred).sum(axis=0)
    # An unparsed answer (-1) is a class of its own that gold never takes.
    assert float(stats.mcc(sums)) == pytest.approx(matthews_corrcoef(gold, pred), abs=1e-12)


def test_mcc_is_zero_when_a_margin_is_constant() -> None:
    stats = ClassificationStats(["0", "1"])
    sums = stats.row_columns(np.array([0, 1, 1]), np.array([1, 1, 1])).sum(axis=0)
    assert float(stats.mcc(sums)) == 0.0 == matthews_corrcoef([0, 1, 1], [1, 1, 1])


def test_imported_kinds_are_scored_never_run() -> None:
    from puma.errors import InputFileError
    from puma.suites.model import Suite
    from puma.tasks import build_prompt, task_names

    imported = {"imported-binary", "imported-mean", "imported-label"}
    assert imported <= set(task_names())
    assert not imported & set(task_names(runnable=True))
    suite = Suite.model_construct(id="x/acc", task="imported-binary", labels=())
    with pytest.raises(InputFileError, match="cannot be run"):
        build_prompt(suite, {"instance_id": "1"}, "zero-shot", seed=0)
