"""`shard.json` (shard-1.0): the SHA-256 of each file a shard wrote, its ledger's last hash, and
what it ran with (Python, package versions, runtime build, model digest). Written by the worker
last; a shard is complete here only when every required artifact arrived and matches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from puma.errors import CheckFailed, InputFileError
from puma.hashing import sha256_hex
from puma.jsonio import dump_pretty, read_model
from puma.runfolder import RunFolder
from puma.runfolder.ledger import verify_chain
from puma.sweep.model import SHARD_RECORD

SHARD_SCHEMA = "shard-1.0"
# Recorded on every shard whatever the sweep asks, so merge can say which of them differ.
RECORDED_PACKAGES = ("puma-bench", "llama-cpp-python", "numpy", "pyarrow", "pydantic")


class ShardRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = SHARD_SCHEMA
    shard: str  # the identity
    sweep: str
    identity: dict[str, Any]  # what the identity hashes
    files: dict[str, str]  # path in the run folder -> SHA-256 of its bytes
    ledger_last_hash: str
    python: str
    packages: dict[str, str]
    runtime: dict[str, Any]  # kind, version, build, as the runtime reported them
    model_digest: str

    def dump(self) -> str:
        return dump_pretty(self.model_dump(mode="json"))

    @classmethod
    def load(cls, path: Path) -> ShardRecord:
        return read_model(path, cls, "shard record")


def file_digest(path: Path) -> str:
    try:
        return sha256_hex(path.read_bytes())
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None


def verify_arrived(
    shard_id: str, record: ShardRecord, arrived: dict[str, Path], required: set[str]
) -> None:
    """Every required artifact is at its local path and has the bytes the worker recorded;
    CheckFailed names the shard and the path of the first that does not."""
    if record.shard != shard_id:
        raise CheckFailed(
            f"shard {shard_id[:12]}: its {SHARD_RECORD} belongs to shard {record.shard[:12]}",
            where=str(arrived.get(SHARD_RECORD, "")),
            hint=f"`puma sweep run FILE --only {shard_id[:12]}` runs it again",
        )
    for name, path in sorted(arrived.items()):
        if name == SHARD_RECORD:
            continue
        must = name in required
        if not path.is_file():
            if must:
                raise CheckFailed(
                    f"shard {shard_id[:12]}: required artifact {name} is missing",
                    where=str(path),
                    hint=f"`puma sweep run FILE --only {shard_id[:12]}` runs it again",
                )
            continue
        expected = record.files.get(name)
        if expected is None or file_digest(path) != expected:
            what = "is not a file the shard wrote" if expected is None else "does not match"
            raise CheckFailed(
                f"shard {shard_id[:12]}: artifact {name} {what} its {SHARD_RECORD} (SHA-256)",
                where=str(path),
                hint=f"`puma sweep run FILE --only {shard_id[:12]}` runs it again",
            )
    ledger = arrived.get(RunFolder.LEDGER)
    if ledger is not None and ledger.is_file():
        chain = verify_chain(ledger)
        if not (chain.ok and chain.complete and chain.last_hash == record.ledger_last_hash):
            raise CheckFailed(
                f"shard {shard_id[:12]}: its ledger does not end at the hash its "
                f"{SHARD_RECORD} records (broken, unfinished or another run's)",
                where=str(ledger),
                hint=f"`puma sweep run FILE --only {shard_id[:12]}` runs it again",
            )
