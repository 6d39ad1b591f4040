"""`puma spec check`: validate a run spec without running it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from puma.cli.console import make_console
from puma.errors import ExitCode
from puma.spec_check import check_spec

console = make_console()
stderr = make_console(stderr=True)
spec_app = typer.Typer(help="Run specs: validate before running.", no_args_is_help=True)


@spec_app.command("check")
def check(
    spec_file: Annotated[Path, typer.Argument(help="Run spec (YAML) to validate.")],
) -> None:
    """Validate a spec as `puma run` would, loading its suites but no model: exit 0 when
    valid, 2 with one `file:line: field: problem` line per problem when not."""
    checked = check_spec(spec_file)
    if checked.problems:
        for problem in checked.problems:
            stderr.print(
                f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True
            )
        count = len(checked.problems)
        if count > 1:  # one problem is said by its own line
            stderr.print(f"{count} problems: `puma run` would refuse this spec")
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    spec = checked.spec
    assert spec is not None
    suites = ", ".join(s.id + (f" (limit {s.limit})" if s.limit else "") for s in spec.suites)
    console.print(f"[green]✓[/] {escape(str(spec_file))}: spec '{escape(spec.name)}' is valid")
    console.print(f"  runtime {spec.runtime.kind}: {escape(', '.join(spec.runtime.model_names))}")
    console.print(
        f"  suites {escape(suites)}; strategy {spec.strategy}; "
        f"repetitions {spec.repetitions}; concurrency {spec.concurrency}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(spec_app, name="spec")
