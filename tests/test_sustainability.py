"""Energy: CodeCarbon offline when it can, a clearly marked estimate when it cannot."""

from __future__ import annotations

import sys
import time

import pytest

from puma.errors import PumaError
from puma.sustainability import EnergyMeter


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
