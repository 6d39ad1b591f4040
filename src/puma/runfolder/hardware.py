"""`hardware.json` (hardware-1.0): the machine a run ran on, probed by puma.hardware at run
start; read by the submission builder (hardware profile), the contributor folder and the
catalogue. `puma hardware --json` prints the same model.

Files written before the probe grew (CPU `arch` but no features, `ram_gb`, GPUs in GB, an `os`
with the kernel inside it, the runtime's build as a bare dict) still read: the before-validator
migrates them, and says in `probes` which facts an earlier PUMA did not record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from puma.jsonio import read_model, write_json
from puma.runfolder.folder import RunFolder

HARDWARE_SCHEMA: Literal["hardware-1.0"] = "hardware-1.0"
GIB = 2**30

# Every field is written, so the published schema requires them all (defaults only help readers).
_WRITTEN = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

HardwareClass = Literal["discrete-gpu", "unified-memory", "cpu-only"]
GpuVendor = Literal["nvidia", "amd", "apple", "intel", "other"]
ProbeOutcome = Literal["read", "absent", "failed", "skipped"]


class Cpu(BaseModel):
    model_config = _WRITTEN
    model: str
    vendor: str | None = None  # "GenuineIntel", "AuthenticAMD", "Apple", "ARM", ...
    arch: str  # platform.machine(): x86_64, arm64, aarch64, AMD64
    cores: int | None = None  # physical cores
    threads: int | None = None  # logical CPUs
    # Instruction-set extensions that change llama.cpp's speed, in our spelling (avx2, avx512f,
    # avx512_vnni, amx_int8, neon, dotprod, i8mm, sve, ...), sorted.
    features: list[str] = Field(default_factory=list)


class Gpu(BaseModel):
    model_config = _WRITTEN
    name: str
    vendor: GpuVendor = "other"
    vram_bytes: int | None = None  # dedicated memory; None when the tool does not say
    driver: str | None = None
    # Shares system memory with the CPU (Apple silicon, integrated graphics): its "VRAM" is RAM.
    integrated: bool = False
    source: str = "unknown"  # the probe that found it: nvidia-smi, rocm-smi, system_profiler, sysfs

    @property
    def vram_gb(self) -> float | None:
        return None if self.vram_bytes is None else self.vram_bytes / GIB


class OperatingSystem(BaseModel):
    model_config = _WRITTEN
    system: str  # platform.system(): Linux, Darwin, Windows
    pretty: str  # "Ubuntu 24.04.1 LTS", "macOS 14.5", "Windows 11"
    version: str | None = None  # the distribution's or product's version ("24.04", "14.5")


class Kernel(BaseModel):
    model_config = _WRITTEN
    release: str  # platform.release(): "6.8.0-45-generic", "23.5.0"
    version: str  # platform.version(): "#1 SMP PREEMPT_DYNAMIC ..."


class RuntimeBuild(BaseModel):
    """The llama.cpp build installed here (llama-cpp-python), and what the run's runtime said
    about its own build (Ollama's loaded models, a server's version), as it said it."""

    model_config = _WRITTEN
    llama_cpp_python: str | None = None
    system_info: str | None = None  # llama_cpp.llama_print_system_info(), verbatim
    features: list[str] = Field(default_factory=list)  # enabled in that build: avx2, cuda, metal
    gpu_offload: bool | None = None  # llama_cpp.llama_supports_gpu_offload()
    runtime: dict[str, Any] = Field(default_factory=dict)


class ProbeStatus(BaseModel):
    """What one source of the probe gave: `read`, `absent` (the tool or file is not on this
    machine), `failed` (present, but it errored, timed out or printed what we cannot parse) or
    `skipped` (not for this OS). Every unknown field is explained by one of these."""

    model_config = _WRITTEN
    source: str
    status: ProbeOutcome
    detail: str = ""


class HardwareReport(BaseModel):
    model_config = _WRITTEN
    schema_version: Literal["hardware-1.0"] = HARDWARE_SCHEMA
    cpu: Cpu
    ram_bytes: int | None
    gpus: list[Gpu] = Field(default_factory=list)
    os: OperatingSystem
    kernel: Kernel | None
    python: str
    runtime_build: RuntimeBuild = Field(default_factory=RuntimeBuild)
    power_source: Literal["ac", "battery"] | None = None  # None: not known (most desktops)
    hardware_class: HardwareClass
    device_tag_suggestion: str
    probes: list[ProbeStatus] = Field(default_factory=list)

    @property
    def ram_gb(self) -> float | None:
        return None if self.ram_bytes is None else self.ram_bytes / GIB

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ram_gb" in data and "ram_bytes" not in data:
            try:
                return migrate_first_layout(data)
            except (TypeError, AttributeError, ValueError) as exc:
                # Pydantic reports a ValueError as a validation error of the file
                summary = " ".join(str(exc).split())[:200]
                raise ValueError(
                    f"an earlier hardware.json that cannot be read: {summary}"
                ) from None
        return data

    def save(self, folder: RunFolder) -> None:
        self.write(folder.hardware)

    @classmethod
    def load(cls, folder: RunFolder) -> HardwareReport:
        return cls.read(folder.hardware)

    def write(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"))

    @classmethod
    def read(cls, path: Path) -> HardwareReport:
        return read_model(path, cls, "hardware.json")


def export_json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of hardware-1.0 as written today, published as
    `schemas/hardware-1.0.schema.json` (earlier layouts are migrated on read, not described)."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema["$id"] = "hardware-1.0.schema.json"
    schema.update(HardwareReport.model_json_schema(mode="serialization"))
    return schema


def classify(gpus: list[Gpu]) -> HardwareClass:
    """Where the model's weights live: on a discrete GPU's own memory, in memory the CPU and GPU
    share (Apple silicon), or on the CPU. An integrated Intel or AMD GPU leaves a machine
    `cpu-only`: llama.cpp runs there on the CPU unless told otherwise."""
    if any(not g.integrated for g in gpus):
        return "discrete-gpu"
    if any(g.vendor == "apple" for g in gpus):
        return "unified-memory"
    return "cpu-only"


def migrate_first_layout(data: dict[str, Any]) -> dict[str, Any]:
    """An earlier hardware-1.0 file (PUMA before the probe package) in today's layout."""
    # On use: the device tag and the build parser belong to the probe, which imports this module.
    from puma.hardware.device_tag import suggest_device_tag
    from puma.hardware.runtime import parse_system_info

    old_cpu = dict(data.get("cpu") or {})
    old_os = dict(data.get("os") or {})
    old_build = dict(data.get("runtime_build") or {})
    system_info = old_build.get("system_info")
    gpus = [
        Gpu(
            name=g.get("name", "unknown"),
            vendor=_vendor_of_name(str(g.get("name", ""))),
            vram_bytes=None if g.get("vram_gb") is None else round(float(g["vram_gb"]) * GIB),
            driver=g.get("driver"),
            source="nvidia-smi",  # the only GPU source earlier PUMA read
        )
        for g in data.get("gpus") or []
    ]
    cpu = Cpu(
        model=old_cpu.get("model", "unknown"),
        arch=old_cpu.get("arch", "unknown"),
        cores=old_cpu.get("cores"),
        threads=old_cpu.get("threads"),
    )
    ram_bytes = None if data.get("ram_gb") is None else round(float(data["ram_gb"]) * GIB)
    system = str(old_os.get("system", "unknown"))
    if system == "Darwin" and cpu.arch == "arm64" and not gpus:
        gpus = [Gpu(name=cpu.model, vendor="apple", integrated=True, source="sysctl")]
    hardware_class = classify(gpus)
    return {
        "schema_version": HARDWARE_SCHEMA,
        "cpu": cpu.model_dump(),
        "ram_bytes": ram_bytes,
        "gpus": [g.model_dump() for g in gpus],
        "os": {"system": system, "pretty": str(old_os.get("pretty") or system), "version": None},
        "kernel": {
            "release": str(old_os.get("release", "")),
            "version": str(old_os.get("version", "")),
        },
        "python": data.get("python", "unknown"),
        "runtime_build": {
            "llama_cpp_python": old_build.get("llama_cpp_python"),
            "system_info": system_info,
            "features": parse_system_info(system_info) if isinstance(system_info, str) else [],
            "gpu_offload": None,
            "runtime": old_build,
        },
        "power_source": data.get("power_source"),
        "hardware_class": hardware_class,
        "device_tag_suggestion": suggest_device_tag(
            cpu.model, gpus, ram_bytes, system=system, power_source=data.get("power_source")
        ),
        "probes": [
            {
                "source": "earlier-puma",
                "status": "absent",
                "detail": "written by an earlier PUMA, which did not record CPU features, GPU "
                "vendors, the OS version or which sources it could read",
            }
        ],
    }


def _vendor_of_name(name: str) -> GpuVendor:
    lowered = name.lower()
    for needle, vendor in (
        ("nvidia", "nvidia"),
        ("geforce", "nvidia"),
        ("quadro", "nvidia"),
        ("tesla", "nvidia"),
        ("radeon", "amd"),
        ("instinct", "amd"),
        ("amd", "amd"),
        ("apple", "apple"),
        ("intel", "intel"),
    ):
        if needle in lowered:
            return vendor  # type: ignore[return-value]
    return "other"
