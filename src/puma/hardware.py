"""The hardware probe: what machine a run ran on, written to `hardware.json` (hardware-1.0).

Reads /proc, platform, psutil and, when present, nvidia-smi. Nothing here identifies a person:
the hostname is kept out (the manifest records a short one, scrubbed before sharing). The
file's model is puma.runfolder.hardware.Hardware.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from puma.runfolder.hardware import Cpu, Gpu, Hardware, OperatingSystem


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if sys.platform == "darwin":
        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _gpus() -> list[Gpu]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, memory, driver = (part.strip() for part in line.split(","))
        gpus.append(Gpu(name=name, vram_gb=round(float(memory) / 1024, 1), driver=driver))
    return gpus


def _os_pretty() -> str:
    release = Path("/etc/os-release")
    if release.is_file():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return f"{platform.system()} {platform.release()}"


def _power_source() -> str | None:
    try:
        battery = psutil.sensors_battery()
    except (AttributeError, NotImplementedError, OSError):
        return None
    if battery is None:
        return None
    return "ac" if battery.power_plugged else "battery"


def probe_hardware(runtime_build: dict[str, Any] | None = None) -> Hardware:
    return Hardware(
        cpu=Cpu(
            model=_cpu_model(),
            cores=psutil.cpu_count(logical=False) or psutil.cpu_count() or 1,
            threads=psutil.cpu_count() or 1,
            arch=platform.machine(),
        ),
        ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
        gpus=_gpus(),
        os=OperatingSystem(
            system=platform.system(),
            release=platform.release(),
            version=platform.version(),
            pretty=_os_pretty(),
        ),
        python=platform.python_version(),
        runtime_build=runtime_build or {},
        power_source=_power_source(),
    )


def auto_device_tag(hardware: Hardware) -> str:
    """A device tag `<chip-or-platform>-<key-spec>` from the probe, e.g. `rtx-4090-32gb`."""
    chip = hardware.gpus[0].name if hardware.gpus else hardware.cpu.model
    words = re.sub(
        r"\(.*?\)|@.*|cpu|processor|nvidia|geforce|intel|amd|core|®|™", " ", chip.lower()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:40].strip("-") or hardware.cpu.arch
    return f"{slug}-{round(hardware.ram_gb)}gb"
