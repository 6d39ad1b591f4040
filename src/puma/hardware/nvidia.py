"""NVIDIA GPUs from `nvidia-smi --query-gpu=name,memory.total,driver_version
--format=csv,noheader,nounits` (memory in MiB). Serial numbers and UUIDs are never asked for."""

from __future__ import annotations

import csv
import io

from puma.hardware.commands import ProbeParseError, read_tool
from puma.runfolder.hardware import Gpu, ProbeStatus

QUERY = [
    "nvidia-smi",
    "--query-gpu=name,memory.total,driver_version",
    "--format=csv,noheader,nounits",
]
MIB = 2**20


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """One GPU a line. `[N/A]` memory (a unified-memory board like GH200's) is unknown memory;
    a line that is not three fields (the driver's "NVIDIA-SMI has failed ..." text) is refused."""
    gpus = []
    for row in csv.reader(io.StringIO(text), skipinitialspace=True):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 3:
            raise ProbeParseError(f"expected name, memory, driver; got {', '.join(row)[:120]!r}")
        name, memory, driver = (field.strip() for field in row)
        if not name:
            raise ProbeParseError("a GPU without a name")
        try:
            vram = round(float(memory) * MIB)
        except ValueError:
            vram = None  # "[N/A]", "[Not Supported]"
        gpus.append(
            Gpu(
                name=name,
                vendor="nvidia",
                vram_bytes=vram,
                driver=None if driver.startswith("[") else driver,
                source="nvidia-smi",
            )
        )
    if not gpus:
        raise ProbeParseError("no GPU lines")
    return gpus


def probe_nvidia() -> tuple[list[Gpu], ProbeStatus]:
    return read_tool("nvidia-smi", QUERY, parse_nvidia_smi, [])
