"""The hardware probe reads this machine; the device tag is a valid handle."""

from __future__ import annotations

import re

import psutil

from puma.hardware import Gpu, auto_device_tag, probe_hardware


def test_probe_reads_this_machine() -> None:
    hardware = probe_hardware(runtime_build={"llama_cpp_python": "x"})
    assert hardware.schema_version == "hardware-1.0"
    assert hardware.cpu.threads == psutil.cpu_count()
    assert hardware.cpu.model and hardware.cpu.arch
    assert abs(hardware.ram_gb - psutil.virtual_memory().total / 2**30) < 0.1
    assert hardware.python.count(".") == 2
    assert hardware.runtime_build == {"llama_cpp_python": "x"}


def test_device_tag_is_lower_case_letters_digits_and_hyphens() -> None:
    hardware = probe_hardware()
    tag = auto_device_tag(hardware)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", tag)
    assert tag.endswith(f"-{round(hardware.ram_gb)}gb")


def test_device_tag_prefers_the_gpu() -> None:
    hardware = probe_hardware().model_copy(
        update={"gpus": [Gpu(name="NVIDIA GeForce RTX 4090", vram_gb=24.0)], "ram_gb": 64.0}
    )
    assert auto_device_tag(hardware) == "rtx-4090-64gb"
