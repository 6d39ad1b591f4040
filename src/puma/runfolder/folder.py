"""The one place that knows the file names of a run folder (`runs/run-<uuid>/`).

Every reader and writer of a run goes through RunFolder, so renaming a file is one edit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from puma.errors import InputFileError
from puma.outputs import writing

RUN_PREFIX = "run-"


@dataclass(frozen=True)
class RunFolder:
    """A run folder and the paths of its files. The names are a format: PUMA 4.0's tooling and
    older runs use them."""

    MANIFEST: ClassVar[str] = "manifest.json"
    HARDWARE: ClassVar[str] = "hardware.json"
    LEDGER: ClassVar[str] = "run.jsonl"
    PREDICTIONS: ClassVar[str] = "predictions.jsonl"
    PREDICTIONS_FULL: ClassVar[str] = "predictions_full.parquet"
    EMISSIONS: ClassVar[str] = "emissions.json"
    SPEED: ClassVar[str] = "speed.json"
    METRICS: ClassVar[str] = "metrics.json"
    METADATA: ClassVar[str] = "metadata.json"
    REPORT: ClassVar[str] = "report.html"
    NARRATIVE: ClassVar[str] = "run.md"

    root: Path

    @classmethod
    def create(cls, output_dir: Path, run_id: str | None = None) -> RunFolder:
        run_id = run_id or str(uuid.uuid4())
        root = output_dir / f"{RUN_PREFIX}{run_id}"
        with writing(root, "create the run folder"):
            root.mkdir(parents=True, exist_ok=False)
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> RunFolder:
        """Open an existing run folder; it must at least have its manifest."""
        folder = cls(Path(root))
        try:
            is_dir, has_manifest = folder.root.is_dir(), folder.manifest.is_file()
        except OSError as exc:  # a name too long, a loop of links
            raise InputFileError(f"cannot open: {exc.strerror}", where=str(root)) from None
        if not is_dir:
            raise InputFileError("no such run folder", where=str(root))
        if not has_manifest:
            raise InputFileError(
                f"not a run folder ({cls.MANIFEST} is missing)",
                where=str(root),
                hint="pass the run-<uuid> folder that `puma run` printed",
            )
        return folder

    @property
    def run_id(self) -> str:
        name = self.root.name
        return name[len(RUN_PREFIX) :] if name.startswith(RUN_PREFIX) else name

    # Written at run start.
    @property
    def manifest(self) -> Path:
        return self.root / self.MANIFEST

    @property
    def hardware(self) -> Path:
        return self.root / self.HARDWARE

    # Written during the run.
    @property
    def ledger(self) -> Path:
        return self.root / self.LEDGER

    # Written at run end.
    @property
    def predictions(self) -> Path:
        return self.root / self.PREDICTIONS

    @property
    def predictions_full(self) -> Path:
        return self.root / self.PREDICTIONS_FULL

    @property
    def emissions(self) -> Path:
        return self.root / self.EMISSIONS

    @property
    def speed(self) -> Path:
        """The speed phases' figures (written after each speed phase)."""
        return self.root / self.SPEED

    # Written by `puma eval`.
    @property
    def metrics(self) -> Path:
        return self.root / self.METRICS

    @property
    def metadata(self) -> Path:
        return self.root / self.METADATA

    @property
    def report(self) -> Path:
        return self.root / self.REPORT

    # Written by `puma submission prepare`.
    @property
    def narrative(self) -> Path:
        return self.root / self.NARRATIVE


def find_run_folders(root: Path) -> list[RunFolder]:
    """Every run folder under root (a folder holding manifest.json), sorted by path."""
    return [RunFolder(p.parent) for p in sorted(Path(root).rglob(RunFolder.MANIFEST))]
