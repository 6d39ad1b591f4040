"""The closing summary of a run: per (suite, model) score so far, calls, errors, speed.

The task's headline point (puma.tasks: Task.point_summary, from puma.stats.point), beside its
headline chance baseline on the same items (the majority class for a label task, the median gold
estimate for estimation) with the paired difference and a percentile bootstrap interval of it,
so a reader sees at once whether a model beats chance. `puma eval` computes every figure with
intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from puma.answer_quality import unusable_answer_warnings
from puma.predictions import BASELINE
from puma.runner.finalize import is_failed, is_skipped
from puma.stats.intervals import percentile_interval
from puma.stats.resample import iter_bootstrap_counts, universe_seed
from puma.tasks import metric_label, task_for

# The summary's interval of the difference to chance: small and fixed, so it stays instant.
SUMMARY_RESAMPLES = 2000
SUMMARY_SEED = 42

if TYPE_CHECKING:
    from puma.runner.session import RunResult


@dataclass(frozen=True)
class CellSummary:
    suite_id: str
    model: str
    task: str
    n: int
    metric: str
    score: float
    parse_failure_rate: float
    errors: int
    skipped: int
    chance: str  # the baseline predictor: "majority class" or "median estimate"
    chance_score: float
    difference: float  # score - chance_score, per item on the same items
    difference_low: float | None
    difference_high: float | None
    out_of_scale_rate: float | None = None  # tasks on a scale only

    @property
    def score_text(self) -> str:
        interval = (
            ""
            if self.difference_low is None or self.difference_high is None
            else f" [{self.difference_low:+.3f}, {self.difference_high:+.3f}]"
        )
        return (
            f"{self.metric} {self.score:.3f} · {self.chance} {self.chance_score:.3f} · "
            f"Δ {self.difference:+.3f}{interval}"
        )


@dataclass(frozen=True)
class RunSummary:
    run_dir: str
    cells: list[CellSummary]
    calls: int
    errors: int
    skipped: int
    wall_s: float
    generation_tps: float | None
    prompt_tps: float | None
    warnings: list[str]  # suites with many answers without a label (puma.answer_quality)
    deviations: list[dict[str, Any]]  # settings PUMA changed to suit the runtime (manifest)

    @property
    def speed_text(self) -> str:
        def show(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f} tokens/s"

        return f"prompt {show(self.prompt_tps)} · generation {show(self.generation_tps)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "calls": self.calls,
            "errors": self.errors,
            "skipped": self.skipped,
            "wall_s": round(self.wall_s, 3),
            "generation_tokens_per_s": self.generation_tps,
            "prompt_tokens_per_s": self.prompt_tps,
            "cells": [cell.__dict__ for cell in self.cells],
            "warnings": self.warnings,
            "deviations": self.deviations,
        }


def summarize_run(result: RunResult, wall_s: float) -> RunSummary:
    rows = [r for r in result.rows if r["perturbation"] == BASELINE and r["repetition"] == 0]
    labels = {s.id: s.labels for s in result.manifest.suites}
    cells = []
    for suite_id, model in sorted({(r["suite_id"], r["model"]) for r in rows}):
        group = [r for r in rows if r["suite_id"] == suite_id and r["model"] == model]
        task = group[0]["task"]
        kind = task_for(task, where=f"suite {suite_id}")
        gold = [r["gold"] for r in group]
        predicted = [r["predicted_label"] for r in group]
        point = kind.point_summary(gold, predicted, labels[suite_id])
        model_rows, chance_rows = point.model_rows, point.chance_rows
        difference = model_rows - chance_rows
        low, high = _mean_interval(difference, f"{suite_id}/{model}")
        cells.append(
            CellSummary(
                suite_id=suite_id,
                model=model,
                task=task,
                n=len(group),
                metric=metric_label(kind.headline),
                score=point.score,
                parse_failure_rate=point.parse_failure_rate,
                errors=sum(1 for r in group if is_failed(r)),
                skipped=sum(1 for r in group if is_skipped(r)),
                chance=kind.chance_names[kind.headline_chance],
                chance_score=float(chance_rows.mean()),
                difference=float(difference.mean()),
                difference_low=low,
                difference_high=high,
                out_of_scale_rate=point.out_of_scale_rate,
            )
        )
    ok = [r for r in result.rows if r["error"] is None and r["ttft_ms"] is not None]
    # Decode speed: tokens after the first over the time after the first token, pooled.
    tokens = sum(max((r["completion_tokens"] or 0) - 1, 0) for r in ok)
    gen_ms = sum(r["total_ms"] - r["ttft_ms"] for r in ok)
    prompt_tokens = sum(r["prompt_tokens"] or 0 for r in ok)
    prompt_ms = sum(r["ttft_ms"] for r in ok)
    return RunSummary(
        run_dir=str(result.folder.root),
        cells=cells,
        calls=len(result.rows),
        errors=result.failed_calls,
        skipped=result.skipped_calls,
        wall_s=wall_s,
        generation_tps=round(tokens / (gen_ms / 1000.0), 2) if tokens and gen_ms > 0 else None,
        prompt_tps=round(prompt_tokens / (prompt_ms / 1000.0), 2) if prompt_ms > 0 else None,
        warnings=unusable_answer_warnings(result.rows),
        deviations=[d.model_dump(mode="json") for d in result.manifest.deviations],
    )


def _mean_interval(values: np.ndarray, key: str) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval (95 %) of a mean of per-item values, from the engine's
    seeded counts; None when there are fewer than two items."""
    n = len(values)
    if n < 2:
        return None, None
    rng = np.random.Generator(np.random.PCG64(universe_seed(SUMMARY_SEED, key)))
    means = np.concatenate(
        [counts @ values / n for counts in iter_bootstrap_counts(n, SUMMARY_RESAMPLES, rng)]
    )
    low, high = percentile_interval(means, 0.95)
    return round(low, 6), round(high, 6)
