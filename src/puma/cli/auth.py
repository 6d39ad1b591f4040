"""`puma auth login|status|logout`: the token PUMA uses to open a submission's pull request.
The token is read from --token, standard input or GITHUB_TOKEN, and never printed."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from puma.cli.console import make_console
from puma.credentials import TokenStatus
from puma.errors import CredentialError, ExitCode

ServiceArgument = Annotated[str, typer.Argument(metavar="SERVICE", help="The service: github.")]

auth_app = typer.Typer(
    name="auth",
    help="Store, check and remove the token used to open pull requests (GitHub).",
    no_args_is_help=True,
)


def _where(status: TokenStatus) -> str:
    kind = {"keyring": "the OS keyring", "file": "the file", "environment": "the variable"}
    return f"{kind[status.source]} {status.location}" if status.source else "nowhere"


@auth_app.command("login")
def login_command(
    service: ServiceArgument = "github",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="The token. Prefer standard input (`... | puma auth login github`) or "
            "GITHUB_TOKEN: a command line is seen by other processes and kept in history.",
        ),
    ] = None,
) -> None:
    """Store a token (from --token, piped standard input, GITHUB_TOKEN or a prompt).

    Kept in the OS keyring when one is usable, else in the config folder's credentials.json
    (mode 0600). The token is never printed."""
    from puma import credentials

    # Standard input is read only when it is not a terminal and --token did not already answer.
    reads_stdin = token is None and sys.stdin is not None and not sys.stdin.isatty()
    piped = sys.stdin.read() if reads_stdin else None
    chosen = credentials.choose_login_token(service, token, piped, os.environ)
    if chosen is None:
        if piped is not None:
            raise CredentialError(
                "no token given",
                hint="pass it on standard input, with --token, or in GITHUB_TOKEN",
            )
        typed = typer.prompt(f"{service} token", hide_input=True)
        chosen = credentials.clean_token(typed), "prompt"
    result = credentials.login(service, *chosen)
    stderr = make_console(stderr=True)
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    status = result.status
    make_console().print(
        f"stored the {service} token (from {escape(result.given_by)}, {status.masked}) in "
        f"{escape(_where(status))}",
        highlight=False,
    )


@auth_app.command("status")
def status_command(
    service: ServiceArgument = "github",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Say where the token is, never what it is (exit 1 when there is none).

    Shows its last four characters at most."""
    from puma.credentials import token_status

    status = token_status(service)
    if as_json:
        typer.echo(status.model_dump_json(indent=2))
    else:
        console = make_console()
        if status.source is None:
            console.print(
                f"{service}: no token; `puma auth login {service}` stores one", highlight=False
            )
        else:
            console.print(
                f"{service}: token {status.masked} in {escape(_where(status))}", highlight=False
            )
        for note in status.notes:
            console.print(f"  note: {escape(note)}", highlight=False)
    if status.source is None:
        raise typer.Exit(int(ExitCode.FAILED_CHECK))


@auth_app.command("logout")
def logout_command(service: ServiceArgument = "github") -> None:
    """Remove the stored token from the keyring and the file.

    GITHUB_TOKEN, if set, is not PUMA's to remove."""
    from puma.credentials import ENV_VARS, check_service, delete_token

    removed = delete_token(service)
    console = make_console()
    if removed:
        console.print(f"removed the {service} token from {escape(', '.join(removed))}")
    else:
        console.print(f"no stored {service} token")
    variable = ENV_VARS[check_service(service)]
    if os.environ.get(variable):
        console.print(f"  note: {variable} is still set in this shell; it is used when set")


def register(app: typer.Typer) -> None:
    app.add_typer(auth_app, name="auth")
