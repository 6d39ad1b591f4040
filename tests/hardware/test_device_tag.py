"""The suggested device tag on real chip names: vendor noise removed, the machine's kind as its
key spec, and always a valid device tag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from puma.hardware.apple import parse_system_profiler
from puma.hardware.cpu import parse_cpuinfo
from puma.hardware.device_tag import clean_chip_name, suggest_device_tag
from puma.hardware.nvidia import parse_nvidia_smi
from puma.hardware.rocm import parse_rocm_smi
from puma.runfolder.hardware import GIB, Gpu
from puma.submission.cells import check_device_tag


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz", "i9-13900K"),
        ("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", "i7-8550U"),
        ("12th Gen Intel(R) Core(TM) i7-1265U", "i7-1265U"),
        ("Intel(R) Core(TM) Ultra 7 155H", "Core Ultra 7 155H"),
        ("Intel(R) Xeon(R) Platinum 8480+", "Xeon(R) Platinum 8480".replace("(R)", "")),
        ("Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz", "Xeon E5-2690 v4"),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", "Celeron N4020"),
        ("AMD Ryzen 9 7950X 16-Core Processor", "Ryzen 7950X"),
        ("AMD Ryzen 5 2600X Six-Core Processor", "Ryzen 2600X"),
        ("AMD Ryzen 7 7840U w/ Radeon 780M Graphics", "Ryzen 7840U"),
        ("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "Ryzen Threadripper PRO 5995WX"),
        ("AMD EPYC 7763 64-Core Processor", "EPYC 7763"),
        ("AMD EPYC", "EPYC"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("NVIDIA GeForce RTX 4070 Laptop GPU", "RTX 4070 Laptop"),
        ("NVIDIA GeForce GTX 1080 Ti", "GTX 1080 Ti"),
        ("NVIDIA RTX A6000", "RTX A6000"),
        ("NVIDIA H100 80GB HBM3", "H100 80GB HBM3"),
        ("Tesla T4", "Tesla T4"),
        ("AMD Radeon RX 7900 XTX", "Radeon RX 7900 XTX"),
        ("Apple M3 Max", "M3 Max"),
        ("Neoverse-N1", "Neoverse-N1"),
    ],
)
def test_vendor_noise_is_removed(name: str, clean: str) -> None:
    assert clean_chip_name(name) == clean


def _gpu(name: str, vram_gb: float | None, vendor: str = "nvidia", **kw: object) -> Gpu:
    vram = None if vram_gb is None else round(vram_gb * GIB)
    return Gpu(name=name, vendor=vendor, vram_bytes=vram, **kw)  # type: ignore[arg-type]


APPLE_M1 = Gpu(name="Apple M1", vendor="apple", integrated=True)
APPLE_M3_MAX = Gpu(name="Apple M3 Max", vendor="apple", integrated=True)
INTEL_IGPU = Gpu(name="Intel GPU 8086:46a6", vendor="intel", integrated=True)
RTX_4090 = _gpu("NVIDIA GeForce RTX 4090", 23.99)


@pytest.mark.parametrize(
    ("cpu", "gpus", "ram_gb", "system", "power", "tag"),
    [
        ("AMD Ryzen 9 7950X 16-Core Processor", [], 64, "Linux", None, "ryzen-7950x-cpu"),
        ("AMD Ryzen 9 7950X 16-Core Processor", [RTX_4090], 64, "Linux", None, "rtx-4090-pc"),
        ("Apple M1", [APPLE_M1], 8, "Darwin", "ac", "mac-m1-8gb"),
        ("Apple M3 Max", [APPLE_M3_MAX], 64, "Darwin", "battery", "mac-m3-max-64gb"),
        ("Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz", [], 32, "Linux", None, "i9-13900k-cpu"),
        ("12th Gen Intel(R) Core(TM) i7-1265U", [INTEL_IGPU], 16, "Linux", "ac", "i7-1265u-cpu"),
        (
            "Intel(R) Core(TM) i9-14900HX",
            [INTEL_IGPU, _gpu("NVIDIA GeForce RTX 4070 Laptop GPU", 8)],
            32,
            "Linux",
            "battery",
            "rtx-4070-laptop",
        ),
        (
            "AMD Ryzen 7 5800H",
            [_gpu("NVIDIA GeForce RTX 3060", 6)],
            16,
            "Windows",
            "ac",
            "rtx-3060-laptop",
        ),
        (
            "AMD EPYC 9654 96-Core Processor",
            [_gpu("NVIDIA H100 80GB HBM3", 79.6)] * 2,
            1024,
            "Linux",
            None,
            "2x-h100-80gb-hbm3-pc",
        ),
        (
            "Intel(R) Xeon(R) Gold 6338",
            [_gpu("NVIDIA GeForce RTX 3090", 24), _gpu("NVIDIA GeForce RTX 3060", 12)],
            128,
            "Linux",
            None,
            "rtx-3090-pc",
        ),
        (
            "AMD Ryzen 9 7900",
            [_gpu("Radeon RX 7900 XTX", 24, "amd")],
            64,
            "Linux",
            None,
            "radeon-rx-7900-xtx-pc",
        ),
        (
            "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz",
            [
                Gpu(name="Intel UHD Graphics 630", vendor="intel", integrated=True),
                _gpu("AMD Radeon Pro 5500M", 8, "amd"),
            ],
            32,
            "Darwin",
            "ac",
            "radeon-pro-5500m-mac",
        ),
        ("Intel(R) Core(TM) i5-8259U CPU @ 2.30GHz", [], 8, "Darwin", None, "i5-8259u-mac"),
        ("Neoverse-N1", [], 8, "Linux", None, "neoverse-n1-cpu"),
        ("AMD EPYC", [], 24, "Linux", None, "epyc-cpu"),
        ("", [], None, "Linux", None, "unknown-cpu"),
        ("(TM)(R) @ 9GHz", [], None, "Linux", None, "unknown-cpu"),
        (
            "Apple M2 Ultra",
            [Gpu(name="Apple M2 Ultra", vendor="apple", integrated=True)],
            None,
            "Darwin",
            None,
            "mac-m2-ultra",
        ),
    ],
)
def test_device_tag_on_real_machines(
    cpu: str, gpus: list[Gpu], ram_gb: int | None, system: str, power: str | None, tag: str
) -> None:
    ram = None if ram_gb is None else ram_gb * GIB
    suggested = suggest_device_tag(cpu, gpus, ram, system=system, power_source=power)
    assert suggested == tag
    assert check_device_tag(suggested) == suggested


@pytest.mark.parametrize(
    "name",
    [
        "Qualcomm Snapdragon X Elite - X1E78100 - Qualcomm Oryon CPU",
        "Ünïcödé Prozessor 3000 ++ ##",
        "A" * 300,
        "---",
        "Intel(R) Xeon(R) CPU Max 9480 @ 1.90GHz with a very long marketing suffix indeed",
    ],
)
def test_any_name_gives_a_valid_tag(name: str) -> None:
    for gpus in ([], [_gpu(name, 16)]):
        tag = suggest_device_tag(name, gpus, 16 * GIB, system="Linux", power_source=None)
        assert check_device_tag(tag) == tag


# --- from captured outputs to a tag ---------------------------------------------------------------


FIXTURES = Path(__file__).parent / "fixtures"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("capture", "tag"),
    [
        ("system-profiler-m1-8gb.json", "mac-m1-8gb"),
        ("system-profiler-m3-max.json", "mac-m3-max-64gb"),
        ("system-profiler-intel-radeon.json", "radeon-pro-5500m-mac"),
    ],
)
def test_a_mac_is_tagged_from_system_profiler(capture: str, tag: str) -> None:
    mac = parse_system_profiler(_text(capture))
    suggested = suggest_device_tag(
        mac.chip or "", mac.gpus, mac.memory_bytes, system="Darwin", power_source="ac"
    )
    assert suggested == tag


@pytest.mark.parametrize(
    ("capture", "parse", "tag"),
    [
        ("nvidia-smi-1gpu.csv", parse_nvidia_smi, "rtx-4090-pc"),
        ("nvidia-smi-2gpu.csv", parse_nvidia_smi, "2x-h100-80gb-hbm3-pc"),
        ("rocm-smi-7900xtx.json", parse_rocm_smi, "radeon-rx-7900-xtx-pc"),
        ("rocm-smi-navi21-2cards.json", parse_rocm_smi, "2x-radeon-rx-6800-pc"),
    ],
)
def test_a_gpu_machine_is_tagged_from_its_vendor_tool(
    capture: str, parse: Callable[[str], list[Gpu]], tag: str
) -> None:
    gpus = parse(_text(capture))
    assert suggest_device_tag("AMD EPYC", gpus, 64 * GIB, system="Linux", power_source=None) == tag


@pytest.mark.parametrize(
    ("capture", "tag"),
    [
        ("cpuinfo-amd-ryzen-7950x.txt", "ryzen-7950x-cpu"),
        ("cpuinfo-intel-xeon-8480.txt", "xeon-platinum-8480-cpu"),
        ("cpuinfo-aarch64-graviton2.txt", "neoverse-n1-cpu"),
        ("cpuinfo-aarch64-raspberry-pi-5.txt", "raspberry-pi-5-cpu"),
    ],
)
def test_a_cpu_machine_is_tagged_from_proc_cpuinfo(capture: str, tag: str) -> None:
    facts = parse_cpuinfo(_text(capture))
    chip = facts.board or facts.model or ""
    assert suggest_device_tag(chip, [], 16 * GIB, system="Linux", power_source=None) == tag
