"""`puma spec check`: validate a run spec without running it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console
from puma.spec import load_spec

console = make_console()
spec_app = typer.Typer(help="Run specs: validate before running.", no_args_is_help=True)


@spec_app.command("check")
def check(
    spec_file: Annotated[Path, typer.Argument(help="Run spec (YAML) to validate.")],
) -> None:
    """Validate a spec: exit 0 when valid, 2 with file:line: field: problem when not."""
    spec = load_spec(spec_file)
    suites = ", ".join(s.id + (f" (limit {s.limit})" if s.limit else "") for s in spec.suites)
    console.print(f"[green]✓[/] {spec_file}: spec '{spec.name}' is valid")
    console.print(f"  runtime {spec.runtime.kind}: {', '.join(spec.runtime.model_names)}")
    console.print(
        f"  suites {suites}; strategy {spec.strategy}; "
        f"repetitions {spec.repetitions}; concurrency {spec.concurrency}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(spec_app, name="spec")
