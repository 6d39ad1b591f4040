"""The run folder (`runs/run-<uuid>/`): its file names and, one module per file, the versioned
model of each file with its reader and writer.

    folder.py       RunFolder: the file names, opening and creating a folder
    manifest.py     manifest.json        Manifest (manifest-1.0)
    ledger.py       run.jsonl            LedgerEvent (ledger-1.1), LedgerWriter, read_ledger, seal
    predictions.py  predictions.jsonl    CanonicalRow; predictions_full.parquet: FullRow
    metrics.py      metrics.json         MetricsDocument (metrics-1.0)
    metadata.py     metadata.json        RunMetadata (metadata-1.0)
    hardware.py     hardware.json        Hardware (hardware-1.0)
    emissions.py    emissions.json       Emissions (emissions-1.0)
    speed.py        speed.json           SpeedReport (speed-1.0)

Only the folder is imported here, so opening a folder does not load every model.
"""

from puma.runfolder.folder import RUN_PREFIX, RunFolder, find_run_folders

__all__ = ["RUN_PREFIX", "RunFolder", "find_run_folders"]
