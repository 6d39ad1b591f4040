"""Linux's /sys: the GPUs the kernel drives (/sys/class/drm/card*/device) when no vendor tool
named them, and the power source (/sys/class/power_supply). The root is a parameter so tests
read a tree of real files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from puma.runfolder.hardware import GIB, Gpu, GpuVendor, ProbeStatus

SYS = Path("/sys")
PCI_VENDORS: dict[str, tuple[GpuVendor, str]] = {
    "0x10de": ("nvidia", "NVIDIA"),
    "0x1002": ("amd", "AMD"),
    "0x8086": ("intel", "Intel"),
    "0x106b": ("apple", "Apple"),
}
# amdgpu reports carved-out system memory as VRAM on an APU; a card with less than this is
# taken for integrated graphics (the smallest discrete Radeon of recent years has 4 GiB).
DISCRETE_VRAM_MIN = 4 * GIB
_CARD = re.compile(r"^card\d+$")
_MAINS_TYPES = {"Mains", "USB", "USB_C", "USB_PD", "USB_PD_DRP", "Wireless"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def drm_gpus(root: Path = SYS) -> tuple[list[Gpu], ProbeStatus]:
    """Display-class devices the kernel has a DRM driver for, named by PCI vendor and device id
    (sysfs holds no marketing name)."""
    drm = root / "class" / "drm"
    source = "sysfs-drm"
    if not drm.is_dir():
        return [], ProbeStatus(source=source, status="absent", detail=f"no {drm}")
    gpus = []
    seen: set[str] = set()
    for card in sorted(drm.iterdir(), key=lambda p: p.name):
        if not _CARD.match(card.name):
            continue  # card0-HDMI-A-1 and the like are connectors of a card
        device = card / "device"
        vendor_id = (_read(device / "vendor") or "").lower()
        device_id = (_read(device / "device") or "").lower()
        try:
            address = str(device.resolve())
        except OSError:
            address = str(device)
        if not vendor_id or address in seen:
            continue
        seen.add(address)
        vendor, label = PCI_VENDORS.get(vendor_id, ("other", f"PCI {vendor_id}"))
        vram_text = _read(device / "mem_info_vram_total")
        vram = int(vram_text) if vram_text and vram_text.isdigit() else None
        driver_link = device / "driver"
        driver = driver_link.resolve().name if driver_link.exists() else None
        integrated = vendor == "intel" or (vendor == "amd" and (vram or 0) < DISCRETE_VRAM_MIN)
        gpus.append(
            Gpu(
                name=f"{label} GPU {vendor_id.removeprefix('0x')}:{device_id.removeprefix('0x')}",
                vendor=vendor,
                vram_bytes=None if integrated else vram,
                driver=driver,
                integrated=integrated,
                source="sysfs",
            )
        )
    return gpus, ProbeStatus(source=source, status="read", detail=f"{len(gpus)} card(s)")


def power_source(root: Path = SYS) -> tuple[Literal["ac", "battery"] | None, ProbeStatus]:
    """`ac` or `battery` on a machine with a battery; None (unknown) on one without, where the
    question does not arise."""
    supplies = root / "class" / "power_supply"
    source = "sysfs-power"
    if not supplies.is_dir():
        return None, ProbeStatus(source=source, status="absent", detail=f"no {supplies}")
    batteries: list[str] = []
    mains_online: list[bool] = []
    for supply in sorted(supplies.iterdir()):
        kind = _read(supply / "type")
        if kind == "Battery" and _read(supply / "scope") != "Device":  # not a mouse's battery
            batteries.append(_read(supply / "status") or "Unknown")
        elif kind in _MAINS_TYPES:
            online = _read(supply / "online")
            if online in ("0", "1"):
                mains_online.append(online == "1")
    if not batteries:
        return None, ProbeStatus(
            source=source, status="absent", detail="no battery: mains powered, not reported"
        )
    if mains_online:
        on_mains = any(mains_online)
    else:
        on_mains = not any(status == "Discharging" for status in batteries)
    return ("ac" if on_mains else "battery"), ProbeStatus(source=source, status="read")
