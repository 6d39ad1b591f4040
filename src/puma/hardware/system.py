"""The operating system, its kernel and Python, from the platform module and /etc/os-release."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from puma.runfolder.hardware import Kernel, OperatingSystem, ProbeStatus


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines, values optionally quoted (the os-release(5) format)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return values


def probe_system(
    os_release: Path = Path("/etc/os-release"),
) -> tuple[OperatingSystem, Kernel, ProbeStatus]:
    system = platform.system() or sys.platform
    kernel = Kernel(release=platform.release(), version=platform.version())
    if system == "Darwin":
        version = platform.mac_ver()[0] or None
        pretty = f"macOS {version}" if version else "macOS"
        return (
            OperatingSystem(system=system, pretty=pretty, version=version),
            kernel,
            ProbeStatus(source="platform", status="read"),
        )
    if system == "Windows":
        release, version = platform.release(), platform.version()
        pretty = f"Windows {release}".strip()
        return (
            OperatingSystem(system=system, pretty=pretty, version=version),
            kernel,
            ProbeStatus(source="platform", status="read"),
        )
    fallback = OperatingSystem(system=system, pretty=f"{system} {platform.release()}".strip())
    try:
        values = parse_os_release(os_release.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return (
            fallback,
            kernel,
            ProbeStatus(
                source=str(os_release), status="absent", detail=exc.strerror or type(exc).__name__
            ),
        )
    pretty = values.get("PRETTY_NAME") or " ".join(
        v for v in (values.get("NAME"), values.get("VERSION")) if v
    )
    return (
        OperatingSystem(
            system=system, pretty=pretty or fallback.pretty, version=values.get("VERSION_ID")
        ),
        kernel,
        ProbeStatus(source=str(os_release), status="read"),
    )


def python_version() -> str:
    return platform.python_version()
