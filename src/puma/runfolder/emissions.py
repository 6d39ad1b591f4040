"""`emissions.json` (emissions-1.0): energy and CO2 of a run, measured or estimated by
puma.sustainability; a resumed run adds its segment (`plus`). Read by the submission builder."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from puma.jsonio import read_model, write_json
from puma.runfolder.folder import RunFolder

EMISSIONS_SCHEMA = "emissions-1.0"


class Emissions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: str = EMISSIONS_SCHEMA
    measured: bool
    energy_kwh: float
    co2_g: float
    tracking_mode: str  # machine | process | estimate
    country_iso: str | None
    codecarbon_version: str | None
    duration_s: float
    note: str

    def plus(self, other: Emissions) -> Emissions:
        """Add a resumed segment's figures; measured only if both were."""
        return self.model_copy(
            update={
                "measured": self.measured and other.measured,
                "energy_kwh": self.energy_kwh + other.energy_kwh,
                "co2_g": self.co2_g + other.co2_g,
                "duration_s": self.duration_s + other.duration_s,
                "note": self.note if self.note == other.note else f"{self.note}; {other.note}",
            }
        )

    def save(self, folder: RunFolder) -> None:
        write_json(folder.emissions, self.model_dump(mode="json"))

    @classmethod
    def load(cls, folder: RunFolder) -> Emissions:
        return read_model(folder.emissions, cls, "emissions.json")
