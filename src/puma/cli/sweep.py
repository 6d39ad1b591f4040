"""`puma sweep plan|run|lint`: sweeps of models × configurations × seeds × suites, as shards
that only predict (see puma.sweep). Parsing and rendering only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from puma.cli.console import make_console
from puma.errors import CheckFailed, ExitCode

console = make_console()
stderr = make_console(stderr=True)
sweep_app = typer.Typer(
    help="Sweeps: shards that only predict, run here or on Ray; `puma merge` scores them.",
    no_args_is_help=True,
)
SweepArg = Annotated[Path, typer.Argument(help="Sweep file (specs/sweeps/*.yaml).")]


@sweep_app.command("plan")
def plan_command(sweep_file: SweepArg) -> None:
    """List the shards, their identities, where each one's artifacts arrive and whether it is
    already complete and verified (then `run` skips it). Runs nothing. Exit 2 on a bad file."""
    from puma.sweep.execute import shard_complete
    from puma.sweep.plan import plan_sweep

    plan = plan_sweep(sweep_file)
    table = Table(title=f"sweep {plan.sweep.name}: {len(plan.shards)} shard(s)")
    for column in ("shard", "model", "configuration", "seed", "suite", "status", "arrives in"):
        table.add_column(column)
    for shard in plan.shards:
        complete, why = shard_complete(shard)
        status = "[green]complete[/]" if complete else f"to run ({escape(why)})"
        table.add_row(
            shard.short,
            escape(shard.model),
            escape(shard.configuration),
            str(shard.seed),
            escape(shard.suite),
            status,
            escape(str(shard.local_folder)),
        )
    console.print(table)
    names = ", ".join(a.remote_path for a in plan.shards[0].artifacts) if plan.shards else ""
    console.print(f"each shard hands back: {escape(names)}")


@sweep_app.command("run")
def run_command(
    sweep_file: SweepArg,
    executor: Annotated[
        Literal["local", "ray"], typer.Option(help="local: a process pool; ray: Ray tasks.")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (ray executor); default: local Ray.")
    ] = None,
    only: Annotated[
        str | None, typer.Option(help="Run only this shard (its identity or a prefix).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (local executor).")
    ] = None,
) -> None:
    """Run every shard not yet complete and verified, pull its artifacts back and verify them.

    Exit 0 when every shard is complete, 1 when a shard failed (each named with its reason;
    a missing or mismatching artifact names its path), 2 on a bad sweep file, 130 on Ctrl-C
    (complete shards are kept: run again to resume).
    """
    from puma.sweep.execute import SweepEvent, run_sweep
    from puma.sweep.plan import plan_sweep

    plan = plan_sweep(sweep_file)
    shards = 1 if only else len(plan.shards)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        overall = progress.add_task(f"sweep {plan.sweep.name}", total=shards)
        rows: dict[str, TaskID] = {}

        def show(event: SweepEvent) -> None:
            shard = event.shard
            label = f"  {shard.short} {shard.model}/{shard.configuration}/seed {shard.seed}"
            if shard.identity not in rows:
                rows[shard.identity] = progress.add_task(label, total=1)
            text = f"{label} [{_style(event.state)}]{event.state}[/]"
            if event.attempt > 1:
                text += f" (attempt {event.attempt})"
            if event.message and event.state in ("retrying", "failed", "oom"):
                text += f": {escape(event.message.splitlines()[0][:100])}"
            done = event.state in ("complete", "done", "failed", "oom")
            progress.update(rows[shard.identity], description=text, completed=int(done))
            if done:
                progress.advance(overall)

        outcome = run_sweep(
            plan, executor=executor, address=address, only=only, jobs=jobs, on_event=show
        )
    console.print(
        f"{len(outcome.ran)} shard(s) run, {len(outcome.reused)} already complete, "
        f"{len(outcome.failed)} failed"
    )
    try:
        outcome.raise_if_failed()
    except CheckFailed as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(int(ExitCode.FAILED_CHECK)) from None
    root = plan.shards[0].local_folder if plan.shards else None
    if root is not None:
        console.print("every shard is in; score them with `puma merge --root FOLDER`")


def _style(state: str) -> str:
    return {"done": "green", "complete": "green", "failed": "red", "oom": "red"}.get(
        state, "yellow"
    )


@sweep_app.command("lint")
def lint_command(sweep_file: SweepArg) -> None:
    """Refuse a worker that computes metrics, bootstraps, paired tests or calibration fits
    (they belong to `puma merge`). Exit 0 when the worker only predicts, 1 otherwise, 2 on a
    bad sweep file."""
    from puma.sweep.lint import lint_sweep

    problems = lint_sweep(sweep_file)
    for problem in problems:
        stderr.print(f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(int(ExitCode.FAILED_CHECK))
    console.print(f"[green]✓[/] {escape(str(sweep_file))}: the worker only predicts")


def register(app: typer.Typer) -> None:
    app.add_typer(sweep_app, name="sweep")
