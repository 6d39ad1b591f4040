"""`puma catalogue build` (contributor folders -> static leaderboard site) and
`puma catalogue verify-log` (a registry's public log, checked entry by entry)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from puma.cli.console import make_console
from puma.errors import CheckFailed

console = make_console()
catalogue_app = typer.Typer(
    help="The catalogue: contributor folders graded into a leaderboard.", no_args_is_help=True
)


@catalogue_app.command("build")
def build(
    submissions_dir: Annotated[
        Path, typer.Argument(help="The submissions folder (<handle>/<device-tag>/run-<uuid>/).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The site folder to write (replaced).")],
    workers: Annotated[
        int | None,
        typer.Option(help="Processes that read folders (default: one per CPU, at most 8)."),
    ] = None,
) -> None:
    """Recompute every run from its ledger, grade it, and write the leaderboard site:
    index.html, runs/<run-id>.html, data/runs.parquet, data/cells.parquet. A broken folder is
    listed with its reason (exit 0); a malformed overlay.yaml stops the build (exit 2)."""
    from puma.catalogue import build_catalogue

    summary = build_catalogue(submissions_dir, out, workers=workers)
    grades = ", ".join(f"{n} {grade}" for grade, n in summary.grades.items())
    console.print(
        f"[green]✓[/] {summary.runs} runs ({grades}; {summary.redacted} redacted) in "
        f"{summary.cells} cells, {summary.ranked_cells} ranked",
        soft_wrap=True,
        highlight=False,
    )
    for broken in summary.broken:
        console.print(
            f"[yellow]not catalogued:[/] {escape(broken.folder)}: {escape(broken.reason)}",
            soft_wrap=True,
            highlight=False,
        )
    for run_id in summary.overlay_unmatched:
        console.print(
            f"[yellow]overlay:[/] run {escape(run_id)} is not in the submissions",
            highlight=False,
        )
    console.print(f"  site: {escape(str(summary.out_dir / 'index.html'))}", soft_wrap=True)


@catalogue_app.command("verify-log")
def verify_log_command(
    source: Annotated[str, typer.Argument(help="A registry URL or a saved log (JSON or JSONL).")],
) -> None:
    """Check a registry's public log: every entry's hash recomputes and points at the one
    before it. Exit 0 intact, 1 broken (names the first bad entry), 2 unreadable."""
    # The registry's own reader and checker (puma.registry.log), so both sides agree on a hash.
    registry_log = importlib.import_module("puma.registry.log")
    verdict = registry_log.verify_log(registry_log.read_log(source))
    if not verdict.ok:
        raise CheckFailed(verdict.describe(), where=source)
    console.print(f"[green]✓[/] {escape(verdict.describe())}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(catalogue_app, name="catalogue")
