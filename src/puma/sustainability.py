"""Energy and CO2 of a run, measured with CodeCarbon in offline mode, written to `emissions.json`.

CodeCarbon measures where the hardware exposes power (RAPL, NVML, powermetrics) and otherwise
estimates from TDP and load; `measured` says which, so an estimate is never passed off as a reading.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from importlib.metadata import version
from typing import Any

from puma.errors import PumaError
from puma.runfolder.emissions import Emissions

DEFAULT_COUNTRY = "USA"
# CodeCarbon CPU modes that read a power counter rather than estimating from TDP and load.
_MEASURING_CPU_MODES = {"intel_rapl", "intel_power_gadget", "apple_powermetrics", "amd_rapl"}
# Energy of a 2-core laptop-class CPU at full load, for the estimate when CodeCarbon is missing.
_FALLBACK_WATTS = 15.0
_FALLBACK_G_CO2_PER_KWH = 400.0


class EnergyMeter:
    """Start at the first call, stop at the last. Never fails a run: an unusable CodeCarbon
    degrades to a clearly marked estimate."""

    def __init__(self, country_iso: str | None = None, tracking_mode: str = "machine"):
        self.country_iso = country_iso or os.environ.get("PUMA_COUNTRY_ISO") or DEFAULT_COUNTRY
        if not re.fullmatch(r"[A-Z]{3}", self.country_iso):
            # CodeCarbon would only log this and silently use a world average.
            raise PumaError(
                f"country {self.country_iso!r} is not an ISO 3166 alpha-3 code",
                where="PUMA_COUNTRY_ISO",
                hint="set PUMA_COUNTRY_ISO to your country's code, e.g. DEU, FRA, USA, JPN",
            )
        self.tracking_mode = tracking_mode
        self._tracker: Any = None
        self._started = 0.0
        self._problem: str | None = None
        self._starter: threading.Thread | None = None
        self._result: Emissions | None = None

    def start(self) -> None:
        """Begin measuring. CodeCarbon's set-up waits about 1.5 s on its own probes; it runs on
        a side thread so that the wait overlaps model loading instead of adding to the run."""
        self._started = time.monotonic()
        self._starter = threading.Thread(
            target=self._start_tracker, name="puma-energy-start", daemon=True
        )
        self._starter.start()

    def _start_tracker(self) -> None:
        try:
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso,
                save_to_file=False,
                log_level="error",
                tracking_mode=self.tracking_mode,
                measure_power_secs=5,
            )
            self._tracker.start()
        except Exception as exc:  # CodeCarbon absent or refusing this machine
            self._tracker = None
            self._problem = f"CodeCarbon unavailable ({type(exc).__name__}: {exc})"

    def stop(self) -> Emissions:
        """Stop measuring and return the figures; stopping again returns the same figures."""
        if self._result is None:
            self._result = self._stop()
        return self._result

    def _stop(self) -> Emissions:
        if self._starter is not None:
            self._starter.join()
        duration = time.monotonic() - self._started
        if self._tracker is not None:
            try:
                self._tracker.stop()
                data = self._tracker.final_emissions_data
                modes = {getattr(h, "_mode", None) for h in self._tracker._hardware}
                kinds = {type(h).__name__ for h in self._tracker._hardware}
                measured = bool(modes & _MEASURING_CPU_MODES) or "GPU" in kinds
                return Emissions(
                    measured=measured,
                    energy_kwh=float(data.energy_consumed),
                    co2_g=float(data.emissions) * 1000.0,
                    tracking_mode=self.tracking_mode,
                    country_iso=self.country_iso,
                    codecarbon_version=version("codecarbon"),
                    duration_s=duration,
                    note=(
                        "measured by CodeCarbon from hardware power counters"
                        if measured
                        else "estimated by CodeCarbon from CPU TDP and load (no power counter "
                        f"readable here: CPU mode {sorted(m for m in modes if m)})"
                    ),
                )
            except Exception as exc:
                self._problem = f"CodeCarbon failed at stop ({type(exc).__name__}: {exc})"
        energy = _FALLBACK_WATTS * duration / 3600.0 / 1000.0
        return Emissions(
            measured=False,
            energy_kwh=energy,
            co2_g=energy * _FALLBACK_G_CO2_PER_KWH,
            tracking_mode="estimate",
            country_iso=None,
            codecarbon_version=None,
            duration_s=duration,
            note=f"rough estimate ({_FALLBACK_WATTS:.0f} W x wall time, "
            f"{_FALLBACK_G_CO2_PER_KWH:.0f} g/kWh): {self._problem}",
        )
