"""`puma ledger verify`: check a run's hash chain and say which line breaks it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console
from puma.errors import CheckFailed
from puma.runfolder import RunFolder
from puma.runner.ledger import verify_chain

console = make_console()
ledger_app = typer.Typer(help="The run ledger (run.jsonl).", no_args_is_help=True)


@ledger_app.command("verify")
def verify(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/run-<uuid>).")],
) -> None:
    """Verify the ledger's hash chain: exit 0 intact, 1 broken (names the line), 2 unreadable."""
    folder = RunFolder.open(run_dir)
    report = verify_chain(folder.ledger)
    if not report.ok:
        where = f"{folder.ledger}:{report.broken_line}" if report.broken_line else None
        raise CheckFailed(f"ledger chain broken: {report.reason}", where=where)
    state = "complete" if report.complete else "incomplete (no footer yet: resume it)"
    console.print(f"[green]✓[/] {folder.ledger}: {report.lines} lines, chain intact, run {state}")
    console.print(f"  last hash {report.last_hash}")


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
