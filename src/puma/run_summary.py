"""The closing summary of a run: per (suite, model) score so far, calls, errors, speed.

Point estimates only (from puma.stats.point); `puma eval` computes the figures with intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from puma.answer_quality import unusable_answer_warnings
from puma.predictions import BASELINE, canonical_number
from puma.runner.finalize import is_failed, is_skipped
from puma.stats.point import classification_scores, regression_scores
from puma.suites.model import FIBONACCI_POINTS

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

    @property
    def score_text(self) -> str:
        return f"{self.metric} {self.score:.3f}"


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
        gold = [r["gold"] for r in group]
        predicted = [r["predicted_label"] for r in group]
        if task == "estimation":
            scores = regression_scores(
                [float(g) for g in gold],
                [canonical_number(p) if p is not None else None for p in predicted],
                FIBONACCI_POINTS,
            )
            metric, score = "MAE", float(scores["mae"])  # type: ignore[arg-type]
        else:
            scores = classification_scores(gold, predicted, labels[suite_id])
            metric, score = "accuracy", float(scores["accuracy"])  # type: ignore[arg-type]
        cells.append(
            CellSummary(
                suite_id=suite_id,
                model=model,
                task=task,
                n=len(group),
                metric=metric,
                score=score,
                parse_failure_rate=float(scores["parse_failure_rate"]),  # type: ignore[arg-type]
                errors=sum(1 for r in group if is_failed(r)),
                skipped=sum(1 for r in group if is_skipped(r)),
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
