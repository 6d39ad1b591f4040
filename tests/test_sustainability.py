"""Energy: CodeCarbon offline when it can, a clearly marked estimate when it cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from puma.errors import PumaError
from puma.sustainability import PLAN_CACHE_FILE, EnergyMeter, machine_fingerprint


def test_codecarbon_measures_or_says_it_estimated() -> None:
    meter = EnergyMeter(country_iso="DEU")
    meter.start()
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # a little work to measure
        sum(range(10_000))
    emissions = meter.stop()
    assert emissions.codecarbon_version is not None
    assert emissions.country_iso == "DEU"
    assert emissions.tracking_mode == "machine"
    assert emissions.energy_kwh > 0 and emissions.co2_g > 0
    assert emissions.duration_s >= 0.5
    # On a machine without power counters the note must say the figure is an estimate.
    assert ("estimated" in emissions.note) == (not emissions.measured)


def test_a_country_that_is_not_alpha_3_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUMA_COUNTRY_ISO", "Germany")
    with pytest.raises(PumaError, match="ISO 3166 alpha-3") as caught:
        EnergyMeter()
    assert caught.value.where == "PUMA_COUNTRY_ISO"


def test_stopping_twice_gives_the_same_figures() -> None:
    meter = EnergyMeter()
    meter.start()
    assert meter.stop() is meter.stop()


def test_a_missing_codecarbon_degrades_to_a_marked_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "codecarbon", None)  # as if the extra were not installed
    meter = EnergyMeter()
    meter.start()
    emissions = meter.stop()
    assert not emissions.measured
    assert emissions.tracking_mode == "estimate"
    assert "rough estimate" in emissions.note and "CodeCarbon" in emissions.note
    assert emissions.energy_kwh >= 0


def test_resumed_segments_add_up_and_stay_unmeasured_if_either_was() -> None:
    first = EnergyMeter()
    first.start()
    a = first.stop()
    second = EnergyMeter()
    second.start()
    b = second.stop()
    total = a.plus(b)
    assert total.energy_kwh == a.energy_kwh + b.energy_kwh
    assert total.measured == (a.measured and b.measured)


# A run in a fresh interpreter, as every `puma run` is: CodeCarbon's own cache lasts a process.
# It prints what CodeCarbon settled on and whether py-cpuinfo's detection process was started.
_METER_RUN = """
import json, subprocess
started = []
popen = subprocess.Popen.__init__
def record(self, args, *a, **k):
    started.append(" ".join(map(str, args)) if not isinstance(args, str) else args)
    return popen(self, args, *a, **k)
subprocess.Popen.__init__ = record
from puma.sustainability import EnergyMeter
meter = EnergyMeter()
meter.start()
emissions = meter.stop()
tracker = meter._tracker
print(json.dumps({
    "cpuinfo_started": any("cpuinfo" in s for s in started),
    "cpu_model": tracker._conf.get("cpu_model"),
    "hardware": sorted(f"{type(h).__name__}:{getattr(h, '_mode', '')}" for h in tracker._hardware),
    "measured": emissions.measured,
    "note": emissions.note,
}))
"""


def _meter_run(cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _METER_RUN],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PUMA_CACHE_DIR": str(cache)},
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_codecarbons_hardware_detection_is_kept_for_the_next_run_on_this_machine(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    first = _meter_run(cache)
    assert first["cpuinfo_started"]  # the first run on a machine detects, as CodeCarbon does
    entry = json.loads((cache / PLAN_CACHE_FILE).read_text())
    assert entry["schema_version"] == "codecarbon-hardware-1.0"
    assert entry["fingerprint"]["logical_cpus"] == os.cpu_count()

    second = _meter_run(cache)
    assert not second["cpuinfo_started"]  # handed the plan: no detection processes
    assert {k: v for k, v in second.items() if k != "cpuinfo_started"} == {
        k: v for k, v in first.items() if k != "cpuinfo_started"
    }


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        "another machine",
        "another codecarbon",
        "a plan missing its fields",
        "a kind of hardware CodeCarbon does not know",
    ],
)
def test_a_damaged_or_foreign_hardware_cache_means_detecting_again(
    tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    reference = _meter_run(cache)
    path = cache / PLAN_CACHE_FILE
    entry = json.loads(path.read_text())
    if damage == "not json":
        path.write_bytes(b"\xff{")
    else:
        if damage == "another machine":
            entry["fingerprint"]["cpu"] = "Some Other CPU @ 1.00GHz"
        elif damage == "another codecarbon":
            entry["fingerprint"]["codecarbon"] = "0.0.1"
        elif damage == "a plan missing its fields":
            del entry["plan"]["hardware_specs"]
        else:
            entry["plan"]["hardware_specs"][0]["kind"] = "quantum"
        path.write_text(json.dumps(entry))
    again = _meter_run(cache)
    assert again["cpuinfo_started"]
    assert {k: v for k, v in again.items() if k != "cpuinfo_started"} == {
        k: v for k, v in reference.items() if k != "cpuinfo_started"
    }
    assert json.loads(path.read_text())["fingerprint"] == machine_fingerprint("machine")


def test_an_unusable_cache_folder_leaves_the_energy_figures_alone(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the cache folder would be")
    run = _meter_run(blocker)
    assert run["cpuinfo_started"] and run["cpu_model"]
