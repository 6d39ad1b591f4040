"""A new task kind is one module: a capital-city answer task (exact match after normalisation),
written here as the harness would write src/puma/tasks/<kind>.py, is scored, reported and summarised
by code that never heard of it, and refused by schema v1 with a message."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import puma.tasks.base
import puma.tasks.metrics
from puma.errors import InputFileError
from puma.evaluate import ScoringOptions, evaluate_run
from puma.run_summary import summarize_run
from puma.runfolder import RunFolder
from puma.runfolder.predictions import FULL_SCHEMA
from puma.scenarios.base import Scenario
from puma.scenarios.parsing import ParsedOutput
from puma.stats.metrics import CountedRows, ratio
from puma.submission.mapping import scenario_for
from puma.suites.model import Suite
from puma.tasks import (
    Chance,
    Encoded,
    Metric,
    PointSummary,
    Task,
    metric_for,
    register_metric,
    register_task,
    task_for,
)
from run_records import manifest, suite_record

# --- what src/puma/tasks/capital_answer.py would hold -------------------------------------------


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


class ShortAnswerStats(CountedRows):
    """Per-item columns: count, unparsed, exact match (after normalisation)."""

    width = 3

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        out = np.zeros((len(gold), self.width))
        out[:, 0] = 1.0
        out[:, 1] = [p is None for p in pred]
        out[:, 2] = [
            p is not None and normalise(p) == normalise(g) for g, p in zip(gold, pred, strict=True)
        ]
        return out

    @staticmethod
    def matches(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 2])

    @staticmethod
    def exact_match(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 2], s[..., 0])


class ShortAnswerScenario(Scenario):
    template = "short_answer.j2"  # its data: scenarios/templates/short_answer.j2

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {}

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        return str(example["gold"])

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        return ParsedOutput(label=answer.strip(), status="ok") if answer.strip() else None

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        return None


EXACT_MATCH = Metric(
    "capital_match",
    "capital match",
    higher_is_better=True,
    sums=lambda x: x.stats.exact_match,
    numerator=lambda stats, m: stats.matches(m),
    proportion=True,
    paired=True,
)


class ShortAnswerTask(Task):
    name = "capital-answer"
    scenario_class = ShortAnswerScenario
    metrics = ("capital_match", "parse_failure_rate")
    chance_metrics = ("capital_match",)
    headline_chance = "most_frequent_answer"
    chance_names: ClassVar[Mapping[str, str]] = {"most_frequent_answer": "most frequent answer"}
    chance_description = "the most frequent gold answer said for every item"

    def sufficient_stats(self, labels: Sequence[str]) -> ShortAnswerStats:
        return ShortAnswerStats()

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        gold = np.array([str(r["gold"]) for r in rows], dtype=object)
        pred = np.array([r.get("predicted_label") for r in rows], dtype=object)
        return Encoded(gold, pred, np.zeros(len(rows)))

    def outcome(self, stats: ShortAnswerStats, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return stats.matches(stats.row_columns(gold, pred)) > 0

    def chance(
        self,
        stats: ShortAnswerStats,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        values, counts = np.unique(gold.astype(str), return_counts=True)
        answer = str(values[int(np.argmax(counts))])
        constant = np.full(len(gold), answer, dtype=object)
        return {"most_frequent_answer": Chance(answer, stats.columns(item, gold, constant, n))}

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        stats = ShortAnswerStats()
        g = np.array([str(v) for v in gold], dtype=object)
        rows = stats.row_columns(g, np.array(list(predicted), dtype=object))
        common = max(set(g), key=list(g).count)
        chance = stats.row_columns(g, np.full(len(g), common, dtype=object))
        return PointSummary(
            score=float(rows[:, 2].mean()),
            parse_failure_rate=float(rows[:, 1].mean()),
            model_rows=rows[:, 2],
            chance_rows=chance[:, 2],
        )

    def v1_scores(
        self, labels: Sequence[str], gold: Sequence[Any], rows: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        raise AssertionError("schema v1 has no scenario for this task: never asked")


# --- the specification ---------------------------------------------------------------------------


@pytest.fixture
def short_answer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Task]:
    """The module's registrations, undone after the test (the registries are process-wide)."""
    monkeypatch.setattr(puma.tasks.base, "_TASKS", dict(puma.tasks.base._TASKS))
    monkeypatch.setattr(puma.tasks.metrics, "_METRICS", dict(puma.tasks.metrics._METRICS))
    register_metric(EXACT_MATCH)
    register_task(ShortAnswerTask)
    yield task_for("capital-answer")


GOLD = ("Paris", "Rome", "Paris", "Berlin", "Madrid", "Paris", "Oslo", "Rome")


def _run(root: Path, n_items: int = 40) -> Path:
    rng = np.random.default_rng(7)
    folder = root / "run-short"
    folder.mkdir()
    rows = []
    for m, model in enumerate(("alpha", "beta")):
        for i in range(n_items):
            gold = GOLD[i % len(GOLD)]
            roll = rng.random()
            answer = (
                None if roll < 0.05 else (f" {gold.lower()}." if roll < 0.8 - 0.3 * m else "London")
            )
            rows.append(
                {
                    "run_id": "short",
                    "suite_id": "capitals",
                    "task": "capital-answer",
                    "model": model,
                    "strategy": "zero-shot",
                    "phase": "predict",
                    "perturbation": "none",
                    "repetition": 0,
                    "instance_id": f"CAP-{i:03d}",
                    "gold": gold,
                    "parse_status": "unparsed" if answer is None else "ok",
                    "predicted_label": answer,
                    "output_text": answer or "",
                    "error": None,
                    "ttft_ms": 10.0,
                    "total_ms": 50.0,
                }
            )
    pq.write_table(
        pa.Table.from_pylist(rows, schema=FULL_SCHEMA), folder / "predictions_full.parquet"
    )
    suite = suite_record(
        "capitals", "capital-answer", [], n_items=len({r["instance_id"] for r in rows})
    )
    manifest("short", [suite], ["alpha", "beta"]).save(RunFolder(folder))
    return folder


def test_the_registry_gives_the_new_kind_and_its_metric(short_answer: Task) -> None:
    assert short_answer.headline == "capital_match"
    assert short_answer.paired_metrics == ("capital_match",)
    assert metric_for("capital_match").higher_is_better


def test_a_task_naming_an_unregistered_metric_fails_on_registration(
    short_answer: Task,
) -> None:
    class Broken(ShortAnswerTask):
        name = "broken"
        metrics = ("capital_match", "bleu")

    with pytest.raises(KeyError, match="no metric 'bleu'"):
        register_task(Broken)


def test_eval_scores_reports_and_compares_the_new_kind(short_answer: Task, tmp_path: Path) -> None:
    run = _run(tmp_path)
    document = evaluate_run(run, ScoringOptions(resamples=200, permutations=200)).document
    alpha = next(c for c in document["cells"] if c["cell"]["model"] == "alpha")
    exact = alpha["metrics"]["capital_match"]
    rows = pq.read_table(run / "predictions_full.parquet").to_pylist()
    want = np.mean(
        [
            r["predicted_label"] is not None
            and normalise(r["predicted_label"]) == normalise(r["gold"])
            for r in rows
            if r["model"] == "alpha"
        ]
    )
    assert exact["point"] == pytest.approx(want)
    assert exact["method"] == "wilson"  # a declared proportion gets Wilson's interval
    chance = alpha["metrics"]["baselines"]["most_frequent_answer"]
    assert chance["prediction"] == "Paris"
    assert chance["capital_match"]["point"] == pytest.approx(3 / 8)
    (comparison,) = document["comparisons"]
    assert comparison["metric"] == "capital_match" and comparison["test"] == "mcnemar-exact"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "capital match" in html and "most frequent answer (Paris)" in html
    assert "the most frequent gold answer said for every item" in html


def test_the_run_summary_and_schema_v1_ask_the_new_kind(short_answer: Task, tmp_path: Path) -> None:
    rows = [
        r | {"seq": 0}
        for r in pq.read_table(_run(tmp_path) / "predictions_full.parquet").to_pylist()
    ]
    result = SimpleNamespace(
        rows=rows,
        manifest=SimpleNamespace(suites=[SimpleNamespace(id="capitals", labels=())], deviations=[]),
        folder=SimpleNamespace(root=tmp_path),
        failed_calls=0,
        skipped_calls=0,
    )
    cells = summarize_run(result, 1.0).cells  # type: ignore[arg-type]
    assert [c.metric for c in cells] == ["capital match", "capital match"]
    assert cells[0].chance == "most frequent answer"
    with pytest.raises(InputFileError, match="schema v1 has no scenario"):
        scenario_for("capitals", "capital-answer")
