"""hardware.json (hardware-1.0): today's reports re-read to the same bytes, and files written by
an earlier PUMA (before the probe package) still read, migrated, saying what they lack."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from puma.errors import InputFileError
from puma.hardware import probe
from puma.runfolder import RunFolder
from puma.runfolder.hardware import GIB, HardwareReport, export_json_schema

STORED = RunFolder(Path(__file__).resolve().parents[1] / "fixtures" / "demo-run")

EARLIER_GPU_MACHINE = {
    "cpu": {"arch": "x86_64", "cores": 16, "model": "AMD Ryzen 9 7950X", "threads": 32},
    "gpus": [{"driver": "550.54", "name": "NVIDIA GeForce RTX 4090", "vram_gb": 23.99}],
    "os": {"pretty": "Ubuntu 24.04 LTS", "release": "6.8.0", "system": "Linux", "version": "#1"},
    "power_source": "ac",
    "python": "3.11.7",
    "ram_gb": 62.7,
    "runtime_build": {"api": "ollama", "loaded_models": []},
    "schema_version": "hardware-1.0",
}
EARLIER_MAC = {
    **EARLIER_GPU_MACHINE,
    "cpu": {"arch": "arm64", "cores": 8, "model": "Apple M1", "threads": 8},
    "gpus": [],
    "os": {"pretty": "Darwin 23.5.0", "release": "23.5.0", "system": "Darwin", "version": "x"},
    "ram_gb": 8.0,
}


def test_the_stored_earlier_file_reads_migrated() -> None:
    report = HardwareReport.load(STORED)
    assert report.cpu.model == "AMD EPYC" and (report.cpu.cores, report.cpu.threads) == (2, 2)
    assert report.ram_bytes == round(23.5 * GIB)
    assert report.os.pretty == "Debian GNU/Linux 12 (bookworm)"
    assert report.kernel is not None and report.kernel.release == "6.18.44-fc-v595"
    build = report.runtime_build
    assert build.llama_cpp_python == "0.3.36"
    assert {"avx2", "avx512", "openmp"} <= set(build.features)  # parsed from its system line
    assert build.runtime["n_threads"] == 2  # what the runtime said, kept as it said it
    assert (report.hardware_class, report.device_tag_suggestion) == ("cpu-only", "epyc-cpu")
    (note,) = report.probes
    assert note.source == "earlier-puma" and "did not record CPU features" in note.detail


def test_an_earlier_gpu_machine_migrates_to_bytes_and_a_class(tmp_path: Path) -> None:
    path = tmp_path / "hardware.json"
    path.write_text(json.dumps(EARLIER_GPU_MACHINE))
    report = HardwareReport.read(path)
    (gpu,) = report.gpus
    assert (gpu.vendor, gpu.driver, gpu.vram_bytes) == ("nvidia", "550.54", round(23.99 * GIB))
    assert gpu.vram_gb == pytest.approx(23.99)
    assert report.hardware_class == "discrete-gpu"
    assert report.device_tag_suggestion == "rtx-4090-laptop"  # it had a battery, on AC
    assert report.runtime_build.runtime == {"api": "ollama", "loaded_models": []}


def test_an_earlier_apple_silicon_file_is_unified_memory(tmp_path: Path) -> None:
    path = tmp_path / "hardware.json"
    path.write_text(json.dumps(EARLIER_MAC))
    report = HardwareReport.read(path)
    assert report.hardware_class == "unified-memory"
    assert report.device_tag_suggestion == "mac-m1-8gb"


def test_a_migrated_file_saves_in_todays_layout_and_reads_back_the_same(tmp_path: Path) -> None:
    copy = RunFolder(tmp_path)
    HardwareReport.load(STORED).save(copy)
    saved = json.loads(copy.hardware.read_text())
    assert "ram_bytes" in saved and "ram_gb" not in saved
    assert HardwareReport.load(copy) == HardwareReport.load(STORED)


def test_a_probed_report_re_dumps_byte_for_byte(tmp_path: Path) -> None:
    first, second = RunFolder(tmp_path / "a"), RunFolder(tmp_path / "b")
    first.root.mkdir()
    second.root.mkdir()
    probe().save(first)
    HardwareReport.load(first).save(second)
    assert second.hardware.read_bytes() == first.hardware.read_bytes()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(hostname="my-box"), "hostname"),
        (lambda d: d.update(hardware_class="quantum"), "hardware_class"),
        (lambda d: d.update(schema_version="hardware-9.0"), "schema_version"),
        (lambda d: d["cpu"].update(serial="1234"), "cpu.serial"),
        (lambda d: d.pop("device_tag_suggestion"), "device_tag_suggestion"),
    ],
)
def test_a_malformed_file_is_a_located_input_error(
    tmp_path: Path, change: object, field: str
) -> None:
    document = probe().model_dump(mode="json")
    change(document)  # type: ignore[operator]
    path = tmp_path / "hardware.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputFileError) as raised:
        HardwareReport.read(path)
    assert field in str(raised.value) and str(path) in str(raised.value)


def test_the_published_json_schema_is_the_one_the_model_exports(repo_root: Path) -> None:
    published = json.loads((repo_root / "schemas" / "hardware-1.0.schema.json").read_text())
    assert published == export_json_schema(), (
        "schemas/hardware-1.0.schema.json is stale; regenerate it with `python -c 'import json; "
        "from puma.runfolder.hardware import export_json_schema as e; "
        "print(json.dumps(e(), indent=2))' > schemas/hardware-1.0.schema.json`"
    )


def test_a_probed_report_validates_against_the_json_schema_and_a_broken_one_does_not() -> None:
    validator = jsonschema.Draft202012Validator(export_json_schema())
    document = probe().model_dump(mode="json")
    validator.validate(document)
    for broken in (
        {**document, "hardware_class": "gpu"},
        {k: v for k, v in document.items() if k != "probes"},
        {**document, "gpus": [{"name": "x", "vendor": "nvidia", "vram_gb": 24}]},
    ):
        assert not validator.is_valid(broken)


@pytest.mark.parametrize(
    "change",
    [
        {"gpus": "RTX 4090"},
        {"gpus": [{"name": "x", "vram_gb": "lots"}]},
        {"cpu": "AMD"},
        {"ram_gb": "a lot"},
        {"cpu": {"model": None, "arch": "x86_64", "cores": 1, "threads": 1}},
    ],
)
def test_a_malformed_earlier_file_is_a_located_input_error(
    tmp_path: Path, change: dict[str, object]
) -> None:
    path = tmp_path / "hardware.json"
    path.write_text(json.dumps({**EARLIER_GPU_MACHINE, **change}))
    with pytest.raises(InputFileError) as raised:
        HardwareReport.read(path)
    assert str(path) in str(raised.value)
    assert "earlier hardware.json that cannot be read" in str(raised.value)
