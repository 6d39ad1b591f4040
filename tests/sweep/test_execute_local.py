"""The local executor (a process pool) with shard functions that write real run folders but call
no model (tests/sweep/shard_functions.py): completion and verification of artifacts, resume,
the failure taxonomy, a dying worker, a slow shard, interruption."""

from __future__ import annotations

import json

import pytest
import shard_functions as fake
from sweep_files import WriteSweep

from puma.errors import CheckFailed, Interrupted
from puma.sweep.execute import SweepEvent, run_sweep, shard_complete
from puma.sweep.plan import Shard, SweepPlan, plan_sweep
from puma.sweep.record import ShardRecord


def _calls(shard: Shard) -> int:
    calls = shard.worker_root() / "calls"
    return len(list(calls.iterdir())) if calls.is_dir() else 0


def _by_seed(plan: SweepPlan) -> dict[int, Shard]:
    return {s.seed: s for s in plan.shards}


def test_every_shard_arrives_verified_and_a_second_run_runs_none(write_sweep: WriteSweep) -> None:
    plan = plan_sweep(write_sweep(seeds=[1, 2, 3]))
    outcome = run_sweep(plan, function=fake.fake_shard, jobs=2)
    assert [s.state for s in outcome.states] == ["done"] * 3
    for shard in plan.shards:
        assert shard_complete(shard) == (True, "")
        record = ShardRecord.load(shard.local_record)
        assert record.shard == shard.identity and record.python and record.packages
        assert sorted(p.name for p in shard.local_folder.iterdir()) == sorted(
            a.local_path.name for a in shard.artifacts
        )
    again = run_sweep(plan, function=fake.fake_shard)
    assert [s.state for s in again.states] == ["complete"] * 3
    assert [_calls(s) for s in plan.shards] == [1, 1, 1]


def test_a_transient_fault_is_retried_with_backoff_until_it_passes(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[fake.FLAKY]))
    events: list[SweepEvent] = []
    outcome = run_sweep(plan, function=fake.fake_shard, on_event=events.append)
    assert outcome.states[0].state == "done" and outcome.states[0].attempts == 3
    assert [e.state for e in events] == [
        "queued",
        "running",
        "retrying",
        "running",
        "retrying",
        "running",
        "done",
    ]
    assert "connection reset" in events[2].message


def test_a_transient_fault_past_the_budget_fails_the_shard(write_sweep: WriteSweep) -> None:
    plan = plan_sweep(write_sweep(seeds=[fake.FLAKY], worker={"retries": 1}))
    outcome = run_sweep(plan, function=fake.fake_shard)
    state = outcome.states[0]
    assert state.state == "failed" and state.attempts == 2
    assert state.message.startswith("gave up after 2 attempt(s): connection reset")
    with pytest.raises(CheckFailed, match=f"shard {state.shard.short}"):
        outcome.raise_if_failed()


def test_a_deterministic_fault_fails_its_shard_at_once_and_the_others_go_on(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[1, fake.DETERMINISTIC, 2]))
    outcome = run_sweep(plan, function=fake.fake_shard, jobs=2)
    states = {s.shard.seed: s for s in outcome.states}
    assert states[fake.DETERMINISTIC].state == "failed"
    assert states[fake.DETERMINISTIC].attempts == 1
    assert states[fake.DETERMINISTIC].message == "no GGUF model file at /nowhere"
    assert states[1].state == states[2].state == "done"


def test_out_of_memory_is_reported_with_the_declared_resources(write_sweep: WriteSweep) -> None:
    path = write_sweep(seeds=[fake.OOM], resources={"num_gpus": 1, "memory_mb": 8000})
    outcome = run_sweep(plan_sweep(path), function=fake.fake_shard)
    state = outcome.states[0]
    assert state.state == "oom" and state.attempts == 1
    assert "out of memory with its declared resources (num_cpus=1, num_gpus=1, memory=8000 MB)" in (
        state.message
    )


def test_a_worker_that_dies_is_retried_on_a_fresh_pool(write_sweep: WriteSweep) -> None:
    plan = plan_sweep(write_sweep(seeds=[fake.DIES]))
    outcome = run_sweep(plan, function=fake.fake_shard)
    state = outcome.states[0]
    assert state.state == "done" and state.attempts == 2
    assert shard_complete(state.shard)[0]


def test_a_slow_shard_is_never_killed_for_its_silence(write_sweep: WriteSweep) -> None:
    plan = plan_sweep(write_sweep(seeds=[fake.SLOW]))
    outcome = run_sweep(plan, function=fake.fake_shard, poll_s=0.05)
    assert outcome.states[0].state == "done" and outcome.states[0].attempts == 1


def test_a_mismatching_artifact_is_not_complete_and_only_reruns_that_shard(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[1, 2]))
    run_sweep(plan, function=fake.fake_shard)
    one, two = _by_seed(plan)[1], _by_seed(plan)[2]
    parquet = one.local_folder / "predictions_full.parquet"
    parquet.write_bytes(parquet.read_bytes() + b"tampered")
    complete, why = shard_complete(one)
    assert not complete and "predictions_full.parquet does not match" in why
    outcome = run_sweep(plan, function=fake.fake_shard, only=one.short)
    assert [(s.shard.seed, s.state) for s in outcome.states] == [(1, "done")]
    assert shard_complete(one)[0] and _calls(two) == 1


def test_a_required_artifact_that_does_not_arrive_fails_loudly_naming_shard_and_path(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[1]))
    shard = plan.shards[0]

    outcome = run_sweep(plan, function=fake.loses_the_parquet, executor="local", jobs=1)
    state = outcome.states[0]
    assert state.state == "failed"
    assert f"shard {shard.short}: required artifact predictions_full.parquet is missing" in (
        state.message
    )
    assert str(shard.local_folder / "predictions_full.parquet") in state.message


def test_an_interrupted_sweep_resumes_with_only_the_shards_not_complete(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[1, 2, 3]))

    def stop_after_first(event: SweepEvent) -> None:
        if event.state == "done":
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="1 of 3 shard"):
        run_sweep(plan, function=fake.fake_shard, on_event=stop_after_first, jobs=1)
    finished = [s for s in plan.shards if shard_complete(s)[0]]
    assert len(finished) == 1
    outcome = run_sweep(plan, function=fake.fake_shard, jobs=1)
    states = {s.shard.identity: s.state for s in outcome.states}
    assert states[finished[0].identity] == "complete"
    assert sorted(states.values()) == ["complete", "done", "done"]
    assert _calls(finished[0]) == 1


def test_a_worker_without_the_required_packages_fails_deterministically(
    write_sweep: WriteSweep,
) -> None:
    plan = plan_sweep(write_sweep(seeds=[1], packages={"numpy": "0.0.1"}))
    outcome = run_sweep(plan, function=fake.fake_shard)
    # The fake shard does not check; the real worker does, before any model loads:
    from puma.sweep.worker import run_shard

    result = run_shard(plan.shards[0], plan.sweep.environment.model_dump(mode="json"))
    assert result.status == "deterministic"
    assert result.message.startswith("the sweep needs numpy 0.0.1; this worker has ")
    assert outcome.states[0].state == "done"
    assert json.loads(plan.shards[0].local_record.read_text())["packages"]["numpy"] != "0.0.1"
