"""A synthetic run folder from a seed: manifest.json plus predictions_full.parquet (FULL_SCHEMA),
written with the run folder's own models and writers.

`make_run(root, seed=..., ...)` writes `root/run-<id>/` and returns its path. Models differ in
skill; some answers are unparsed, some calls fail; triage rows carry label_probs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from puma.runfolder import RunFolder
from puma.runfolder.predictions import FullRow, full_predictions_bytes
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS
from run_records import manifest, suite_record

PROJECTS = ("HDFS", "SPARK", "KAFKA")


def _triage_row(
    rng: np.random.Generator, gold: int, skill: float, labels: Sequence[str] = TRIAGE_LABELS
) -> dict[str, Any]:
    logits = rng.normal(0.0, 1.0, len(labels))
    logits[gold] += 3.0 * skill
    probs = np.exp(logits) / np.exp(logits).sum()
    roll = rng.random()
    if roll < 0.05:
        return {
            "parse_status": "unparsed",
            "predicted_label": None,
            "predicted_value": None,
            "label_probs": json.dumps(
                {name: round(float(p), 6) for name, p in zip(labels, probs, strict=True)}
            ),
        }
    pred = int(np.argmax(probs)) if rng.random() < 0.9 else int(rng.integers(len(labels)))
    return {
        "parse_status": "ok",
        "predicted_label": labels[pred],
        "predicted_value": round(float(probs[pred]), 6),
        "label_probs": json.dumps(
            {name: round(float(p), 6) for name, p in zip(labels, probs, strict=True)}
        ),
    }


def _estimation_row(rng: np.random.Generator, gold: int, skill: float) -> dict[str, Any]:
    points = FIBONACCI_POINTS
    if rng.random() < 0.05:
        return {
            "parse_status": "unparsed",
            "predicted_label": None,
            "predicted_value": None,
            "label_probs": None,
        }
    step = points.index(gold) + int(np.round(rng.normal(0.0, 1.5 * (1.0 - skill) + 0.3)))
    value = points[int(np.clip(step, 0, len(points) - 1))]
    return {
        "parse_status": "ok",
        "predicted_label": str(value),
        "predicted_value": float(value),
        "label_probs": None,
    }


def build_run(
    root: Path,
    *,
    seed: int = 0,
    run_id: str | None = None,
    task: str = "triage",
    models: Sequence[str] = ("alpha", "beta", "gamma"),
    n_items: int = 60,
    repetitions: int = 1,
    perturbations: Sequence[str] = (),
    error_rate: float = 0.03,
    with_probs: bool = True,
    suite_id: str | None = None,
    strategy: str = "zero-shot",
    speed_phase: bool = False,
) -> Path:
    """Write a run folder with every (model, perturbation, repetition, item) call and return it."""
    rng = np.random.default_rng(seed)
    suite_id = suite_id or f"pm-{task}"
    labels = PAIR_LABELS if task == "prioritization" else TRIAGE_LABELS
    run_id = run_id or f"synthetic-{seed}"
    folder = Path(root) / f"run-{run_id}"
    folder.mkdir(parents=True)
    if task == "triage":
        weights = np.array([0.1, 0.4, 0.35, 0.15])
        golds = [TRIAGE_LABELS[i] for i in rng.choice(4, size=n_items, p=weights)]
    elif task == "prioritization":
        golds = [PAIR_LABELS[i] for i in rng.choice(2, size=n_items, p=[0.55, 0.45])]
    else:
        golds = [str(v) for v in rng.choice(FIBONACCI_POINTS[:6], size=n_items)]
    items = [f"{suite_id[:4].upper()}-{i:04d}" for i in range(n_items)]
    projects = [PROJECTS[i % len(PROJECTS)] for i in range(n_items)]
    rows: list[dict[str, Any]] = []
    seq = 0
    for m, model in enumerate(models):
        skill = 0.85 - 0.2 * m
        speed = 40.0 + 25.0 * m
        for perturbation in ("none", *perturbations):
            shift = 0.0 if perturbation == "none" else 0.15
            for repetition in range(repetitions if perturbation == "none" else 1):
                for iid, gold, project in zip(items, golds, projects, strict=True):
                    seq += 1
                    base = {
                        "run_id": run_id,
                        "suite_id": suite_id,
                        "task": task,
                        "model": model,
                        "strategy": strategy,
                        "phase": "predict",
                        "perturbation": perturbation,
                        "repetition": repetition,
                        "instance_id": iid,
                        "gold": gold,
                        "slices": json.dumps({"project": project}),
                        "prompt_hash": f"{seq:016x}",
                        "output_text": "",
                        "seq": seq,
                        "attempt": 1,
                        "runtime_timings": "{}",
                        "warnings": "[]",
                        "tokens_counted_locally": False,
                    }
                    if rng.random() < error_rate:
                        rows.append(
                            {
                                **base,
                                "parse_status": "error",
                                "predicted_label": None,
                                "predicted_value": None,
                                "label_probs": None,
                                "prompt_tokens": None,
                                "completion_tokens": None,
                                "ttft_ms": None,
                                "total_ms": None,
                                "prompt_tps": None,
                                "generation_tps": None,
                                "error": "timeout after 120 s",
                            }
                        )
                        continue
                    if task in ("triage", "prioritization"):
                        answer = _triage_row(rng, labels.index(gold), skill - shift, labels)
                        if not with_probs:
                            answer["label_probs"] = None
                    else:
                        answer = _estimation_row(rng, int(gold), skill - shift)
                    prompt_tokens = int(rng.integers(120, 400))
                    completion = int(rng.integers(2, 12))
                    ttft = float(rng.lognormal(np.log(prompt_tokens / (speed * 8) * 1000), 0.2))
                    gen_tps = float(rng.lognormal(np.log(speed), 0.15))
                    total = ttft + completion / gen_tps * 1000
                    rows.append(
                        {
                            **base,
                            **answer,
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion,
                            "ttft_ms": round(ttft, 3),
                            "total_ms": round(total, 3),
                            "prompt_tps": round(prompt_tokens / ttft * 1000, 3),
                            "generation_tps": round(gen_tps, 3),
                            "error": None,
                        }
                    )
        if speed_phase:
            for k in range(5):
                seq += 1
                rows.append(
                    {
                        "run_id": run_id,
                        "suite_id": suite_id,
                        "task": task,
                        "model": model,
                        "strategy": strategy,
                        "phase": "speed-frozen",
                        "perturbation": "none",
                        "repetition": k,
                        "instance_id": f"frozen-{k}",
                        "gold": golds[0],
                        "seq": seq,
                        "total_ms": 100.0 + k,
                        "ttft_ms": 20.0,
                        "prompt_tps": 900.0,
                        "generation_tps": speed,
                        "error": None,
                        "prompt_tokens": 512,
                        "completion_tokens": 64,
                    }
                )
    run = RunFolder(folder)
    run.predictions_full.write_bytes(full_predictions_bytes(FullRow(**r) for r in rows))
    suite = suite_record(
        suite_id, task, [] if task == "estimation" else list(labels), n_items=n_items
    )
    spec = {"name": "synthetic", "suites": [{"id": suite_id, "slices": ["project"]}]}
    manifest(
        run_id,
        [suite],
        list(models),
        spec=spec,
        strategy=strategy,
        perturbations=list(perturbations),
        repetitions=repetitions,
    ).save(run)
    return folder


@pytest.fixture
def make_run() -> Callable[..., Path]:
    return build_run
