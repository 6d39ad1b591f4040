"""What a shard runs on a worker: check the environment, run (or resume) the shard's run folder,
write shard.json, and hand back the artifacts' bytes. Predictions only: nothing here, nor
anything it imports, computes a metric, an interval or a test (`puma merge` does, on a CPU);
tests/sweep check that this module's import graph holds no puma.stats or puma.evaluate.

Faults come back as a ShardResult whose status is the failure's kind (transient, deterministic,
out-of-memory), never as an exception: a process pool and Ray hand results back the same way.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from puma.errors import PumaError, RuntimeUnavailable
from puma.jsonio import write_text_atomic
from puma.runfolder import RUN_PREFIX, RunFolder
from puma.runfolder.ledger import verify_chain
from puma.runfolder.manifest import Manifest
from puma.spec import SpecFile
from puma.sweep.model import SHARD_RECORD
from puma.sweep.plan import Shard
from puma.sweep.record import RECORDED_PACKAGES, ShardRecord, file_digest

Status = Literal["ok", "transient", "deterministic", "oom"]
# Test-only fault injection (tests/sweep): the worker kills its own process after this many
# calls, once per marker file, as a preempted pod or an OOM-killed worker would die.
DIE_AFTER_CALLS = "PUMA_SWEEP_TEST_DIE_AFTER_CALLS"
DIE_MARKER = "PUMA_SWEEP_TEST_DIE_MARKER"


class ShardFault(Exception):
    """A fault whose kind the worker knows (raised inside the worker, returned as a result)."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ShardResult:
    shard: str
    status: Status
    message: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # remote_path -> bytes
    worker_pid: int = 0


def run_shard(shard: Shard, environment: dict[str, Any]) -> ShardResult:
    """Run one shard on this worker (the default `worker.entry` of a sweep file)."""
    try:
        _check_environment(environment)
        folder = _run_or_resume(shard)
        _write_record(shard, folder, environment)
        return ShardResult(shard.identity, "ok", files=_collect(shard, folder))
    except ShardFault as fault:
        return ShardResult(shard.identity, fault.status, fault.message, worker_pid=os.getpid())
    except MemoryError:
        return ShardResult(shard.identity, "oom", "out of memory", worker_pid=os.getpid())
    except RuntimeUnavailable as exc:
        # A server that cannot be reached may come back; a model that is not there will not.
        transient = isinstance(exc.__cause__, OSError) or "connect" in exc.message.lower()
        status: Status = "transient" if transient else "deterministic"
        return ShardResult(shard.identity, status, str(exc), worker_pid=os.getpid())
    except PumaError as exc:  # a bad spec, a missing suite, a write fault: the same next time
        return ShardResult(shard.identity, "deterministic", str(exc), worker_pid=os.getpid())
    except OSError as exc:  # a network or disk blip below PUMA's own errors
        return ShardResult(shard.identity, "transient", f"{exc}", worker_pid=os.getpid())


def _check_environment(environment: dict[str, Any]) -> None:
    python = str(environment.get("python", ""))
    here = platform.python_version()
    if python and not (here == python or here.startswith(python + ".")):
        raise ShardFault(
            "deterministic", f"the sweep needs Python {python}; this worker has {here}"
        )
    for name, wanted in sorted(dict(environment.get("packages") or {}).items()):
        have = _version(name)
        if have != wanted:
            raise ShardFault(
                "deterministic",
                f"the sweep needs {name} {wanted}; this worker has {have or 'none'}",
            )


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run_or_resume(shard: Shard) -> RunFolder:
    """The shard's run folder on this worker, finished: reused when a previous attempt finished
    it, resumed from its ledger when one died mid-run, else run from the start."""
    from puma.runner.session import resume_run, start_run

    root = shard.worker_root()
    folder = RunFolder(root / f"{RUN_PREFIX}{shard.identity}")
    if folder.root.exists():
        chain = verify_chain(folder.ledger) if folder.ledger.is_file() else None
        if chain is not None and chain.ok and chain.complete and folder.predictions_full.is_file():
            return folder
        if chain is not None and chain.ok and folder.manifest.is_file():
            _outcome(resume_run(folder.root, on_outcome=_die_hook()))
            return folder
        shutil.rmtree(folder.root)  # died before its first call: nothing worth keeping
    spec = SpecFile.model_validate({**shard.spec, "output": str(root)})
    _outcome(start_run(spec, None, {}, on_outcome=_die_hook(), run_id=shard.identity))
    return folder


def _outcome(result: Any) -> None:
    failed = result.failed_calls + result.skipped_calls
    if failed:
        raise ShardFault(
            "transient",
            f"{failed} call(s) got no answer after every retry; a retry resumes only them",
        )


def _die_hook() -> Any:
    after = os.environ.get(DIE_AFTER_CALLS)
    marker = os.environ.get(DIE_MARKER)
    if not after or not marker:
        return None
    calls = 0

    def count(_outcome: object) -> None:
        nonlocal calls
        calls += 1
        if calls >= int(after) and not Path(marker).exists():
            Path(marker).write_text(str(os.getpid()), encoding="utf-8")
            os._exit(137)  # as the kernel's OOM killer or a preempted pod would end it

    return count


def _write_record(shard: Shard, folder: RunFolder, environment: dict[str, Any]) -> ShardRecord:
    manifest = Manifest.load(folder)
    chain = verify_chain(folder.ledger)
    if not (chain.ok and chain.last_hash):
        raise ShardFault("deterministic", f"the shard's ledger does not verify: {chain.reason}")
    digest = manifest.models[0].digest if manifest.models else None
    planned = shard.model_digest.removeprefix("sha256:")
    if shard.spec["runtime"]["kind"] == "embedded" and digest and digest != planned:
        raise ShardFault(
            "deterministic",
            f"the model file on this worker (sha256 {digest[:12]}) is not the one planned "
            f"(sha256 {planned[:12]})",
        )
    names = sorted(
        p.relative_to(folder.root).as_posix()
        for p in folder.root.rglob("*")
        if p.is_file() and p.name != SHARD_RECORD
    )
    packages = sorted({*RECORDED_PACKAGES, *dict(environment.get("packages") or {})})
    record = ShardRecord(
        shard=shard.identity,
        sweep=shard.sweep,
        identity=shard.identity_fields,
        files={name: file_digest(folder.root / name) for name in names},
        ledger_last_hash=chain.last_hash,
        python=platform.python_version(),
        packages={name: _version(name) or "none" for name in packages},
        runtime={
            "kind": manifest.runtime.get("kind"),
            "version": manifest.runtime.get("version"),
            "build": manifest.runtime.get("build"),
        },
        model_digest=f"sha256:{digest}" if digest else shard.model_digest,
    )
    write_text_atomic(folder.root / SHARD_RECORD, record.dump())
    return record


def _collect(shard: Shard, folder: RunFolder) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for artifact in shard.artifacts:
        path = folder.root / artifact.remote_path
        if not path.is_file():
            if artifact.required:
                raise ShardFault(
                    "deterministic",
                    f"required artifact {artifact.label!r} was not written: {path}",
                )
            continue
        files[artifact.remote_path] = path.read_bytes()
    return files
