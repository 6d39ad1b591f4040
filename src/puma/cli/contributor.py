"""`puma submission prepare` and the contributor-folder half of `puma submission validate`.

Thin commands over puma.submission.contributor: exit 0 done/valid, 1 a check said no (the ledger,
the privacy scan, metadata.json), 2 unreadable input, 5 the folder cannot be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console
from puma.cli.submission import submission_app

console = make_console()


def prepare(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (runs/run-<uuid>).")],
    handle: Annotated[
        str,
        typer.Option(
            "--handle",
            help="Your public handle: lower-case letters, digits and hyphens (e.g. ada-l).",
        ),
    ],
    device_tag: Annotated[
        str | None,
        typer.Option(
            "--device-tag",
            help="<chip-or-platform>-<key-spec>, e.g. rtx-4090-pc (default: hardware.json's "
            "suggestion, else the run's device tag).",
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="The submissions folder (default: submissions).")
    ] = Path("submissions"),
) -> None:
    """Write ROOT/<handle>/<device-tag>/run-<uuid>/ from a finished run: manifest.json,
    hardware.json, run.jsonl (copied), metadata.json (aggregates) and run.md.

    The ledger must verify and the privacy scan find nothing; an existing folder is never
    written over.
    """
    from puma.submission.contributor import prepare_contributor_folder

    folder = prepare_contributor_folder(run_dir, root, handle, device_tag)
    console.print(f"[green]prepared[/] {folder}", soft_wrap=True, highlight=False)
    console.print(
        f"  next: read and complete {folder / 'run.md'} (caveats), then\n"
        f"  puma submission validate {folder}\n"
        f"  puma publish {folder} --git <your fork's URL>",
        soft_wrap=True,
        highlight=False,
    )


def validate_folder(folder: Path) -> None:
    """`puma submission validate DIR`: a contributor folder, checked whole."""
    from puma.submission.contributor import validate_contributor_folder

    report = validate_contributor_folder(folder)
    console.print(
        f"[green]valid[/]: {report.folder} ({report.path.handle} / {report.path.device_tag} / "
        f"run {report.path.run_id}, {report.model})",
        soft_wrap=True,
        highlight=False,
    )
    for check in report.checks:
        console.print(f"  [green]✓[/] {check}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    submission_app.command("prepare")(prepare)
