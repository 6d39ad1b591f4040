"""The one place that knows the file names of a run folder (`runs/run-<uuid>/`).

Every reader and writer of a run goes through RunFolder, so renaming a file is one edit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from puma.errors import InputFileError
from puma.outputs import writing

RUN_PREFIX = "run-"


@dataclass(frozen=True)
class RunFolder:
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
                "not a run folder (manifest.json is missing)",
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
        return self.root / "manifest.json"

    @property
    def hardware(self) -> Path:
        return self.root / "hardware.json"

    # Written during the run.
    @property
    def ledger(self) -> Path:
        return self.root / "run.jsonl"

    # Written at run end.
    @property
    def predictions(self) -> Path:
        return self.root / "predictions.jsonl"

    @property
    def predictions_full(self) -> Path:
        return self.root / "predictions_full.parquet"

    @property
    def emissions(self) -> Path:
        return self.root / "emissions.json"

    # Written by `puma eval`.
    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    # Written by `puma submission prepare`.
    @property
    def narrative(self) -> Path:
        return self.root / "run.md"


def find_run_folders(root: Path) -> list[RunFolder]:
    """Every run folder under root (a folder holding manifest.json), sorted by path."""
    return [RunFolder(p.parent) for p in sorted(Path(root).rglob("manifest.json"))]
