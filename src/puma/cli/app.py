"""The `puma` console script: builds the Typer app and maps PumaError to exit codes.

Each command module exposes `register(app)`; adding a command group is one module and one line
in COMMAND_MODULES.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import NoReturn

import typer
from rich.markup import escape

from puma import __version__
from puma.cli.console import make_console
from puma.errors import ExitCode, Interrupted, PumaError

COMMAND_MODULES = (
    "puma.cli.doctor",
    "puma.cli.run",
    "puma.cli.spec",
    "puma.cli.suites",
    "puma.cli.ledger",
    "puma.cli.evaluate",
    "puma.cli.submission",
    "puma.cli.registry",
    "puma.cli.imports",
    "puma.cli.hardware",
    "puma.cli.auth",
    "puma.cli.contributor",
    "puma.cli.publish",
    "puma.cli.community",
    "puma.cli.catalogue",
    "puma.cli.sweep",
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
    """Entry point: run the app; a PumaError becomes its message and its documented exit code,
    and anything else one line saying it is a bug (exit 70), never a traceback."""
    try:
        result = app(standalone_mode=False)
    except Interrupted as exc:
        stderr.print(escape(str(exc)), highlight=False, soft_wrap=True)
        sys.exit(int(exc.exit_code))
    except PumaError as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        result = ExitCode.INTERRUPTED
    except Exception as exc:
        # Usage errors from Typer's (vendored) Click: they know how to show themselves.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(int(ExitCode.BAD_INPUT))
        if type(exc).__name__ == "Abort":
            stderr.print("aborted")
            sys.exit(int(ExitCode.INTERRUPTED))
        _internal_error(exc)
    if result == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C in a command into exit 130
        # `run` says what its ledger kept (an Interrupted, above); every other command writes
        # its files whole or not at all.
        stderr.print("interrupted; nothing was written")
    sys.exit(result if isinstance(result, int) else 0)


def _internal_error(exc: Exception) -> NoReturn:
    """The last line of defence: an exception no code expected is a bug in PUMA."""
    if os.environ.get("PUMA_DEBUG"):
        traceback.print_exception(exc)
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    stderr.print(
        f"[bold red]internal error:[/] {escape(summary)}\n  hint: this is a bug in PUMA; "
        f"please report it with the command you ran and `puma --version` ({__version__}); "
        "PUMA_DEBUG=1 shows the traceback",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(int(ExitCode.INTERNAL_ERROR))


if __name__ == "__main__":
    main()
