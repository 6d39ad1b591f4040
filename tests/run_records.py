"""The records of a run folder, built with the run folder's own models (puma.runfolder), for tests
that write run folders: every field a test does not care about has a plausible value, and a test
overrides what it does care about. Fixtures write them with the models' own writers
(`Manifest.save`, `LedgerWriter.append`, `write_predictions`), never by hand."""

from __future__ import annotations

from typing import Any

from puma.runfolder.emissions import Emissions
from puma.runfolder.hardware import GIB, Cpu, Gpu, HardwareReport, Kernel, OperatingSystem
from puma.runfolder.ledger import CallEvent, FooterEvent, MetaEvent, ResumeEvent, SkippedEvent
from puma.runfolder.manifest import Manifest, ModelRecord, SuiteRecord

TS = "2025-03-01T10:00:00Z"
TOOL = {"name": "puma", "version": "5.0.0"}


def meta_event(**fields: Any) -> MetaEvent:
    values: dict[str, Any] = {
        "run_id": "r",
        "spec_hash": "ab" * 32,
        "tool": TOOL,
        "ts": TS,
        "planned_calls": 0,
    }
    return MetaEvent(**{**values, **fields})


def call_event(instance_id: str = "X-0", **fields: Any) -> CallEvent:
    """A successful call: triage, answer "Major"."""
    values: dict[str, Any] = {
        "ts": TS,
        "phase": "predict",
        "suite_id": "pm-triage",
        "instance_id": instance_id,
        "model": "m",
        "perturbation": "none",
        "repetition": 0,
        "attempt": 1,
        "prompt_hash": "0" * 16,
        "options": {"temperature": 0.0, "seed": 42},
        "output_text": " Major",
        "parse_status": "ok",
        "parsed_label": "Major",
        "predicted_value": 0.5,
        "label_probs": None,
        "prompt_tokens": 100,
        "completion_tokens": 1,
        "tokens_counted_locally": False,
        "ttft_ms": 10.0,
        "total_ms": 12.5,
        "prompt_tps": 900.0,
        "generation_tps": 40.0,
        "runtime_timings": {},
        "warnings": [],
        "error": None,
    }
    return CallEvent(**{**values, **fields})


def skipped_event(instance_id: str = "X-0", **fields: Any) -> SkippedEvent:
    call = call_event(instance_id, output_text=None, parsed_label=None, predicted_value=None)
    values = {
        **call.model_dump(exclude={"type", "seq", "prev_hash"}),
        "parse_status": "skipped",
        "error": "the prompt does not fit the context",
        "reason": "prompt_too_long",
    }
    return SkippedEvent(**{**values, **fields})


def resume_event(**fields: Any) -> ResumeEvent:
    return ResumeEvent(**{"ts": TS, "planned_calls": 0, "remaining_calls": 0, **fields})


def footer_event(**fields: Any) -> FooterEvent:
    values: dict[str, Any] = {
        "ts": TS,
        "planned_calls": 0,
        "calls_this_session": 0,
        "attempts": 0,
        "failed_calls": 0,
        "skipped_calls": 0,
    }
    return FooterEvent(**{**values, **fields})


def suite_record(suite_id: str, task: str, labels: list[str], **fields: Any) -> SuiteRecord:
    values: dict[str, Any] = {
        "id": suite_id,
        "version": "1.0.0",
        "task": task,
        "labels": labels,
        "content_hash": "f" * 64,
        "n_items": 0,
        "selection": {},
        "source": "bundled",
    }
    return SuiteRecord(**{**values, **fields})


def manifest(run_id: str, suites: list[SuiteRecord], models: list[str], **fields: Any) -> Manifest:
    """A finished run's manifest (completed, no seal unless given)."""
    values: dict[str, Any] = {
        "run_id": run_id,
        "tool": TOOL,
        "spec": {"name": "synthetic", "suites": [{"id": s.id} for s in suites]},
        "spec_hash": "0" * 64,
        "spec_path": None,
        "suites": suites,
        "runtime": {"kind": "embedded", "url": None, "version": "0.3", "build": None},
        "models": [ModelRecord(name=m) if isinstance(m, str) else m for m in models],
        "strategy": "zero-shot",
        "generation": {"temperature": 0.0, "seed": 42},
        "seed": 42,
        "perturbations": [],
        "repetitions": 1,
        "concurrency": 1,
        "canonical": {},
        "overrides": {},
        "phases": ["predict"],
        "submitter": "tester",
        "device_tag": "test-box",
        "hostname": "test-host",
        "platform": {"system": "Linux", "machine": "x86_64", "python": "3.11.7"},
        "started_at": TS,
        "completed_at": "2025-03-01T10:10:00Z",
    }
    return Manifest(**{**values, **fields})


def hardware(**fields: Any) -> HardwareReport:
    values: dict[str, Any] = {
        "cpu": Cpu(
            model="AMD Ryzen 9 7950X",
            vendor="AuthenticAMD",
            cores=16,
            threads=32,
            arch="x86_64",
            features=["avx2", "avx512f", "fma"],
        ),
        "ram_bytes": round(62.7 * GIB),
        "gpus": [
            Gpu(
                name="NVIDIA GeForce RTX 4090",
                vendor="nvidia",
                vram_bytes=round(23.99 * GIB),
                driver="550.54",
                source="nvidia-smi",
            )
        ],
        "os": OperatingSystem(system="Linux", pretty="Ubuntu 24.04 LTS", version="24.04"),
        "kernel": Kernel(release="6.8.0", version="#1 SMP"),
        "python": "3.11.7",
        "power_source": None,
        "hardware_class": "discrete-gpu",
        "device_tag_suggestion": "rtx-4090-pc",
    }
    return HardwareReport(**{**values, **fields})


def emissions(**fields: Any) -> Emissions:
    values: dict[str, Any] = {
        "measured": False,
        "energy_kwh": 0.0123,
        "co2_g": 4.92,
        "tracking_mode": "estimate",
        "country_iso": "USA",
        "codecarbon_version": None,
        "duration_s": 750.0,
        "note": "estimated from TDP",
    }
    return Emissions(**{**values, **fields})
