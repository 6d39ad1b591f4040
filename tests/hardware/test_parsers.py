"""Each source's parser on outputs captured in the tools' documented formats
(tests/hardware/fixtures/): what it reads, and that it refuses what it does not know."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.hardware.apple import parse_size, parse_system_profiler
from puma.hardware.commands import ProbeParseError
from puma.hardware.cpu import parse_cpuinfo, parse_lscpu, parse_sysctl, parse_sysctl_memsize
from puma.hardware.memory import parse_meminfo
from puma.hardware.nvidia import parse_nvidia_smi
from puma.hardware.rocm import parse_rocm_smi
from puma.hardware.runtime import parse_system_info
from puma.hardware.system import parse_os_release

FIXTURES = Path(__file__).parent / "fixtures"
GIB = 2**30
MIB = 2**20


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --- nvidia-smi -------------------------------------------------------------------------------


def test_nvidia_smi_one_gpu_gives_name_memory_in_bytes_and_driver() -> None:
    (gpu,) = parse_nvidia_smi(fixture("nvidia-smi-1gpu.csv"))
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.vram_bytes == 24564 * MIB
    assert gpu.driver == "550.54.14"
    assert (gpu.vendor, gpu.integrated, gpu.source) == ("nvidia", False, "nvidia-smi")


def test_nvidia_smi_two_gpus_are_two_entries() -> None:
    gpus = parse_nvidia_smi(fixture("nvidia-smi-2gpu.csv"))
    assert [g.name for g in gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert all(g.vram_bytes == 81559 * MIB for g in gpus)


def test_nvidia_smi_memory_not_available_is_unknown_not_zero() -> None:
    (gpu,) = parse_nvidia_smi(fixture("nvidia-smi-na-memory.csv"))
    assert gpu.name == "NVIDIA GH200 480GB" and gpu.vram_bytes is None
    assert gpu.driver == "560.35.03"


@pytest.mark.parametrize(
    "text",
    [
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure",
        "",
        "\n\n",
        "RTX 4090, 24564",
        ", 24564, 550.54",
    ],
)
def test_nvidia_smi_error_or_odd_output_is_refused(text: str) -> None:
    with pytest.raises(ProbeParseError):
        parse_nvidia_smi(text)


def test_nvidia_smi_captured_error_output_is_refused() -> None:
    with pytest.raises(ProbeParseError):
        parse_nvidia_smi(fixture("nvidia-smi-error.txt"))


# --- rocm-smi ---------------------------------------------------------------------------------


def test_rocm_smi_gives_the_card_series_vram_bytes_and_driver() -> None:
    (gpu,) = parse_rocm_smi(fixture("rocm-smi-7900xtx.json"))
    assert gpu.name == "Radeon RX 7900 XTX"
    assert gpu.vram_bytes == 25753026560
    assert (gpu.vendor, gpu.driver, gpu.source) == ("amd", "6.7.0", "rocm-smi")


def test_rocm_smi_older_spelling_and_bracketed_family_name() -> None:
    gpus = parse_rocm_smi(fixture("rocm-smi-navi21-2cards.json"))
    assert [g.name for g in gpus] == ["Radeon RX 6800", "Radeon RX 6800"]
    assert [g.vram_bytes for g in gpus] == [17163091968, 17163091968]
    assert gpus[0].driver == "5.18.13"


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"system": {"Driver version": "6"}}'])
def test_rocm_smi_odd_output_is_refused(text: str) -> None:
    with pytest.raises(ProbeParseError):
        parse_rocm_smi(text)


# --- system_profiler --------------------------------------------------------------------------


def test_system_profiler_m1_8gb() -> None:
    mac = parse_system_profiler(fixture("system-profiler-m1-8gb.json"))
    assert (mac.chip, mac.machine, mac.memory_bytes) == ("Apple M1", "MacBook Air", 8 * GIB)
    (gpu,) = mac.gpus
    assert (gpu.name, gpu.vendor, gpu.integrated, gpu.vram_bytes) == (
        "Apple M1",
        "apple",
        True,
        None,
    )


def test_system_profiler_m3_max_with_an_external_display_is_one_gpu() -> None:
    mac = parse_system_profiler(fixture("system-profiler-m3-max.json"))
    assert (mac.chip, mac.memory_bytes) == ("Apple M3 Max", 64 * GIB)
    assert [g.name for g in mac.gpus] == ["Apple M3 Max"]


def test_system_profiler_intel_mac_has_a_built_in_and_a_discrete_gpu() -> None:
    mac = parse_system_profiler(fixture("system-profiler-intel-radeon.json"))
    assert mac.chip == "8-Core Intel Core i9" and mac.memory_bytes == 32 * GIB
    built_in, radeon = mac.gpus
    assert (built_in.vendor, built_in.integrated, built_in.vram_bytes) == ("intel", True, None)
    assert (radeon.name, radeon.vendor, radeon.integrated) == ("AMD Radeon Pro 5500M", "amd", False)
    assert radeon.vram_bytes == 8 * GIB


def test_system_profiler_never_carries_serials_or_uuids() -> None:
    for name in ("system-profiler-m1-8gb.json", "system-profiler-m3-max.json"):
        text = fixture(name)
        dumped = str(parse_system_profiler(text))
        for secret in ("FVFGX1Q7Q6L4", "K7QW2XH4VJ", "5A1E0F3C", "00008103", "fd626d62"):
            assert secret not in dumped


@pytest.mark.parametrize("text", ["", "{", "[1]", "{}", '{"SPAudioDataType": []}'])
def test_system_profiler_odd_output_is_refused(text: str) -> None:
    with pytest.raises(ProbeParseError):
        parse_system_profiler(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("8 GB", 8 * GIB), ("1536 MB", 1536 * MIB), ("1 TB", 2**40), ("8", None), ("", None)],
)
def test_system_profiler_sizes(text: str, size: int | None) -> None:
    assert parse_size(text) == size


# --- /proc/cpuinfo, lscpu, sysctl ---------------------------------------------------------------


def test_cpuinfo_intel_with_amx() -> None:
    facts = parse_cpuinfo(fixture("cpuinfo-intel-xeon-8480.txt"))
    assert facts.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert facts.vendor == "GenuineIntel"
    assert (facts.cores, facts.threads) == (4, 8)
    assert {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni"} <= facts.features
    assert {"amx_tile", "amx_int8", "amx_bf16", "avx512_fp16"} <= facts.features
    assert facts.board is None  # x86's "model" line is a number, not a board


def test_cpuinfo_amd_ryzen() -> None:
    facts = parse_cpuinfo(fixture("cpuinfo-amd-ryzen-7950x.txt"))
    assert facts.model == "AMD Ryzen 9 7950X 16-Core Processor"
    assert (facts.cores, facts.threads) == (16, 32)
    assert {"avx2", "avx512f", "avx512_bf16", "fma", "f16c", "sse3"} <= facts.features
    assert not any(f.startswith("amx") for f in facts.features)


def test_cpuinfo_aarch64_names_the_core_from_its_part_number() -> None:
    facts = parse_cpuinfo(fixture("cpuinfo-aarch64-graviton2.txt"))
    assert (facts.model, facts.vendor, facts.threads) == ("Neoverse-N1", "ARM", 4)
    assert facts.features == {"neon", "fp16", "dotprod"}


def test_cpuinfo_raspberry_pi_names_the_board_and_not_the_serial() -> None:
    facts = parse_cpuinfo(fixture("cpuinfo-aarch64-raspberry-pi-5.txt"))
    assert facts.model == "Cortex-A76"
    assert facts.board == "Raspberry Pi 5 Model B Rev 1.0"
    assert "8a3f21c07d6e5b94" not in str(facts)


def test_lscpu_x86() -> None:
    facts = parse_lscpu(fixture("lscpu-amd-ryzen-7950x.txt"))
    assert facts.model == "AMD Ryzen 9 7950X 16-Core Processor"
    assert (facts.vendor, facts.cores, facts.threads) == ("AuthenticAMD", 16, 32)
    assert {"avx2", "avx512f"} <= facts.features


def test_lscpu_aarch64_with_sve_and_i8mm() -> None:
    facts = parse_lscpu(fixture("lscpu-aarch64-graviton3.txt"))
    assert (facts.model, facts.cores, facts.threads) == ("Neoverse-V1", 64, 64)
    assert {"neon", "dotprod", "sve", "i8mm", "bf16", "fp16"} <= facts.features


def test_sysctl_apple_m1() -> None:
    text = fixture("sysctl-apple-m1.txt")
    facts = parse_sysctl(text)
    assert (facts.model, facts.vendor, facts.cores, facts.threads) == ("Apple M1", "Apple", 8, 8)
    assert facts.features == {"neon", "dotprod", "fp16"}  # BF16, I8MM and SME are 0 on an M1
    assert parse_sysctl_memsize(text) == 8 * GIB


@pytest.mark.parametrize("parse", [parse_cpuinfo, parse_lscpu, parse_sysctl])
@pytest.mark.parametrize("text", ["", "garbage without separators", "\x00\x01"])
def test_cpu_parsers_refuse_odd_output(parse: object, text: str) -> None:
    with pytest.raises(ProbeParseError):
        parse(text)  # type: ignore[operator]


# --- memory, os-release, llama.cpp system info ---------------------------------------------------


def test_meminfo_total_in_bytes() -> None:
    assert parse_meminfo(fixture("meminfo.txt")) == 65536000 * 1024
    with pytest.raises(ProbeParseError):
        parse_meminfo("MemFree: 12 kB\n")


def test_os_release() -> None:
    values = parse_os_release(fixture("os-release-ubuntu.txt"))
    assert values["PRETTY_NAME"] == "Ubuntu 24.04.1 LTS"
    assert values["VERSION_ID"] == "24.04"


def test_llama_system_info_names_backends_and_switches_that_are_on() -> None:
    cuda = parse_system_info(fixture("llama-system-info-cuda.txt"))
    assert {"cuda", "use_graphs", "avx2", "fma", "openmp"} <= set(cuda)
    assert "avx512" not in cuda and "cpu" not in cuda and "archs" not in cuda
    metal = parse_system_info(fixture("llama-system-info-metal.txt"))
    assert {"metal", "neon", "dotprod", "accelerate"} <= set(metal)
    assert parse_system_info("") == [] and parse_system_info("|||") == []
