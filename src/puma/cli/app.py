"""The `puma` console script: builds the Typer app and maps PumaError to exit codes.

Each command module exposes `register(app)`; adding a command group is one module and one line
in COMMAND_MODULES.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import typer
from rich.markup import escape

from puma import __version__
from puma.cli.console import make_console
from puma.errors import ExitCode, PumaError

COMMAND_MODULES = (
    "puma.cli.doctor",
    "puma.cli.run",
    "puma.cli.spec",
    "puma.cli.suites",
    "puma.cli.ledger",
    "puma.cli.evaluate",
    "puma.cli.submission",
)

stderr = make_console(stderr=True)

app = typer.Typer(
    name="puma",
    help="Benchmark local language models on project-management work, with verifiable results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"puma {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """PUMA: run → eval → share-results → verify-hash."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: run the app; a PumaError becomes its message and its documented exit code."""
    try:
        result = app(standalone_mode=False)
    except PumaError as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        stderr.print("interrupted; every completed call is in the ledger (resume with --resume)")
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        # Usage errors from Typer's (vendored) Click: they know how to show themselves.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(int(ExitCode.BAD_INPUT))
        if type(exc).__name__ == "Abort":
            stderr.print("aborted")
            sys.exit(int(ExitCode.INTERRUPTED))
        # Anything else is a bug in PUMA: not exit 1, which says a check ran and said no.
        stderr.print(
            f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
            "  hint: this is a bug in PUMA; please report it with the command you ran "
            "(PUMA_DEBUG=1 shows the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        if os.environ.get("PUMA_DEBUG"):
            traceback.print_exc()
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
