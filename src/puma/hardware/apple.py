"""A Mac, from `system_profiler SPHardwareDataType SPDisplaysDataType -json`: the chip, its
memory and the GPUs. Apple silicon's GPU is part of the chip and uses the machine's memory.
The serial number, hardware UUID and provisioning UDID in that output are never read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from puma.hardware.commands import ProbeParseError, parse_json_object, read_tool
from puma.runfolder.hardware import Gpu, GpuVendor, ProbeStatus

QUERY = ["system_profiler", "SPHardwareDataType", "SPDisplaysDataType", "-json"]
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]B)\s*$", re.IGNORECASE)
_UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
_VENDORS: dict[str, GpuVendor] = {"apple": "apple", "amd": "amd", "ati": "amd", "intel": "intel"}


@dataclass
class MacFacts:
    chip: str | None = None  # "Apple M3 Max"; an Intel Mac's "8-Core Intel Core i9"
    machine: str | None = None  # "MacBook Pro", "Mac mini"
    memory_bytes: int | None = None
    gpus: list[Gpu] = field(default_factory=list)


def parse_size(text: str) -> int | None:
    """ "8 GB", "1536 MB" -> bytes (binary units: that is what system_profiler means)."""
    match = _SIZE.match(text or "")
    return round(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else None


def parse_system_profiler(text: str) -> MacFacts:
    document = parse_json_object(text)
    overview: dict[str, Any] = next(iter(document.get("SPHardwareDataType") or []), {})
    displays: list[dict[str, Any]] = list(document.get("SPDisplaysDataType") or [])
    if not overview and not displays:
        raise ProbeParseError("neither SPHardwareDataType nor SPDisplaysDataType")
    facts = MacFacts(
        chip=overview.get("chip_type") or overview.get("cpu_type"),
        machine=overview.get("machine_name"),
        memory_bytes=parse_size(str(overview.get("physical_memory", ""))),
    )
    for display in displays:
        name = str(display.get("sppci_model") or display.get("_name") or "unknown GPU")
        vendor_text = str(display.get("spdisplays_vendor", "")).lower()
        vendor: GpuVendor = next((v for k, v in _VENDORS.items() if k in vendor_text), "other")
        if vendor == "other" and name.startswith("Apple"):
            vendor = "apple"
        builtin = display.get("sppci_bus") == "spdisplays_builtin" or vendor == "apple"
        vram = display.get("spdisplays_vram") or display.get("_spdisplays_vram")
        facts.gpus.append(
            Gpu(
                name=name,
                vendor=vendor,
                # Built-in graphics' "VRAM" is a share of the machine's memory, not its own.
                vram_bytes=None if builtin else parse_size(str(vram or "")),
                driver=None,
                integrated=builtin,
                source="system_profiler",
            )
        )
    return facts


def probe_mac() -> tuple[MacFacts, ProbeStatus]:
    # It walks the PCI tree and takes seconds: a longer timeout than the others.
    return read_tool("system_profiler", QUERY, parse_system_profiler, MacFacts(), timeout=20.0)
