"""Shard functions for the executor tests: each writes a real (tiny) run folder with the run
folder's own writers, then hands it back through the real worker's record and collection, so
only the model call is left out. What each shard does is told by its seed:

    seed 13    a deterministic fault (as a bad spec or a missing model)
    seed 66    out of memory
    seed 7     a transient fault on its first two attempts
    seed 9     its worker process dies on the first attempt (as a preempted worker)
    seed 5     takes 2 s, saying nothing meanwhile
    any other  succeeds at once

Attempts are counted in files under the shard's worker folder (shared by processes and Ray
workers of this machine); each call also leaves `calls/<pid>-<time>` there, and the Ray tests'
placement records (GPU ids, start and end times).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from puma.runfolder import RUN_PREFIX, RunFolder
from puma.runfolder.ledger import LedgerWriter
from puma.runfolder.predictions import write_predictions
from puma.sweep.plan import Shard
from puma.sweep.worker import ShardFault, ShardResult, _collect, _write_record
from run_records import footer_event, manifest, meta_event, suite_record

DETERMINISTIC, OOM, FLAKY, DIES, SLOW = 13, 66, 7, 9, 5


def _attempt(root: Path) -> int:
    calls = root / "calls"
    calls.mkdir(parents=True, exist_ok=True)
    (calls / f"{os.getpid()}-{time.monotonic_ns()}").touch()
    return len(list(calls.iterdir()))


def write_fake_run(shard: Shard, root: Path) -> RunFolder:
    folder = RunFolder(root / f"{RUN_PREFIX}{shard.identity}")
    folder.root.mkdir(parents=True, exist_ok=True)
    manifest(
        shard.identity,
        [suite_record("pm-triage", "triage", ["Critical", "Major", "Minor", "Trivial"])],
        [shard.model],
        seed=shard.seed,
    ).save(folder)
    folder.ledger.unlink(missing_ok=True)
    ledger = LedgerWriter.create(folder.ledger)
    ledger.append(meta_event(run_id=shard.identity))
    ledger.append(footer_event())
    ledger.close()
    write_predictions(folder, [])
    return folder


def fake_shard(shard: Shard, environment: dict[str, Any]) -> ShardResult:
    root = shard.worker_root()
    attempt = _attempt(root)
    if shard.seed == DETERMINISTIC:
        return ShardResult(shard.identity, "deterministic", "no GGUF model file at /nowhere")
    if shard.seed == OOM:
        return ShardResult(shard.identity, "oom", "llama_context: failed to allocate")
    if shard.seed == FLAKY and attempt <= 2:
        return ShardResult(shard.identity, "transient", f"connection reset (attempt {attempt})")
    if shard.seed == DIES and attempt == 1:
        os._exit(137)
    if shard.seed == SLOW:
        time.sleep(2.0)
    try:
        folder = write_fake_run(shard, root)
        _write_record(shard, folder, environment)
        return ShardResult(shard.identity, "ok", files=_collect(shard, folder))
    except ShardFault as fault:
        return ShardResult(shard.identity, fault.status, fault.message)


def placed_shard(shard: Shard, environment: dict[str, Any]) -> ShardResult:
    """Records the GPUs Ray gave it and when it held them, then succeeds."""
    import ray

    started = time.time()
    time.sleep(1.0)
    record = {"gpus": [str(g) for g in ray.get_gpu_ids()], "start": started, "end": time.time()}
    result = fake_shard(shard, environment)
    (shard.worker_root() / "placement.json").write_text(json.dumps(record), encoding="utf-8")
    return result


def loses_the_parquet(shard: Shard, environment: dict[str, Any]) -> ShardResult:
    """Succeeds, but predictions_full.parquet never reaches the driver."""
    result = fake_shard(shard, environment)
    files = {k: v for k, v in result.files.items() if k != "predictions_full.parquet"}
    return ShardResult(shard.identity, "ok", files=files)
