"""The probe: every source read once, put together into a HardwareReport.

A source that is missing, slow or prints something odd becomes a ProbeStatus in the report,
never an exception: a run must start on any machine, and the report says what it could not
read instead of leaving a silent gap.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import psutil

from puma.hardware.apple import MacFacts, probe_mac
from puma.hardware.commands import run_tool
from puma.hardware.cpu import parse_sysctl_memsize, probe_cpu
from puma.hardware.device_tag import suggest_device_tag
from puma.hardware.memory import probe_memory
from puma.hardware.nvidia import probe_nvidia
from puma.hardware.rocm import probe_rocm
from puma.hardware.runtime import probe_runtime
from puma.hardware.sysfs import drm_gpus, power_source
from puma.hardware.system import probe_system, python_version
from puma.runfolder.hardware import (
    Cpu,
    Gpu,
    HardwareReport,
    Kernel,
    OperatingSystem,
    ProbeStatus,
    RuntimeBuild,
    classify,
)

T = TypeVar("T")
PowerSource = Literal["ac", "battery"] | None
CpuResult = tuple[Cpu, str | None, list[ProbeStatus]]


def _guarded(source: str, read: Callable[[], T], fallback: T, statuses: list[ProbeStatus]) -> T:
    """`read()`, or `fallback` with a `failed` status when it raises anything: the parsers
    refuse what they do not know, and a tool's output can be anything."""
    try:
        return read()
    except Exception as exc:  # the probe never stops a run
        statuses.append(
            ProbeStatus(source=source, status="failed", detail=f"{type(exc).__name__}: {exc}"[:200])
        )
        return fallback


def _noted(statuses: list[ProbeStatus], result: tuple[T, ProbeStatus]) -> T:
    """The value of a (value, status) pair, its status noted."""
    statuses.append(result[1])
    return result[0]


def probe(runtime_build: dict[str, Any] | None = None) -> HardwareReport:
    """Probe this machine. `runtime_build` is what the run's runtime reported about its own
    build (kept in runtime_build.runtime)."""
    statuses: list[ProbeStatus] = []
    sysctl_text = _sysctl(statuses) if sys.platform == "darwin" else None

    no_cpu: CpuResult = (Cpu(model="unknown", arch="unknown"), None, [])
    cpu, board, cpu_statuses = _guarded(
        "cpu", lambda: probe_cpu(sysctl_text=sysctl_text), no_cpu, statuses
    )
    statuses.extend(cpu_statuses)

    no_memory: int | None = None
    ram_bytes = _guarded("memory", lambda: _noted(statuses, probe_memory()), no_memory, statuses)
    if ram_bytes is None and sysctl_text is not None:
        ram_bytes = parse_sysctl_memsize(sysctl_text)

    gpus = _gpus(statuses)
    if sys.platform == "darwin":
        mac = _guarded(
            "system_profiler", lambda: _noted(statuses, probe_mac()), MacFacts(), statuses
        )
        gpus.extend(mac.gpus)
        ram_bytes = ram_bytes or mac.memory_bytes
    else:
        statuses.append(ProbeStatus(source="system_profiler", status="skipped", detail="not macOS"))

    no_os: tuple[OperatingSystem, Kernel | None] = (
        OperatingSystem(system=sys.platform, pretty=sys.platform),
        None,
    )
    os_info, kernel = _guarded("os", lambda: _noted(statuses, _system()), no_os, statuses)
    no_power: PowerSource = None
    power = _guarded("power", lambda: _power(statuses), no_power, statuses)
    build = _guarded(
        "llama-cpp-python",
        lambda: _noted(statuses, probe_runtime(runtime_build)),
        RuntimeBuild(runtime=runtime_build or {}),
        statuses,
    )
    # A board (a Raspberry Pi) names a machine without a GPU better than its cores do.
    chip_name = board if board and not gpus else cpu.model
    return HardwareReport(
        cpu=cpu,
        ram_bytes=ram_bytes,
        gpus=gpus,
        os=os_info,
        kernel=kernel,
        python=python_version(),
        runtime_build=build,
        power_source=power,
        hardware_class=classify(gpus),
        device_tag_suggestion=suggest_device_tag(
            chip_name, gpus, ram_bytes, system=os_info.system, power_source=power
        ),
        probes=statuses,
    )


def _system() -> tuple[tuple[OperatingSystem, Kernel | None], ProbeStatus]:
    os_info, kernel, status = probe_system()
    return (os_info, kernel), status


def _sysctl(statuses: list[ProbeStatus]) -> str | None:
    out = run_tool("sysctl", ["sysctl", "-a"])
    statuses.append(out.status)
    return out.stdout


def _gpus(statuses: list[ProbeStatus]) -> list[Gpu]:
    """The vendors' tools name their cards; /sys adds what no tool named (an Intel iGPU, an AMD
    card without ROCm installed)."""
    none: list[Gpu] = []
    gpus = [
        *_guarded("nvidia-smi", lambda: _noted(statuses, probe_nvidia()), none, statuses),
        *_guarded("rocm-smi", lambda: _noted(statuses, probe_rocm()), none, statuses),
    ]
    if sys.platform.startswith("linux"):
        named = {g.vendor for g in gpus}
        found = _guarded("sysfs-drm", lambda: _noted(statuses, drm_gpus()), none, statuses)
        gpus.extend(g for g in found if g.vendor not in named)
    return gpus


def _power(statuses: list[ProbeStatus]) -> PowerSource:
    if sys.platform.startswith("linux"):
        return _noted(statuses, power_source())
    try:
        battery = psutil.sensors_battery()
    except (AttributeError, NotImplementedError, OSError) as exc:
        statuses.append(
            ProbeStatus(source="psutil-battery", status="failed", detail=str(exc)[:200])
        )
        return None
    if battery is None:
        statuses.append(
            ProbeStatus(source="psutil-battery", status="absent", detail="no battery reported")
        )
        return None
    statuses.append(ProbeStatus(source="psutil-battery", status="read"))
    return "ac" if battery.power_plugged else "battery"
