"""`puma merge --root` over sweep shards: the same bytes whatever order the shards arrived in;
a warning, naming them, when shards ran with different Python, packages, runtime build or model
digest; a shard whose files do not match its shard.json is refused."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from puma.errors import CheckFailed
from puma.evaluate import ScoringOptions
from puma.merge import merge_runs
from puma.sweep.record import ShardRecord, file_digest

FAST = ScoringOptions(resamples=300, permutations=300)
SHARDS = [(model, seed) for model in ("alpha", "beta") for seed in (1, 2, 3)]


MakeRun = Callable[..., Path]


@pytest.fixture
def shard(make_run: MakeRun) -> Callable[..., Path]:
    """A shard as a sweep hands it back: a run folder plus its shard.json."""

    def make(root: Path, model: str, seed: int, **record: object) -> Path:
        return _shard(make_run, root, model, seed, **record)

    return make


def _shard(build_run: MakeRun, root: Path, model: str, seed: int, **record: object) -> Path:
    folder = build_run(
        root / model / f"seed-{seed}",
        seed=seed,
        run_id=f"{model}-{seed}",
        models=(model,),
        n_items=30,
    )
    files = {p.name: file_digest(p) for p in sorted(folder.iterdir())}
    values: dict[str, object] = {
        "shard": f"{model}-{seed}".ljust(64, "0"),
        "sweep": "s",
        "identity": {},
        "files": files,
        "ledger_last_hash": "0" * 64,
        "python": "3.11.7",
        "packages": {"numpy": "2.1.0"},
        "runtime": {"kind": "embedded", "version": "llama-cpp-python 0.3.36", "build": {}},
        "model_digest": f"sha256:{model}",
    }
    (folder / "shard.json").write_text(ShardRecord(**{**values, **record}).dump())  # type: ignore[arg-type]
    return folder


def test_merged_bytes_do_not_depend_on_arrival_order(
    shard: Callable[..., Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for model, seed in SHARDS:
        shard(first, model, seed)
    shuffled = SHARDS[:]
    random.Random(7).shuffle(shuffled)
    for k, (model, seed) in enumerate(shuffled):  # arrive in another order, at other times
        source = first / model / f"seed-{seed}"
        shutil.copytree(source, second / model / f"seed-{seed}")
        for path in (second / model / f"seed-{seed}").rglob("*"):
            os.utime(path, (1_000_000 + 1000 * k, 1_000_000 + 1000 * k))
    a, b = merge_runs(first, FAST), merge_runs(second, FAST)
    assert a.metrics_path.read_bytes() == b.metrics_path.read_bytes()
    assert a.report_path.read_bytes() == b.report_path.read_bytes()
    assert a.warnings == b.warnings == []


def test_merge_warns_naming_the_shards_that_ran_in_another_setup(
    shard: Callable[..., Path], tmp_path: Path
) -> None:
    shard(tmp_path, "alpha", 1)
    shard(tmp_path, "alpha", 2, python="3.12.1", packages={"numpy": "1.26.4"})
    shard(tmp_path, "alpha", 3, model_digest="sha256:other")
    shard(tmp_path, "beta", 1, runtime={"kind": "embedded", "version": "x", "build": {"gpu": 1}})
    warnings = merge_runs(tmp_path, FAST).warnings
    text = "\n".join(warnings)
    assert "shards differ in Python version: 3.11.7 in alpha/seed-1/run-alpha-1" in text
    assert "3.12.1 in alpha/seed-2/run-alpha-2" in text
    assert "shards differ in package numpy: 1.26.4 in alpha/seed-2/run-alpha-2" in text
    assert "shards differ in runtime build" in text and "beta/seed-1/run-beta-1" in text
    assert "shards differ in model digest of alpha" in text
    assert "sha256:other in alpha/seed-3/run-alpha-3" in text
    assert "model digest of beta" not in text  # one shard, one digest: nothing to compare


def test_a_shard_whose_files_do_not_match_its_record_is_refused(
    shard: Callable[..., Path], tmp_path: Path
) -> None:
    shard(tmp_path, "alpha", 1)
    folder = shard(tmp_path, "beta", 1)
    parquet = folder / "predictions_full.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-1] + b"\0")
    with pytest.raises(
        CheckFailed, match=r"predictions_full\.parquet does not match its shard\.json"
    ):
        merge_runs(tmp_path, FAST)
