"""`puma ledger verify`: check a run's hash chain and its seal, and say which line breaks it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console
from puma.runfolder import RunFolder
from puma.runner.audit import raise_if_broken, verify_run_ledger

console = make_console()
stderr = make_console(stderr=True)
ledger_app = typer.Typer(help="The run ledger (run.jsonl).", no_args_is_help=True)


@ledger_app.command("verify")
def verify(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/run-<uuid>).")],
) -> None:
    """Verify the ledger's hash chain and its sealed head (manifest.json): exit 0 intact (a run
    not finished yet is intact, and unsealed), 1 altered (names the line), 2 unreadable."""
    folder = RunFolder.open(run_dir)
    verdict = verify_run_ledger(folder)
    raise_if_broken(verdict, folder, "the ledger does not verify")
    report = verdict.report
    if verdict.state == "older":
        stderr.print(f"[yellow]warning:[/] {verdict.message}", highlight=False, soft_wrap=True)
    if verdict.finished:
        console.print(
            f"[green]✓[/] {folder.ledger}: {report.lines} lines, chain intact, run complete, "
            f"{'sealed' if verdict.state == 'sealed' else 'no seal'}",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[yellow]✓[/] {folder.ledger}: {report.lines} lines, chain intact, {verdict.message}",
            soft_wrap=True,
        )
        console.print(f"  resume it: puma run --resume {folder.root}", soft_wrap=True)
    console.print(f"  last hash {report.last_hash}")


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
