"""A realistic synthetic run folder, file for file what `puma run` (and `puma eval`) write, with
the run folder's own models and writers (puma.runfolder) and the runner's row derivation.

`make_run` builds one under a temporary folder: manifest.json, hardware.json, emissions.json,
run.jsonl (hash-chained, with a footer, sealed in the manifest), predictions.jsonl,
predictions_full.parquet (both derivable from the ledger, as share-results checks) and, on
request, metrics.json (written by `puma eval`'s own code). Predictions are drawn from a seeded
generator, so a fixture is the same every time.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from puma.evaluate import ScoringOptions, evaluate_run
from puma.runfolder import RunFolder
from puma.runfolder.ledger import LedgerEvent, LedgerWriter
from puma.runfolder.manifest import ModelRecord
from puma.runfolder.predictions import write_predictions
from puma.runner.finalize import RowPlan, prediction_rows
from puma.runner.plan import CallKey
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS
from run_records import (
    call_event,
    emissions,
    footer_event,
    hardware,
    manifest,
    meta_event,
    suite_record,
)

SUITE_FOR_TASK = {
    "triage": "pm-triage",
    "estimation": "pm-estimation",
    "prioritization": "pm-prioritization",
}
LABELS_FOR_TASK = {"triage": TRIAGE_LABELS, "estimation": (), "prioritization": PAIR_LABELS}
REPO_ROOT = Path(__file__).resolve().parents[2]
PUMA = REPO_ROOT / ".venv" / "bin" / "puma"

Items = Sequence[tuple[str, Any]]  # (instance_id, gold)


def synthetic_items(task: str, n: int, seed: int = 3) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        instance_id = f"{'ORBIT' if task != 'prioritization' else 'pair'}-{1000 + 7 * i}"
        if task == "triage":
            gold: Any = rng.choice(TRIAGE_LABELS)
        elif task == "estimation":
            gold = rng.choice(FIBONACCI_POINTS[:6])
        else:
            gold = rng.choice(PAIR_LABELS)
        items.append((instance_id, gold))
    return items


def _prediction(task: str, gold: Any, rng: random.Random) -> tuple[str | None, Any]:
    """(predicted_label, predicted_value): right 60% of the time, unparsed 1 time in 12."""
    if rng.random() < 1 / 12:
        return None, None
    if task == "estimation":
        value = gold if rng.random() < 0.6 else rng.choice(FIBONACCI_POINTS)
        return str(value), value
    labels = LABELS_FOR_TASK[task]
    label = gold if rng.random() < 0.6 else rng.choice(labels)
    return label, rng.uniform(0.25, 0.99)  # a probability with full float precision


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def make_run(
    parent: Path,
    *,
    suites: Sequence[tuple[str, str, Items]] | None = None,
    task: str = "triage",
    n_items: int = 24,
    models: Sequence[str] = ("gemma3-270m",),
    strategy: str = "zero-shot",
    measured_energy: bool = False,
    country_iso: str | None = "USA",
    with_metrics: bool = False,
    completed: bool = True,
    seed: int = 11,
    run_id: str = "0f7c2a9e-3b1d-4c55-9a61-2f5e8d7c1b40",
) -> Path:
    """Write a finished run folder and return its path.

    `suites` is a list of (suite id, task, items); by default one suite of `task` with
    `n_items` synthetic items.
    """
    if suites is None:
        suites = [(SUITE_FOR_TASK[task], task, synthetic_items(task, n_items))]
    root = parent / f"run-{run_id}"
    root.mkdir(parents=True)
    folder = RunFolder(root)
    rng = random.Random(seed)

    # The runner's own writer and row derivation: a real chain, prediction files that are
    # what the ledger says (share-results checks both).
    writer = LedgerWriter.create(folder.ledger)
    n_calls = 2 * len(models) * sum(len(items) for _, _, items in suites)
    events: list[LedgerEvent] = [writer.append(meta_event(run_id=run_id, planned_calls=n_calls))]
    plan: list[RowPlan] = []
    for suite_id, suite_task, items in suites:
        for model in models:
            for instance_id, gold in items:
                for perturbation in ("none", "typos"):
                    label, value = _prediction(suite_task, gold, rng)
                    seq = len(events)
                    total_ms = round(rng.uniform(80.0, 900.0), 3)
                    prompt = f"{suite_id}|{perturbation}|{instance_id}"
                    call = call_event(
                        instance_id,
                        ts="2025-03-01T10:00:01Z",
                        suite_id=suite_id,
                        model=model,
                        perturbation=perturbation,
                        prompt_hash=_line_hash(prompt)[:16],
                        output_text="" if label is None else f" {label}",
                        parse_status="unparsed" if label is None else "ok",
                        parsed_label=label,
                        predicted_value=value,
                        prompt_tokens=120 + seq % 40,
                        completion_tokens=2,
                        ttft_ms=total_ms * 0.8,
                        total_ms=total_ms,
                    )
                    events.append(writer.append(call))
                    slices = json.dumps({"project": instance_id.split("-")[0]})
                    key = CallKey(suite_id, model, perturbation, 0, instance_id)
                    plan.append(RowPlan(key, suite_task, str(gold), slices))
    write_predictions(folder, prediction_rows(run_id, strategy, plan, events))
    if completed:
        writer.append(
            footer_event(planned_calls=n_calls, calls_this_session=n_calls, attempts=n_calls)
        )
    writer.close()
    seal = writer.seal() if completed else None

    manifest(
        run_id,
        [
            suite_record(
                suite_id,
                suite_task,
                list(LABELS_FOR_TASK[suite_task]),
                content_hash=_line_hash(suite_id),
                n_items=len(items),
            )
            for suite_id, suite_task, items in suites
        ],
        [ModelRecord(name=m, digest=_line_hash(m)[:12]) for m in models],
        spec={
            "name": "demo",
            "runtime": {"kind": "ollama", "url": "http://192.168.1.20:11434", "model": models[0]},
            "suites": [{"id": s[0], "limit": len(s[2])} for s in suites],
            "strategy": strategy,
            "output": "/home/alice/puma/runs",
        },
        spec_hash="ab" * 32,
        spec_path="/home/alice/puma/specs/demo.yaml",
        runtime={
            "kind": "ollama",
            "url": "http://192.168.1.20:11434",
            "version": "0.6.2",
            "build": None,
        },
        strategy=strategy,
        generation={
            "temperature": 0.0,
            "top_p": 1.0,
            "top_k": 40,
            "seed": 42,
            "max_tokens": 16,
            "stop": [],
            "num_ctx": 4096,
        },
        perturbations=["typos"],
        submitter="alice-lab",
        device_tag="rtx-4090-pc",
        hostname="alices-desktop",
        started_at="2025-03-01T10:00:00Z",
        completed_at="2025-03-01T10:12:30Z" if completed else None,
        ledger_seal=seal,
    ).save(folder)
    hardware().save(folder)
    emissions(
        measured=measured_energy,
        tracking_mode="machine" if measured_energy else "estimate",
        country_iso=country_iso,
        codecarbon_version="2.8.3" if measured_energy else None,
        note="measured" if measured_energy else "estimated from TDP",
    ).save(folder)
    if with_metrics:  # what `puma eval` writes, with fewer resamples to stay quick
        evaluate_run(root, ScoringOptions(resamples=200, permutations=0))
    return root


@pytest.fixture
def run_factory(tmp_path: Path) -> Callable[..., Path]:
    """Build run folders under this test's tmp_path: `run_factory(task="estimation")`."""
    counter = iter(range(1000))

    def build(**options: Any) -> Path:
        parent = tmp_path / f"runs-{next(counter)}"
        return make_run(parent, **options)

    return build


@pytest.fixture
def puma_cli() -> Path:
    """The installed console script: tests run it as a user would."""
    return PUMA


@pytest.fixture
def make_items() -> Callable[..., list[tuple[str, Any]]]:
    """Synthetic (instance_id, gold) items for a task: `make_items("triage", 10)`."""
    return synthetic_items
