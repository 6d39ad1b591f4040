"""Energy and CO2 of a run, measured with CodeCarbon in offline mode, written to `emissions.json`.

CodeCarbon measures where the hardware exposes power (RAPL, NVML, powermetrics) and otherwise
estimates from TDP and load; `measured` says which, so an estimate is never passed off as a reading.

CodeCarbon works out what it can read once per process: py-cpuinfo starts two processes to name
the CPU, and pandas is imported to look its TDP up (about 1.5 s of CPU, measured on 2 cores).
On a machine whose cores are busy with the model that slowed the run's first calls by several
per cent. The outcome, CodeCarbon's own "hardware plan", is kept in PUMA's cache folder under a
fingerprint of what it depends on (CodeCarbon's version, the tracking mode, host, CPU, memory,
readable power counters, GPU tools); a later run on the same machine hands it back to CodeCarbon
instead of detecting again. Any change to the fingerprint, an unreadable file or a CodeCarbon
without that cache means a full detection, as before.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import platform
import re
import shutil
import threading
import time
from importlib.metadata import version
from typing import Any

from puma.errors import OutputWriteError, PumaError
from puma.jsonio import write_json
from puma.runfolder.emissions import Emissions
from puma.userconfig import cache_dir

DEFAULT_COUNTRY = "USA"
# CodeCarbon CPU modes that read a power counter rather than estimating from TDP and load.
_MEASURING_CPU_MODES = {"intel_rapl", "intel_power_gadget", "apple_powermetrics", "amd_rapl"}
# Energy of a 2-core laptop-class CPU at full load, for the estimate when CodeCarbon is missing.
_FALLBACK_WATTS = 15.0
_FALLBACK_G_CO2_PER_KWH = 400.0
PLAN_CACHE_FILE = "codecarbon-hardware.json"
PLAN_SCHEMA = "codecarbon-hardware-1.0"


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
        """Begin measuring. CodeCarbon's set-up (about 0.3 s with the cached hardware plan,
        1.5 s on a machine's first run) runs on a side thread, so that it overlaps model loading
        instead of adding to the run."""
        self._started = time.monotonic()
        self._starter = threading.Thread(
            target=self._start_tracker, name="puma-energy-start", daemon=True
        )
        self._starter.start()

    def _start_tracker(self) -> None:
        try:
            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = self._new_tracker()
            fingerprint = machine_fingerprint(self.tracking_mode)
            reused = reuse_hardware_plan(self._tracker, fingerprint)
            if reused:
                self._tracker.start()  # CodeCarbon's start() swallows its own exceptions
                if getattr(self._tracker, "_start_time", None) is None:
                    forget_hardware_plan(self._tracker)  # a plan it could not apply: detect
                    reused = False
            if not reused:
                self._tracker = self._new_tracker()
                self._tracker.start()
                save_hardware_plan(self._tracker, fingerprint)
            # What stop() loads to find the country's energy mix (requests, pandas and
            # CodeCarbon's tables, ~0.5 s of CPU): loaded now, while the model loads, rather than
            # after the last call. Both are kept by CodeCarbon for the process.
            import codecarbon.external.geography  # noqa: F401
            from codecarbon.input import DataSource

            DataSource().get_global_energy_mix_data()  # type: ignore[no-untyped-call]
        except Exception as exc:  # CodeCarbon absent or refusing this machine
            self._tracker = None
            self._problem = f"CodeCarbon unavailable ({type(exc).__name__}: {exc})"

    def _new_tracker(self) -> Any:
        from codecarbon import OfflineEmissionsTracker

        return OfflineEmissionsTracker(
            country_iso_code=self.country_iso,
            save_to_file=False,
            log_level="error",
            tracking_mode=self.tracking_mode,
            measure_power_secs=5,
        )

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


def machine_fingerprint(tracking_mode: str) -> dict[str, Any]:
    """What CodeCarbon's hardware detection depends on, read in about a millisecond."""
    try:
        ram_bytes: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        ram_bytes = None
    counters = sorted(glob.glob("/sys/class/powercap/*/energy_uj"))
    return {
        "codecarbon": version("codecarbon"),
        "tracking_mode": tracking_mode,
        "host": platform.node(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "logical_cpus": os.cpu_count(),
        "ram_bytes": ram_bytes,
        "readable_power_counters": [c for c in counters if os.access(c, os.R_OK)],
        "tools": sorted(t for t in ("nvidia-smi", "rocm-smi", "powermetrics") if shutil.which(t)),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("model name", "Hardware", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def reuse_hardware_plan(tracker: Any, fingerprint: dict[str, Any]) -> bool:
    """Hand CodeCarbon the plan it made on this machine before; False when there is none that
    fits (then it detects, as it always did)."""
    try:
        from codecarbon.core import hardware_cache

        entry = json.loads((cache_dir() / PLAN_CACHE_FILE).read_text(encoding="utf-8"))
        if entry.get("schema_version") != PLAN_SCHEMA or entry.get("fingerprint") != fingerprint:
            return False
        fields = {f.name for f in dataclasses.fields(hardware_cache._HardwarePlan)}
        plan = entry["plan"]
        specs = plan.get("hardware_specs")
        if (
            set(plan) != fields
            or not isinstance(plan.get("conf"), dict)
            or not isinstance(specs, list)
            or not specs
            or not all(
                isinstance(spec, dict) and isinstance(spec.get("kind"), str) for spec in specs
            )
        ):
            return False
        with hardware_cache._cache_lock:
            hardware_cache._plans[hardware_cache.make_key(tracker)] = hardware_cache._HardwarePlan(
                **plan
            )
        return True
    except Exception:  # no cache, a damaged one, or a CodeCarbon without this cache
        return False


def forget_hardware_plan(tracker: Any) -> None:
    """Drop a plan from CodeCarbon's process cache, so that the next start detects again."""
    from codecarbon.core import hardware_cache

    with hardware_cache._cache_lock:
        hardware_cache._plans.pop(hardware_cache.make_key(tracker), None)


def save_hardware_plan(tracker: Any, fingerprint: dict[str, Any]) -> None:
    """Keep the plan CodeCarbon just made, for the next run on this machine."""
    try:
        from codecarbon.core import hardware_cache

        plan = hardware_cache._plans.get(hardware_cache.make_key(tracker))
        if plan is None:
            return
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        write_json(
            folder / PLAN_CACHE_FILE,
            {
                "schema_version": PLAN_SCHEMA,
                "fingerprint": fingerprint,
                "plan": dataclasses.asdict(plan),
            },
        )
    except (OSError, ValueError, TypeError, AttributeError, ImportError, OutputWriteError):
        pass  # the next run detects again, nothing more
