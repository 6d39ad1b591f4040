"""Installed memory, in bytes: psutil, else /proc/meminfo's MemTotal."""

from __future__ import annotations

from pathlib import Path

import psutil

from puma.hardware.commands import ProbeParseError
from puma.runfolder.hardware import ProbeStatus


def parse_meminfo(text: str) -> int:
    """MemTotal of /proc/meminfo, which the kernel writes in KiB ("MemTotal: 16318480 kB")."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "MemTotal":
            number, _, unit = value.strip().partition(" ")
            if number.isdigit() and unit.strip().lower() in ("kb", ""):
                return int(number) * (1024 if unit.strip() else 1)
    raise ProbeParseError("no MemTotal line")


def probe_memory(meminfo: Path = Path("/proc/meminfo")) -> tuple[int | None, ProbeStatus]:
    try:
        total = int(psutil.virtual_memory().total)
        return total, ProbeStatus(source="psutil-memory", status="read")
    except (OSError, RuntimeError, AttributeError) as exc:
        problem = f"psutil: {exc}"[:200]
    try:
        return parse_meminfo(meminfo.read_text(encoding="utf-8", errors="replace")), ProbeStatus(
            source=str(meminfo), status="read", detail=problem
        )
    except (OSError, ProbeParseError) as exc:
        return None, ProbeStatus(source="memory", status="failed", detail=f"{problem}; {exc}"[:200])
