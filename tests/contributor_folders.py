"""Synthetic contributor folders (`submissions/<handle>/<device-tag>/run-<uuid>/`), file for file
what `puma submission prepare` writes, for the catalogue's tests and benchmarks/catalogue.py.

Each folder is built with the run folder's own models and writers: a real hash-chained ledger
(puma.runfolder.ledger.LedgerWriter) sealed in manifest.json, a hardware-1.0 hardware.json, a
metadata.json from puma.evaluate.metadata and a run.md. Quality answers are drawn against
the gold of the bundled pm-triage suite; speeds follow the device's memory bandwidth and the
model's size, so they sit below the plausibility bound unless a test asks otherwise. Everything
comes from a seed: the same arguments give the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from puma.evaluate.metadata import aggregate_run
from puma.jsonio import write_json
from puma.runfolder.ledger import LedgerEvent, LedgerWriter
from puma.runfolder.manifest import Deviation, ModelRecord
from puma.runfolder.metadata import write_metadata
from puma.suites import load_bundled_suite
from puma.tasks import gold_text
from run_records import call_event, footer_event, manifest, meta_event, suite_record

QUALITY_SUITE = "pm-triage"
SPEED_PHASE = "speed"
SPEED_PROMPTS = ("P-EASY", "P-MEDIUM", "P-HARD")
LABELS = ("Critical", "Major", "Minor", "Trivial")


@dataclass(frozen=True)
class Device:
    tag: str
    hardware_class: Literal["discrete-gpu", "unified-memory", "cpu-only"]
    cpu: str
    gpus: tuple[tuple[str, int], ...]  # (name, VRAM bytes)
    ram_bytes: int
    bandwidth_gbs: float  # what the synthetic speeds are drawn against


@dataclass(frozen=True)
class Model:
    name: str
    size_bytes: int
    accuracy: float  # the chance of a right answer


GB = 10**9
DEVICES = (
    Device(
        "rtx-4090-pc",
        "discrete-gpu",
        "AMD Ryzen 9 7950X 16-Core Processor",
        (("NVIDIA GeForce RTX 4090", 24 * 2**30),),
        64 * 2**30,
        1008.0,
    ),
    Device(
        "rtx-3060-pc",
        "discrete-gpu",
        "Intel(R) Core(TM) i5-12400F",
        (("NVIDIA GeForce RTX 3060", 12 * 2**30),),
        32 * 2**30,
        360.0,
    ),
    Device(
        "mac-m2-pro-16gb",
        "unified-memory",
        "Apple M2 Pro",
        (("Apple M2 Pro", 0),),
        16 * 2**30,
        200.0,
    ),
    Device("mac-m1-8gb", "unified-memory", "Apple M1", (("Apple M1", 0),), 8 * 2**30, 68.25),
    Device(
        "ryzen-7950x-cpu", "cpu-only", "AMD Ryzen 9 7950X 16-Core Processor", (), 64 * 2**30, 83.2
    ),
    Device(
        "i7-8700-cpu", "cpu-only", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", (), 32 * 2**30, 41.6
    ),
)
MODELS = (
    Model("gemma3:270m", 253_000_000, 0.30),
    Model("llama3.2:3b", 2_019_000_000, 0.45),
    Model("qwen2.5:7b", 4_683_000_000, 0.55),
    Model("meta-llama/Llama-3.1-8B-Instruct", 4_920_000_000, 0.60),
)
RTX_4090, RTX_3060, M2_PRO, M1, RYZEN_CPU, I7_CPU = DEVICES
GEMMA, LLAMA_3B, QWEN_7B, LLAMA_8B = MODELS
HANDLES = tuple(
    f"{a}-{b}"
    for a in ("ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal")
    for b in ("lab", "home", "dev", "ai")
)


@dataclass(frozen=True)
class Folder:
    """What to write; every field a test does not care about has a plausible value."""

    handle: str
    device: Device
    model: Model
    seed: int
    items: int = 20
    speed_repetitions: int = 5
    warmups: int = 2
    speed_factor: float = 1.0  # x the plausible speed (above ~1.4 breaks the bandwidth bound)
    energy: bool = True
    sealed: bool = True
    deviations: tuple[dict[str, Any], ...] = ()
    run_md: str | None = None  # None: a generated run.md
    metadata: bool = True
    probed: bool = True
    run_id: str = field(default="")

    def resolved_run_id(self) -> str:
        return self.run_id or str(
            uuid.UUID(int=random.Random(self.seed).getrandbits(128), version=4)
        )


def folder(handle: str, seed: int, **fields: Any) -> Folder:
    """A Folder of qwen2.5:7b on an RTX 4090 unless told otherwise."""
    values: dict[str, Any] = {"device": RTX_4090, "model": QWEN_7B}
    return Folder(handle=handle, seed=seed, **{**values, **fields})


@lru_cache(maxsize=1)
def _triage_items() -> tuple[tuple[str, str], ...]:
    suite = load_bundled_suite(QUALITY_SUITE)
    return tuple((item["instance_id"], gold_text(suite, item)) for item in suite.items)


@lru_cache(maxsize=1)
def _triage_hash() -> str:
    return load_bundled_suite(QUALITY_SUITE).content_hash


def _vendor(gpu: str) -> str:
    """hardware-1.0's vendor names (puma.runfolder.hardware.Gpu.vendor)."""
    first = gpu.split()[0].lower()
    return first if first in ("nvidia", "amd", "apple", "intel") else "other"


def hardware_json(device: Device, *, probed: bool = True) -> dict[str, Any]:
    """hardware.json as the probe (hardware-1.0) writes it; `probed=False` leaves out what an
    older PUMA did not record (class and device tag)."""
    data: dict[str, Any] = {
        "schema_version": "hardware-1.0",
        "cpu": {"model": device.cpu, "cores": 8, "threads": 16, "arch": "x86_64", "features": []},
        "ram_bytes": device.ram_bytes,
        "gpus": [
            {
                "name": name,
                "vendor": _vendor(name),
                "vram_bytes": vram or None,
                "driver": "550.54",
            }
            for name, vram in device.gpus
        ],
        "os": {"system": "Linux", "pretty": "Ubuntu 24.04 LTS", "version": "24.04"},
        "kernel": {"release": "6.8.0-45-generic", "version": "#1 SMP PREEMPT_DYNAMIC"},
        "python": "3.11.7",
        "runtime_build": {},
        "power_source": "ac",
    }
    if probed:
        data["hardware_class"] = device.hardware_class
        data["device_tag_suggestion"] = device.tag
    return data


def write_folder(root: Path, spec: Folder) -> Path:
    """Write one contributor folder under `root` (the submissions folder); returns its path."""
    rng = random.Random(spec.seed)
    run_id = spec.resolved_run_id()
    folder = root / spec.handle / spec.device.tag / f"run-{run_id}"
    folder.mkdir(parents=True)
    writer = LedgerWriter.create(folder / "run.jsonl")
    items = _triage_items()[: spec.items]
    planned = len(items) + spec.speed_repetitions * len(SPEED_PROMPTS)
    events: list[LedgerEvent] = [writer.append(meta_event(run_id=run_id, planned_calls=planned))]
    # Decode speed: a share of the bandwidth bound, as real runtimes reach 50-80 % of it.
    bound = spec.device.bandwidth_gbs * GB / spec.model.size_bytes
    tps = bound * rng.uniform(0.5, 0.8) * spec.speed_factor
    for instance_id, gold in items:
        label = _answer(gold, spec.model.accuracy, rng)
        events.append(writer.append(_call(spec, instance_id, QUALITY_SUITE, label, tps, rng)))
    for i in range(spec.warmups):
        events.append(
            writer.append(
                _call(spec, SPEED_PROMPTS[0], SPEED_PHASE, None, tps * 0.3, rng, "warmup", i)
            )
        )
    for repetition in range(spec.speed_repetitions):
        for prompt in SPEED_PROMPTS:
            events.append(
                writer.append(
                    _call(spec, prompt, SPEED_PHASE, None, tps, rng, repetition=repetition)
                )
            )
    seal = None
    if spec.sealed:
        writer.append(
            footer_event(planned_calls=planned, calls_this_session=planned, attempts=planned)
        )
        seal = writer.seal()
    writer.close(sync=False)
    record = suite_record(
        QUALITY_SUITE, "triage", list(LABELS), content_hash=_triage_hash(), n_items=len(items)
    )
    document = manifest(
        run_id,
        [record],
        [ModelRecord(name=spec.model.name, digest="d" * 64, size_bytes=spec.model.size_bytes)],
        device_tag=spec.device.tag,
        submitter=spec.handle,
        hostname="redacted",
        phases=[QUALITY_SUITE, SPEED_PHASE],
        ledger_seal=seal,
        completed_at="2026-11-20T10:10:00Z" if spec.sealed else None,
        deviations=[Deviation(**d) for d in spec.deviations],
    )
    write_json(folder / "manifest.json", document.model_dump(mode="json"))
    write_json(folder / "hardware.json", hardware_json(spec.device, probed=spec.probed))
    if spec.metadata:
        write_metadata(aggregate_run(folder, device_tag=spec.device.tag), folder / "metadata.json")
    (folder / "run.md").write_text(
        spec.run_md if spec.run_md is not None else _run_md(spec, run_id, tps), encoding="utf-8"
    )
    return folder


def _answer(gold: str, accuracy: float, rng: random.Random) -> str | None:
    draw = rng.random()
    if draw < 0.05:
        return None  # unparsed: counted as wrong
    if draw < 0.05 + accuracy:
        return gold
    return rng.choice([label for label in LABELS if label != gold])


def _call(
    spec: Folder,
    instance_id: str,
    suite_id: str,
    label: str | None,
    tps: float,
    rng: random.Random,
    phase: str = "predict",
    repetition: int = 0,
) -> Any:
    completion = 1 if suite_id == QUALITY_SUITE else rng.choice((64, 128, 256))
    prompt_tokens = rng.randint(300, 700)
    generation = round(tps * rng.uniform(0.97, 1.03), 3)
    prompt_tps = round(generation * rng.uniform(8.0, 20.0), 3)
    ttft = round(prompt_tokens / prompt_tps * 1000.0, 3)
    total = round(ttft + (completion - 1) / generation * 1000.0, 3)
    timings: dict[str, Any] = {}
    if spec.energy:
        watts = 300.0 if spec.device.hardware_class == "discrete-gpu" else 40.0
        timings["energy_j"] = round(watts * total / 1000.0, 3)
    return call_event(
        instance_id,
        phase=phase,
        suite_id=suite_id,
        model=spec.model.name,
        repetition=repetition,
        prompt_hash=hashlib.sha256(f"{suite_id}|{instance_id}".encode()).hexdigest()[:16],
        output_text=None if label is None and suite_id == QUALITY_SUITE else f" {label or 'text'}",
        parse_status="unparsed" if label is None and suite_id == QUALITY_SUITE else "ok",
        parsed_label=label,
        predicted_value=None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        ttft_ms=ttft,
        total_ms=total,
        prompt_tps=prompt_tps,
        generation_tps=generation if completion > 1 else None,
        runtime_timings=timings,
    )


def _run_md(spec: Folder, run_id: str, tps: float) -> str:
    return (
        f"# Run {run_id}\n\n"
        f"**{spec.model.name}** on `{spec.device.tag}` ({spec.device.hardware_class}).\n\n"
        f"- generation: about {tps:.1f} tokens/s\n"
        f"- quality phase: {QUALITY_SUITE}, {spec.items} items\n\n"
        "Synthetic: made by tests/contributor_folders.py, not a real measurement.\n\n"
        f"    puma run specs/runs/contributor.yaml --phases {QUALITY_SUITE},{SPEED_PHASE}\n"
    )


def varied(
    count: int,
    seed: int = 0,
    *,
    handles: Sequence[str] = HANDLES,
    devices: Sequence[Device] = DEVICES,
    models: Sequence[Model] = MODELS,
) -> Iterator[Folder]:
    """`count` folder specs over the devices, models and contributors given (all by default),
    seeded: a prolific few contribute most runs, as in any crowd."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(len(handles))]
    for i in range(count):
        yield Folder(
            handle=rng.choices(handles, weights)[0],
            device=rng.choice(devices),
            model=rng.choice(models),
            seed=seed * 1_000_003 + i,
        )


DEMO_RUN = Path(__file__).parent / "fixtures" / "demo-run"


def add_demo_run(root: Path, handle: str = "demo-user") -> Path:
    """The real run folder tests/fixtures/demo-run laid out as a contributor folder (its manifest,
    hardware and ledger byte for byte, metadata.json recomputed, a short run.md)."""
    import json
    import shutil

    manifest_data = json.loads((DEMO_RUN / "manifest.json").read_text())
    tag = manifest_data["device_tag"]
    folder = root / handle / tag / f"run-{manifest_data['run_id']}"
    folder.mkdir(parents=True)
    for name in ("manifest.json", "hardware.json", "run.jsonl"):
        shutil.copyfile(DEMO_RUN / name, folder / name)
    write_metadata(aggregate_run(folder, device_tag=tag), folder / "metadata.json")
    (folder / "run.md").write_text(
        "# Demo run\n\nGemma 3 270M on a 2-core VM, 15 pm-triage items (tests/fixtures).\n",
        encoding="utf-8",
    )
    return folder
