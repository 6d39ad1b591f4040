"""The CPU: model, vendor, cores and threads, and the instruction-set features llama.cpp uses.

Linux: /proc/cpuinfo, then `lscpu` for what it lacks (an Arm model name); macOS: `sysctl -a`;
elsewhere Python's platform module. Counts come from psutil, which reads what the OS schedules on.
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from puma.hardware.commands import ProbeParseError, read_tool
from puma.runfolder.hardware import Cpu, ProbeStatus

# The kernel's x86 flag names (and lscpu's, the same) that change how fast llama.cpp runs, in
# the spelling hardware.json uses.
X86_FEATURES = {
    "pni": "sse3",
    "ssse3": "ssse3",
    "sse4_1": "sse4_1",
    "sse4_2": "sse4_2",
    "avx": "avx",
    "avx2": "avx2",
    "fma": "fma",
    "f16c": "f16c",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512dq": "avx512dq",
    "avx512vl": "avx512vl",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "avx512_fp16": "avx512_fp16",
    "avx512vbmi": "avx512_vbmi",
    "avx_vnni": "avx_vnni",
    "amx_tile": "amx_tile",
    "amx_int8": "amx_int8",
    "amx_bf16": "amx_bf16",
    "amx_fp16": "amx_fp16",
}
# The kernel's Arm hwcaps ("Features" in /proc/cpuinfo).
ARM_FEATURES = {
    "asimd": "neon",
    "asimdhp": "fp16",
    "asimddp": "dotprod",
    "i8mm": "i8mm",
    "bf16": "bf16",
    "sve": "sve",
    "sve2": "sve2",
    "sme": "sme",
}
# macOS sysctl hw.optional.* names (Apple silicon and Intel Macs).
MAC_FEATURES = {
    "hw.optional.neon": "neon",
    "hw.optional.AdvSIMD": "neon",
    "hw.optional.arm.FEAT_FP16": "fp16",
    "hw.optional.arm.FEAT_DotProd": "dotprod",
    "hw.optional.arm.FEAT_I8MM": "i8mm",
    "hw.optional.arm.FEAT_BF16": "bf16",
    "hw.optional.arm.FEAT_SME": "sme",
    "hw.optional.arm.FEAT_SME2": "sme2",
    "hw.optional.sse3": "sse3",
    "hw.optional.supplementalsse3": "ssse3",
    "hw.optional.sse4_1": "sse4_1",
    "hw.optional.sse4_2": "sse4_2",
    "hw.optional.avx1_0": "avx",
    "hw.optional.avx2_0": "avx2",
    "hw.optional.fma": "fma",
    "hw.optional.f16c": "f16c",
    "hw.optional.avx512f": "avx512f",
    "hw.optional.avx512bw": "avx512bw",
    "hw.optional.avx512dq": "avx512dq",
    "hw.optional.avx512vl": "avx512vl",
    "hw.optional.avx512vnni": "avx512_vnni",
}
# Arm's CPU part numbers (implementer 0x41) for /proc/cpuinfo files that name no model.
ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd0d": "Cortex-A77",
    "0xd40": "Neoverse-V1",
    "0xd41": "Cortex-A78",
    "0xd44": "Cortex-X1",
    "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
    "0xd80": "Cortex-A520",
    "0xd81": "Cortex-A720",
}
ARM_IMPLEMENTERS = {"0x41": "ARM", "0x61": "Apple", "0x51": "Qualcomm", "0xc0": "Ampere"}


@dataclass
class CpuFacts:
    model: str | None = None
    vendor: str | None = None
    cores: int | None = None
    threads: int | None = None
    features: set[str] = field(default_factory=set)
    board: str | None = None  # "Raspberry Pi 5 Model B Rev 1.0": names the machine better

    def fill_from(self, other: CpuFacts) -> None:
        """Take what this one lacks from `other`."""
        self.model = self.model or other.model
        self.vendor = self.vendor or other.vendor
        self.cores = self.cores or other.cores
        self.threads = self.threads or other.threads
        self.features |= other.features
        self.board = self.board or other.board


def _pairs(text: str, separator: str = ":") -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(separator)
        if sep:
            pairs.append((key.strip(), value.strip()))
    return pairs


def _features(words: str, table: dict[str, str]) -> set[str]:
    return {table[w] for w in words.split() if w in table}


def parse_cpuinfo(text: str) -> CpuFacts:
    """/proc/cpuinfo on x86 (model name, vendor_id, flags) or Arm (CPU implementer and part,
    Features; a Raspberry Pi's Model line)."""
    facts = CpuFacts()
    threads = 0
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    implementer = part = None
    for key, value in _pairs(text):
        lowered = key.lower()
        if lowered == "processor" and value.isdigit():
            threads += 1
        elif lowered == "model name" and not facts.model:
            facts.model = value
        elif lowered == "vendor_id" and not facts.vendor:
            facts.vendor = value
        elif lowered == "flags" and not facts.features:
            facts.features = _features(value, X86_FEATURES)
        elif lowered == "features" and not facts.features:
            facts.features = _features(value, ARM_FEATURES)
        elif lowered == "cpu implementer" and implementer is None:
            implementer = value.lower()
        elif lowered == "cpu part" and part is None:
            part = value.lower()
        elif lowered == "physical id":
            physical = value
        elif lowered == "core id":
            core = value
            cores.add((physical, core))
        elif lowered == "model" and not value.isdigit():
            facts.board = value  # x86's "model" is a number; a Pi's is the board
    if threads == 0 and not facts.model and implementer is None:
        raise ProbeParseError("no processor entries")
    facts.threads = threads or None
    facts.cores = len(cores) or None
    if implementer is not None:
        facts.vendor = facts.vendor or ARM_IMPLEMENTERS.get(implementer, implementer)
        if not facts.model and implementer == "0x41" and part in ARM_PARTS:
            facts.model = ARM_PARTS[part]
    return facts


def parse_lscpu(text: str) -> CpuFacts:
    """`lscpu` in the C locale: Model name, Vendor ID, CPU(s), Core(s) per socket, Socket(s),
    Flags. An Arm system names each cluster; the first one names the CPU."""
    values: dict[str, str] = {}
    for key, value in _pairs(text):
        values.setdefault(key, value)
    if "CPU(s)" not in values and "Model name" not in values:
        raise ProbeParseError("no 'CPU(s)' or 'Model name' line")
    facts = CpuFacts(model=values.get("Model name") or None, vendor=values.get("Vendor ID"))
    facts.threads = _int(values.get("CPU(s)"))
    per_socket = _int(values.get("Core(s) per socket")) or _int(values.get("Core(s) per cluster"))
    sockets = _int(values.get("Socket(s)")) or _int(values.get("Cluster(s)")) or 1
    facts.cores = per_socket * sockets if per_socket else None
    flags = values.get("Flags", "")
    facts.features = _features(flags, X86_FEATURES) | _features(flags, ARM_FEATURES)
    return facts


def parse_sysctl(text: str) -> CpuFacts:
    """`sysctl -a` on macOS: machdep.cpu.brand_string, hw.physicalcpu, hw.logicalcpu and the
    hw.optional.* feature switches (1 on, 0 off)."""
    values = dict(_pairs(text))
    if "machdep.cpu.brand_string" not in values and "hw.logicalcpu" not in values:
        raise ProbeParseError("no machdep.cpu.brand_string or hw.logicalcpu")
    vendor = values.get("machdep.cpu.vendor") or (
        "Apple" if values.get("machdep.cpu.brand_string", "").startswith("Apple") else None
    )
    return CpuFacts(
        model=values.get("machdep.cpu.brand_string") or None,
        vendor=vendor,
        cores=_int(values.get("hw.physicalcpu")),
        threads=_int(values.get("hw.logicalcpu")),
        features={name for key, name in MAC_FEATURES.items() if values.get(key) == "1"},
    )


def parse_sysctl_memsize(text: str) -> int | None:
    return _int(dict(_pairs(text)).get("hw.memsize"))


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.match(r"\s*(\d+)", value)
    return int(match.group(1)) if match else None


def probe_cpu(
    cpuinfo: Path = Path("/proc/cpuinfo"), sysctl_text: str | None = None
) -> tuple[Cpu, str | None, list[ProbeStatus]]:
    """The CPU, a board name when the machine has one, and what each source gave. `sysctl_text`
    is macOS's `sysctl -a`, read once by the caller (it also holds the memory size)."""
    facts = CpuFacts()
    statuses: list[ProbeStatus] = []
    if sys.platform.startswith("linux"):
        statuses.append(_read_into(facts, cpuinfo))
        if not facts.model or not facts.features:
            from_lscpu, status = read_tool("lscpu", ["lscpu"], parse_lscpu, CpuFacts())
            facts.fill_from(from_lscpu)
            statuses.append(status)
    elif sys.platform == "darwin" and sysctl_text is not None:
        try:
            facts.fill_from(parse_sysctl(sysctl_text))
        except ProbeParseError as exc:
            statuses.append(ProbeStatus(source="sysctl", status="failed", detail=str(exc)))
    elif sys.platform == "win32":
        statuses.append(_windows_cpu_name(facts))
    counted = CpuFacts(
        cores=psutil.cpu_count(logical=False) or None, threads=psutil.cpu_count() or None
    )
    # psutil's counts first: the same method on every OS.
    counted.fill_from(facts)
    model = counted.model or platform.processor() or platform.machine() or "unknown"
    for missing, what in (
        (counted.model is None, "no source named the CPU model"),
        (counted.cores is None, "no source counted the physical cores"),
        (counted.threads is None, "no source counted the logical CPUs"),
        (not counted.features, "no source listed instruction-set features"),
    ):
        if missing:
            statuses.append(ProbeStatus(source="cpu", status="failed", detail=what))
    cpu = Cpu(
        model=" ".join(model.split()),
        vendor=counted.vendor,
        arch=platform.machine() or "unknown",
        cores=counted.cores,
        threads=counted.threads,
        features=sorted(counted.features),
    )
    return cpu, counted.board, statuses


def _windows_cpu_name(facts: CpuFacts) -> ProbeStatus:
    """The marketing name Windows keeps in the registry (platform.processor() gives only
    "AMD64 Family 25 Model 97 ...")."""
    source = "windows-registry"
    if sys.platform != "win32":  # also tells mypy that winreg exists below
        return ProbeStatus(source=source, status="skipped", detail="not Windows")
    try:
        import winreg

        key = winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"HARDWARE\DESCRIPTION\System\CentralProcessor\0",
        )
        name, _ = winreg.QueryValueEx(key, "ProcessorNameString")
        vendor, _ = winreg.QueryValueEx(key, "VendorIdentifier")
    except (ImportError, OSError) as exc:
        return ProbeStatus(source=source, status="failed", detail=str(exc)[:200])
    facts.model, facts.vendor = str(name).strip() or None, str(vendor).strip() or None
    return ProbeStatus(source=source, status="read")


def _read_into(facts: CpuFacts, path: Path) -> ProbeStatus:
    source = str(path)
    try:
        facts.fill_from(parse_cpuinfo(path.read_text(encoding="utf-8", errors="replace")))
    except FileNotFoundError:
        return ProbeStatus(source=source, status="absent", detail="no such file")
    except (OSError, ProbeParseError) as exc:
        return ProbeStatus(source=source, status="failed", detail=str(exc)[:200])
    return ProbeStatus(source=source, status="read")
