"""The Ray executor on a local Ray cluster started here on loopback, with 4 declared (fake) GPUs:
each shard is a Ray task that declares its GPUs, so Ray places it; a worker that dies is retried
by the taxonomy, not by Ray."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import shard_functions as fake
from sweep_files import WriteSweep

from puma.sweep.execute import run_sweep, shard_complete
from puma.sweep.plan import plan_sweep

ray = pytest.importorskip("ray", reason="the sweep extra (ray) is not installed")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        num_gpus=4,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": worker_path()}},
    )
    yield
    ray.shutdown()


def worker_path() -> str:
    """Ray workers import the shard functions (and run_records) by name, as this process does."""
    tests = Path(__file__).parent
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(tests), str(tests.parent), inherited) if p)


def test_each_shard_gets_the_gpus_it_declares_and_none_share_one(write_sweep: WriteSweep) -> None:
    path = write_sweep(seeds=[1, 2, 3, 4], resources={"num_cpus": 0.5, "num_gpus": 2})
    plan = plan_sweep(path)
    outcome = run_sweep(plan, executor="ray", function=fake.placed_shard, poll_s=0.1)
    assert [s.state for s in outcome.states] == ["done"] * 4, outcome.states[0].message
    placements = [json.loads((s.worker_root() / "placement.json").read_text()) for s in plan.shards]
    assert all(len(p["gpus"]) == 2 for p in placements)
    for a, b in itertools.combinations(placements, 2):
        overlap = a["start"] < b["end"] and b["start"] < a["end"]
        if overlap:  # two shards at once hold disjoint GPUs: 4 GPUs, 2 each
            assert not set(a["gpus"]) & set(b["gpus"])
    assert all(shard_complete(s)[0] for s in plan.shards)


@pytest.mark.slow  # a dead Ray worker is replaced: ~25 s here
def test_a_dead_ray_worker_is_retried_and_a_deterministic_fault_is_not(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[fake.DIES, fake.DETERMINISTIC, fake.FLAKY]))
    outcome = run_sweep(plan, executor="ray", function=fake.fake_shard, poll_s=0.1)
    states = {s.shard.seed: s for s in outcome.states}
    assert (states[fake.DIES].state, states[fake.DIES].attempts) == ("done", 2)
    assert (states[fake.FLAKY].state, states[fake.FLAKY].attempts) == ("done", 3)
    failed = states[fake.DETERMINISTIC]
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert failed.message == "no GGUF model file at /nowhere"
