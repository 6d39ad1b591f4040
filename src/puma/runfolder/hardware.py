"""`hardware.json` (hardware-1.0): the machine a run ran on, probed by puma.hardware at run
start; read by the submission builder (hardware profile) and the catalogue."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from puma.jsonio import read_model, write_json
from puma.runfolder.folder import RunFolder

HARDWARE_SCHEMA = "hardware-1.0"


class Cpu(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    cores: int
    threads: int
    arch: str


class Gpu(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    vram_gb: float | None = None
    driver: str | None = None


class OperatingSystem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    release: str
    version: str
    pretty: str


class Hardware(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: str = HARDWARE_SCHEMA
    cpu: Cpu
    ram_gb: float
    gpus: list[Gpu]
    os: OperatingSystem
    python: str
    runtime_build: dict[str, Any]
    power_source: str | None  # "ac", "battery" or None when unknown

    def save(self, folder: RunFolder) -> None:
        write_json(folder.hardware, self.model_dump(mode="json"))

    @classmethod
    def load(cls, folder: RunFolder) -> Hardware:
        return read_model(folder.hardware, cls, "hardware.json")
