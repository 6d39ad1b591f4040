"""`puma sweep run` on the command line: a progress line per shard, a summary, exit 1 naming a
failed shard, and nothing run again once every shard is complete."""

from __future__ import annotations

import shard_functions as fake
from sweep_files import WriteSweep
from typer.testing import CliRunner

from puma.cli.app import app
from puma.sweep.plan import plan_sweep


def test_run_then_run_again_runs_nothing(write_sweep: WriteSweep) -> None:
    path = write_sweep(seeds=[1, 2], worker={"entry": "shard_functions:fake_shard"})
    first = CliRunner().invoke(app, ["sweep", "run", str(path), "--jobs", "2"])
    assert first.exit_code == 0, first.output
    assert "2 shard(s) run, 0 already complete, 0 failed" in first.output
    second = CliRunner().invoke(app, ["sweep", "run", str(path)])
    assert second.exit_code == 0 and "0 shard(s) run, 2 already complete" in second.output


def test_a_failed_shard_is_exit_1_naming_it(write_sweep: WriteSweep) -> None:
    path = write_sweep(seeds=[fake.DETERMINISTIC], worker={"entry": "shard_functions:fake_shard"})
    shard = plan_sweep(path).shards[0]
    result = CliRunner().invoke(app, ["sweep", "run", str(path)])
    assert result.exit_code == 1
    assert f"shard {shard.short} (gemma/default/seed 13/pm-triage): no GGUF model file" in (
        result.output
    )
