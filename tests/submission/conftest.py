"""A realistic synthetic run folder, file for file what `puma run` (and `puma eval`) write.

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

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.evaluate import ScoringOptions, evaluate_run
from puma.runfolder.predictions import FULL_SCHEMA
from puma.runfolder.ledger import LEDGER_SCHEMA, LedgerWriter
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS

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


def _call_event(row: dict[str, Any], value: Any) -> dict[str, Any]:
    """The ledger line the runner writes for the call behind a prediction row (see
    puma.runner.execute.call_record): the row is derived from it."""
    return {
        "type": "call",
        "seq": row["seq"],
        "ts": "2025-03-01T10:00:01Z",
        "phase": row["phase"],
        "suite_id": row["suite_id"],
        "instance_id": row["instance_id"],
        "model": row["model"],
        "perturbation": row["perturbation"],
        "repetition": row["repetition"],
        "attempt": row["attempt"],
        "prompt_hash": row["prompt_hash"],
        "options": {"temperature": 0.0, "seed": 42},
        "output_text": row["output_text"],
        "parse_status": row["parse_status"],
        "parsed_label": row["predicted_label"],
        "predicted_value": value,
        "label_probs": None,
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
        "tokens_counted_locally": row["tokens_counted_locally"],
        "ttft_ms": row["ttft_ms"],
        "total_ms": row["total_ms"],
        "prompt_tps": row["prompt_tps"],
        "generation_tps": row["generation_tps"],
        "runtime_timings": {},
        "warnings": [],
        "error": None,
    }


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
    rng = random.Random(seed)

    full_rows: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = [
        {"type": "meta", "seq": 0, "schema_version": LEDGER_SCHEMA, "run_id": run_id}
    ]
    for suite_id, suite_task, items in suites:
        for model in models:
            for instance_id, gold in items:
                for perturbation in ("none", "typos"):
                    label, value = _prediction(suite_task, gold, rng)
                    seq = len(ledger)
                    total_ms = round(rng.uniform(80.0, 900.0), 3)
                    prompt = f"{suite_id}|{perturbation}|{instance_id}"
                    full_rows.append(
                        {
                            "run_id": run_id,
                            "suite_id": suite_id,
                            "task": suite_task,
                            "model": model,
                            "strategy": strategy,
                            "phase": "predict",
                            "perturbation": perturbation,
                            "repetition": 0,
                            "instance_id": instance_id,
                            "gold": str(gold),
                            "slices": json.dumps({"project": instance_id.split("-")[0]}),
                            "prompt_hash": _line_hash(prompt)[:16],
                            "output_text": "" if label is None else f" {label}",
                            "parse_status": "unparsed" if label is None else "ok",
                            "predicted_label": label,
                            "predicted_value": None if value is None else float(value),
                            "label_probs": None,
                            "prompt_tokens": 120 + seq % 40,
                            "completion_tokens": 2,
                            "tokens_counted_locally": False,
                            "ttft_ms": total_ms * 0.8,
                            "total_ms": total_ms,
                            "prompt_tps": 900.0,
                            "generation_tps": 40.0,
                            "attempt": 1,
                            "error": None,
                            "runtime_timings": "{}",
                            "warnings": "[]",
                            "seq": seq,
                        }
                    )
                    ledger.append(_call_event(full_rows[-1], value))
    # predictions.jsonl: the baseline's canonical columns, as the runner writes them
    canonical = sorted(
        (r for r in full_rows if r["perturbation"] == "none"),
        key=lambda r: (r["suite_id"], r["model"], r["instance_id"]),
    )
    with (root / "predictions.jsonl").open("w", encoding="utf-8") as out:
        for r in canonical:
            value = r["predicted_value"]
            if r["task"] == "estimation" and value is not None:
                value = int(value)
            row = {
                "instance_id": r["instance_id"],
                "predicted_label": r["predicted_label"],
                "predicted_value": value,
                "prompt_hash": r["prompt_hash"],
                "suite_id": r["suite_id"],
                "model": r["model"],
            }
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
    pq.write_table(
        pa.Table.from_pylist(full_rows, schema=FULL_SCHEMA), root / "predictions_full.parquet"
    )

    writer = LedgerWriter.create(root / "run.jsonl")  # the runner's own writer: a real chain
    for entry in ledger:
        writer.append(entry["type"], {k: v for k, v in entry.items() if k not in ("type", "seq")})
    if completed:
        writer.append("footer", {"calls": len(full_rows)})
    writer.close()
    seal = writer.seal().model_dump() if completed else None

    manifest = {
        "schema_version": "manifest-1.0",
        "run_id": run_id,
        "tool": {"name": "puma", "version": "5.0.0"},
        "spec": {
            "name": "demo",
            "runtime": {"kind": "ollama", "url": "http://192.168.1.20:11434", "model": models[0]},
            "suites": [{"id": s[0], "limit": len(s[2])} for s in suites],
            "strategy": strategy,
            "output": "/home/alice/puma/runs",
        },
        "spec_hash": "ab" * 32,
        "spec_path": "/home/alice/puma/specs/demo.yaml",
        "suites": [
            {
                "id": suite_id,
                "version": "1.0.0",
                "task": suite_task,
                "labels": list(LABELS_FOR_TASK[suite_task]),
                "content_hash": _line_hash(suite_id),
                "n_items": len(items),
                "source": "bundled",
            }
            for suite_id, suite_task, items in suites
        ],
        "runtime": {
            "kind": "ollama",
            "url": "http://192.168.1.20:11434",
            "version": "0.6.2",
            "build": None,
        },
        "models": [{"name": m, "digest": _line_hash(m)[:12]} for m in models],
        "strategy": strategy,
        "generation": {
            "temperature": 0.0,
            "top_p": 1.0,
            "top_k": 40,
            "seed": 42,
            "max_tokens": 16,
            "stop": [],
            "num_ctx": 4096,
        },
        "seed": 42,
        "perturbations": ["typos"],
        "repetitions": 1,
        "concurrency": 1,
        "canonical": {},
        "overrides": {},
        "phases": ["predict"],
        "submitter": "alice-lab",
        "device_tag": "rtx-4090-pc",
        "hostname": "alices-desktop",
        "platform": {"system": "Linux", "machine": "x86_64", "python": "3.11.7"},
        "started_at": "2025-03-01T10:00:00Z",
        "completed_at": "2025-03-01T10:12:30Z" if completed else None,
        "resumed_at": [],
        "ledger_seal": seal,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    hardware = {
        "schema_version": "hardware-1.0",
        "cpu": {"model": "AMD Ryzen 9 7950X", "cores": 16, "threads": 32, "arch": "x86_64"},
        "ram_gb": 62.7,
        "gpus": [{"name": "NVIDIA GeForce RTX 4090", "vram_gb": 23.99, "driver": "550.54"}],
        "os": {
            "system": "Linux",
            "release": "6.8.0",
            "version": "#1 SMP",
            "pretty": "Ubuntu 24.04 LTS",
        },
        "python": "3.11.7",
        "runtime_build": {},
        "power_source": "ac",
    }
    (root / "hardware.json").write_text(json.dumps(hardware, indent=2), encoding="utf-8")
    emissions = {
        "schema_version": "emissions-1.0",
        "measured": measured_energy,
        "energy_kwh": 0.0123,
        "co2_g": 4.92,
        "tracking_mode": "machine" if measured_energy else "estimate",
        "country_iso": country_iso,
        "codecarbon_version": "2.8.3" if measured_energy else None,
        "duration_s": 750.0,
        "note": "measured" if measured_energy else "estimated from TDP",
    }
    (root / "emissions.json").write_text(json.dumps(emissions, indent=2), encoding="utf-8")
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
