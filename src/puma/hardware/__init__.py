"""The hardware probe: what machine a run ran on (`hardware.json`, hardware-1.0, modelled by
puma.runfolder.hardware.HardwareReport), and the device tag it suggests.

One module per source: cpu (/proc/cpuinfo, lscpu, sysctl), memory, nvidia (nvidia-smi), rocm
(rocm-smi), apple (system_profiler), sysfs (DRM cards, power supply), system (OS, kernel,
Python), runtime (the llama.cpp build). Nothing here identifies a person: no hostname, user,
serial number or UUID is read.
"""

from __future__ import annotations

from typing import Any

from puma.hardware.device_tag import clean_chip_name, suggest_device_tag
from puma.hardware.probe import probe
from puma.runfolder.hardware import HardwareReport


def probe_hardware(runtime_build: dict[str, Any] | None = None) -> HardwareReport:
    """The runner's name for probe()."""
    return probe(runtime_build)


def auto_device_tag(hardware: HardwareReport) -> str:
    """The device tag a run records when its spec says `device_tag: auto`."""
    return hardware.device_tag_suggestion


__all__ = [
    "HardwareReport",
    "auto_device_tag",
    "clean_chip_name",
    "probe",
    "probe_hardware",
    "suggest_device_tag",
]
