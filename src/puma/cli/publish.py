"""`puma publish DIR --git REMOTE`: a contributor folder as a branch, a commit and a pull request.

Thin: parses, calls puma.publish.publish_folder, renders. Exit 0 published, 1 a check said no
(validation, privacy scan, a file outside submissions/<handle>/), 2 bad input, 4 the remote or
GitHub could not be reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console

console = make_console()


def publish(
    folder: Annotated[
        Path,
        typer.Argument(help="A contributor folder: submissions/<handle>/<device-tag>/run-<uuid>."),
    ],
    git: Annotated[
        str,
        typer.Option(
            "--git",
            help="The repository to push to: your fork's URL (https or ssh), or a path.",
        ),
    ],
    base: Annotated[
        str, typer.Option("--base", help="The branch the pull request targets.")
    ] = "main",
    github_repo: Annotated[
        str | None,
        typer.Option(
            "--github-repo",
            help="OWNER/REPO to open the pull request on (default: derived from --git when it "
            "is a GitHub URL).",
        ),
    ] = None,
) -> None:
    """Push the folder on a branch submission/<handle>/<run-id> and open the pull request.

    Validates the folder and runs the privacy scan first; commits only files under
    submissions/<handle>/. With a GitHub token (`puma auth login github`, or GITHUB_TOKEN) the
    pull request is opened through GitHub's REST API, or an open one reused. Nothing merges
    automatically.
    """
    from puma.publish import publish_folder

    result = publish_folder(folder, git, base=base, github_repo=github_repo)
    state = "pushed" if result.pushed else "already on the remote"
    console.print(
        f"[green]published[/]: branch {result.branch} {state} ({result.remote})",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"  commit {result.commit}", highlight=False)
    for path in result.files:
        console.print(f"  + {path}", soft_wrap=True, highlight=False)
    if result.pull_request is not None:
        verb = "reused the open" if result.pull_request.reused else "opened"
        console.print(
            f"  {verb} pull request: {result.pull_request.url}", soft_wrap=True, highlight=False
        )
        console.print("  nothing merges automatically: a maintainer reviews it")
    elif result.note:
        console.print(f"  [yellow]no pull request[/]: {result.note}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
