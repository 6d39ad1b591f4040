"""The probe for real on this machine, with real stand-in tools on PATH for the vendors' tools
this machine lacks, and real /sys trees: it reads what is there, says what it could not read,
and never raises."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import psutil
import pytest

from puma.hardware import probe
from puma.hardware.commands import run_tool
from puma.hardware.cpu import parse_cpuinfo, probe_cpu
from puma.hardware.sysfs import drm_gpus, power_source
from puma.runfolder.hardware import GIB, HardwareReport, export_json_schema
from puma.submission.cells import check_device_tag

FIXTURES = Path(__file__).parent / "fixtures"
PUMA = [sys.executable, "-m", "puma.cli.app"]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH, for stand-ins of nvidia-smi and rocm-smi."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def _status(report: HardwareReport, source: str) -> tuple[str, str]:
    (found,) = [p for p in report.probes if p.source == source]
    return found.status, found.detail


# --- this machine -------------------------------------------------------------------------------


@linux_only
def test_probe_reads_this_machine() -> None:
    report = probe(runtime_build={"n_threads": 2})
    assert report.schema_version == "hardware-1.0"
    assert report.cpu.threads == psutil.cpu_count()
    assert report.ram_bytes == psutil.virtual_memory().total
    from_proc = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    assert report.cpu.model == " ".join((from_proc.model or "").split())
    assert set(report.cpu.features) == from_proc.features
    assert report.python.count(".") == 2
    assert report.kernel is not None and report.kernel.release == os.uname().release
    assert report.runtime_build.runtime == {"n_threads": 2}
    assert report.runtime_build.llama_cpp_python  # the embedded runtime is installed here
    assert check_device_tag(report.device_tag_suggestion)
    # Every source is accounted for, read or not.
    sources = {p.source for p in report.probes}
    assert {"/proc/cpuinfo", "nvidia-smi", "rocm-smi", "sysfs-drm", "sysfs-power"} <= sources
    assert {"llama-cpp-python", "system_profiler", "/etc/os-release"} <= sources


def test_puma_hardware_json_validates_against_the_schema(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PUMA, "hardware", "--json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = HardwareReport.model_validate_json(done.stdout)
    assert report.model_dump(mode="json") == json.loads(done.stdout)
    jsonschema.validate(json.loads(done.stdout), export_json_schema())
    assert report.device_tag_suggestion == probe().device_tag_suggestion


def test_puma_hardware_table_names_the_machine_and_every_source() -> None:
    done = subprocess.run([*PUMA, "hardware"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = probe()
    assert report.device_tag_suggestion in done.stdout
    assert report.cpu.model in done.stdout
    for status in report.probes:
        assert status.source in done.stdout


# --- stand-in vendor tools ------------------------------------------------------------------------


def test_two_nvidia_gpus_make_a_discrete_gpu_machine(bin_dir: Path) -> None:
    _tool(bin_dir, "nvidia-smi", f"cat {FIXTURES / 'nvidia-smi-2gpu.csv'}")
    report = probe()
    assert [g.name for g in report.gpus][:2] == ["NVIDIA H100 80GB HBM3"] * 2
    assert report.hardware_class == "discrete-gpu"
    assert report.device_tag_suggestion == "2x-h100-80gb-hbm3-pc"
    assert _status(report, "nvidia-smi") == ("read", "")


def test_nvidia_smi_failing_is_recorded_not_raised(bin_dir: Path) -> None:
    _tool(bin_dir, "nvidia-smi", f"cat {FIXTURES / 'nvidia-smi-error.txt'}; exit 9")
    report = probe()
    assert not [g for g in report.gpus if g.vendor == "nvidia"]
    status, detail = _status(report, "nvidia-smi")
    assert status == "failed"
    assert detail.startswith("exit status 9: NVIDIA-SMI has failed")


def test_garbage_from_a_tool_is_recorded_not_raised(bin_dir: Path) -> None:
    _tool(bin_dir, "nvidia-smi", "printf '\\377\\376garbage,,,,\\n'")
    _tool(bin_dir, "rocm-smi", "echo '{\"card0\": 5'")
    report = probe()
    assert report.gpus == [] or all(g.source == "sysfs" for g in report.gpus)
    assert _status(report, "nvidia-smi")[0] == "failed"
    assert _status(report, "rocm-smi")[0] == "failed"


def test_an_error_no_parser_expected_is_recorded_not_raised(bin_dir: Path) -> None:
    _tool(bin_dir, "nvidia-smi", "echo 'NVIDIA Odd, 1e400, 1.0'")  # a memory size past float
    report = probe()
    status, detail = _status(report, "nvidia-smi")
    assert (status, detail) == ("failed", "OverflowError: cannot convert float infinity to integer")
    assert not [g for g in report.gpus if g.source == "nvidia-smi"]


def test_an_amd_card_from_rocm_smi(bin_dir: Path) -> None:
    _tool(bin_dir, "rocm-smi", f"cat {FIXTURES / 'rocm-smi-7900xtx.json'}")
    report = probe()
    (gpu,) = [g for g in report.gpus if g.source == "rocm-smi"]
    assert (gpu.name, gpu.vram_bytes, gpu.driver) == ("Radeon RX 7900 XTX", 25753026560, "6.7.0")
    assert report.device_tag_suggestion == "radeon-rx-7900-xtx-pc"


def test_a_tool_that_hangs_is_stopped_by_its_timeout(bin_dir: Path) -> None:
    _tool(bin_dir, "nvidia-smi", "sleep 30")
    out = run_tool("nvidia-smi", ["nvidia-smi"], timeout=0.5)
    assert out.stdout is None
    assert (out.status.status, out.status.detail) == ("failed", "no answer within 0.5 s")


def test_a_missing_tool_is_absent() -> None:
    out = run_tool("no-such-tool", ["puma-no-such-tool-anywhere"])
    assert (out.stdout, out.status.status) == (None, "absent")


@linux_only
def test_an_unreadable_cpuinfo_falls_back_and_says_so(tmp_path: Path) -> None:
    garbage = tmp_path / "cpuinfo"
    garbage.write_bytes(b"\x00\xff not a cpuinfo file")
    cpu, _, statuses = probe_cpu(cpuinfo=garbage)
    assert cpu.threads == psutil.cpu_count()
    assert statuses[0].source == str(garbage) and statuses[0].status == "failed"
    _, _, statuses = probe_cpu(cpuinfo=tmp_path / "absent")
    assert statuses[0].status == "absent"


# --- /sys trees -----------------------------------------------------------------------------------


def _card(root: Path, name: str, vendor: str, device: str, vram: int | None, driver: str) -> None:
    pci = root / "devices" / f"pci-{name}"
    pci.mkdir(parents=True)
    (pci / "vendor").write_text(f"{vendor}\n")
    (pci / "device").write_text(f"{device}\n")
    if vram is not None:
        (pci / "mem_info_vram_total").write_text(f"{vram}\n")
    (root / "bus" / driver).mkdir(parents=True, exist_ok=True)
    (pci / "driver").symlink_to(root / "bus" / driver)
    card = root / "class" / "drm" / name
    card.mkdir(parents=True)
    (card / "device").symlink_to(pci)


def test_drm_cards_from_sysfs(tmp_path: Path) -> None:
    _card(tmp_path, "card0", "0x8086", "0x46a6", None, "i915")
    _card(tmp_path, "card1", "0x1002", "0x744c", 24 * GIB, "amdgpu")
    _card(tmp_path, "card2", "0x1002", "0x15bf", 512 * 2**20, "amdgpu")  # an APU's carve-out
    (tmp_path / "class" / "drm" / "card1-DP-1").mkdir()  # a connector, not a card
    gpus, status = drm_gpus(tmp_path)
    assert status.status == "read"
    intel, radeon, apu = gpus
    assert (intel.vendor, intel.integrated, intel.driver) == ("intel", True, "i915")
    assert (radeon.name, radeon.vram_bytes) == ("AMD GPU 1002:744c", 24 * GIB)
    assert not radeon.integrated
    assert (apu.integrated, apu.vram_bytes) == (True, None)
    assert drm_gpus(tmp_path / "nothing")[1].status == "absent"


def _supply(root: Path, name: str, **files: str) -> None:
    folder = root / "class" / "power_supply" / name
    folder.mkdir(parents=True)
    for key, value in files.items():
        (folder / key).write_text(f"{value}\n")


MAINS_OFF = {"type": "Mains", "online": "0"}


@pytest.mark.parametrize(
    ("supplies", "expected"),
    [
        ({"AC": {"type": "Mains", "online": "1"}, "BAT0": {"type": "Battery"}}, "ac"),
        ({"AC": MAINS_OFF, "BAT0": {"type": "Battery", "status": "Discharging"}}, "battery"),
        ({"BAT0": {"type": "Battery", "status": "Discharging"}}, "battery"),
        ({"BAT0": {"type": "Battery", "status": "Charging"}}, "ac"),
        (
            {
                "ucsi-source-psy-USBC000:001": {"type": "USB", "online": "1"},
                "BAT1": {"type": "Battery", "status": "Charging"},
            },
            "ac",
        ),
        # a desktop: no battery of its own (a wireless mouse's does not count)
        ({"hidpp_battery_0": {"type": "Battery", "scope": "Device", "status": "Full"}}, None),
        ({}, None),
    ],
)
def test_power_source_from_sysfs(
    tmp_path: Path, supplies: dict[str, dict[str, str]], expected: str | None
) -> None:
    (tmp_path / "class" / "power_supply").mkdir(parents=True)
    for name, files in supplies.items():
        _supply(tmp_path, name, **files)
    source, status = power_source(tmp_path)
    assert source == expected
    assert status.status == ("read" if expected else "absent")
